// A tiny IndexedDB key-value store for the identity keys (one database, one object store). Keys stay in this
// browser profile; nothing here sends them anywhere.

import { KeyVault } from './key-vault.ts';

const DB_NAME = 'tabswarm-identity';
const STORE = 'keys';

export class KeyStoreError extends Error {
  override name = 'KeyStoreError';
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new KeyStoreError('IndexedDB is not available in this browser: keys cannot be kept'));
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new KeyStoreError(`could not open IndexedDB: ${req.error?.message ?? 'unknown error'}`));
    req.onblocked = () => reject(new KeyStoreError('IndexedDB is blocked by another tab upgrading it; reload the page'));
  });
}

async function run<T>(mode: IDBTransactionMode, action: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const req = action(db.transaction(STORE, mode).objectStore(STORE));
      req.onsuccess = () => resolve(req.result as T);
      req.onerror = () => reject(new KeyStoreError(`IndexedDB ${mode} failed: ${req.error?.message ?? 'unknown error'}`));
    });
  } finally {
    db.close();
  }
}

export function idbGet<T>(key: string): Promise<T | undefined> {
  return run<T | undefined>('readonly', (s) => s.get(key));
}

export async function idbPut(key: string, value: unknown): Promise<void> {
  await run('readwrite', (s) => s.put(value, key));
}

export async function idbDelete(key: string): Promise<void> {
  await run('readwrite', (s) => s.delete(key));
}

/** The identity keys at rest, sealed under a non-extractable WebCrypto key (see key-vault.ts). */
export const keyVault = new KeyVault({ get: idbGet, put: idbPut });
