// The burner wallet for booths and demos: a secp256k1 key generated in this tab, kept in this browser's
// IndexedDB, never sent anywhere. It holds no funds, so it registers through the gasless relayer. The user
// can export the key (to keep what it earned) or forget it.
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { isHex, type Hex } from 'viem';
import { idbDelete, idbGet, idbPut } from './idb.ts';

const SLOT = 'burner-key';

export async function loadBurner(): Promise<PrivateKeyAccount | null> {
  const key = await idbGet<string>(SLOT);
  return typeof key === 'string' && isHex(key) && key.length === 66 ? privateKeyToAccount(key) : null;
}

export async function loadOrCreateBurner(): Promise<PrivateKeyAccount> {
  const existing = await loadBurner();
  if (existing) return existing;
  const key = generatePrivateKey();
  await idbPut(SLOT, key);
  return privateKeyToAccount(key);
}

/** The raw key, for the user to copy into a real wallet. Only ever shown on an explicit click. */
export async function exportBurnerKey(): Promise<Hex | null> {
  const key = await idbGet<string>(SLOT);
  return typeof key === 'string' && isHex(key) ? key : null;
}

export async function forgetBurner(): Promise<void> {
  await idbDelete(SLOT);
}
