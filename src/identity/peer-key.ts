// The tab's libp2p identity, kept in IndexedDB so a reload keeps the same peer id (and its on-chain binding).
// New keys are secp256k1: the coordinator contract can check a secp256k1 signature (ecrecover) and so proves on
// chain that whoever registers a peer id holds its key. Ed25519 keys made by earlier versions keep loading and
// keep their peer id; they register through the coordinator service, which checks them off-chain.
// Tabs of one browser share IndexedDB but each needs its own peer id, so keys live in numbered slots and a tab
// holds a Web Lock on its slot for as long as it is open.
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { Ed25519PrivateKey, Secp256k1PrivateKey } from '@libp2p/interface';
import { idbGet, keyVault } from './idb.ts';

export type TabKey = Ed25519PrivateKey | Secp256k1PrivateKey;

const MAX_SLOTS = 64;

export interface TabPeerKey {
  key: TabKey;
  peerId: string;
  slot: number;
}

function holdLock(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    // The lock is held until the tab closes: the callback's promise never settles.
    navigator.locks
      .request(name, { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? new Promise<void>(() => undefined) : undefined;
      })
      .catch(() => resolve(false));
  });
}

/** The key in a slot (made when empty); null when the slot holds something this tab cannot open (left as is). */
async function keyInSlot(slot: number): Promise<TabKey | null> {
  let stored: Uint8Array | undefined;
  try {
    stored = await keyVault.get(`peer-key-${slot}`);
  } catch {
    return null; // sealed under a wrapping key this profile no longer has, or foreign: keep it, use another slot
  }
  if (stored) {
    const key = privateKeyFromProtobuf(stored);
    if (key.type === 'Ed25519' || key.type === 'secp256k1') return key;
  }
  const key = await generateKeyPair('secp256k1');
  await keyVault.put(`peer-key-${slot}`, privateKeyToProtobuf(key));
  return key;
}

let current: Promise<TabPeerKey> | null = null;

/** This tab's peer key; the same object for every caller in the tab (pass it to the libp2p node). */
export function loadOrCreatePeerKey(): Promise<TabPeerKey> {
  current ??= (async () => {
    const locks = typeof navigator !== 'undefined' && 'locks' in navigator;
    // First pass: only slots that already hold a key. On a reload the previous document may hold its lock for a
    // moment longer, so wait once before taking (or making) a key in another slot: the tab keeps its peer id.
    for (const existingOnly of locks ? [true, false] : [false]) {
      for (let slot = 0; slot < MAX_SLOTS; slot++) {
        if (existingOnly && !(await idbGet(`peer-key-${slot}`))) continue;
        if (locks && !(await holdLock(`tabswarm-peer-key-${slot}`))) continue;
        const key = await keyInSlot(slot);
        if (!key) continue;
        return { key, peerId: peerIdFromPrivateKey(key).toString(), slot };
      }
      if (existingOnly) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // More than MAX_SLOTS tabs open: this one gets a key that lasts only as long as the tab.
    const key = await generateKeyPair('secp256k1');
    return { key, peerId: peerIdFromPrivateKey(key).toString(), slot: -1 };
  })();
  current.catch(() => (current = null));
  return current;
}
