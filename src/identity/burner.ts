// The burner wallet for booths and demos: a secp256k1 key generated in this tab, kept in this browser's
// IndexedDB (sealed under a non-extractable WebCrypto key: key-vault.ts says why it cannot be non-extractable
// itself), never sent anywhere. It holds no funds, so it registers through the gasless relayer. The user
// can export the key (to keep what it earned) or forget it.
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { bytesToHex, hexToBytes, isHex, type Hex } from 'viem';
import { idbDelete, idbGet, keyVault } from './idb.ts';

const SLOT = 'burner-key';

async function readKey(): Promise<Hex | null> {
  const raw = await idbGet<unknown>(SLOT);
  if (typeof raw === 'string') {
    // Stored in the clear by an earlier version: seal it in place.
    if (!isHex(raw) || raw.length !== 66) return null;
    await keyVault.put(SLOT, hexToBytes(raw));
    return raw;
  }
  const bytes = await keyVault.get(SLOT);
  return bytes?.length === 32 ? bytesToHex(bytes) : null;
}

export async function loadBurner(): Promise<PrivateKeyAccount | null> {
  const key = await readKey();
  return key ? privateKeyToAccount(key) : null;
}

export async function loadOrCreateBurner(): Promise<PrivateKeyAccount> {
  const existing = await loadBurner();
  if (existing) return existing;
  const key = generatePrivateKey();
  await keyVault.put(SLOT, hexToBytes(key));
  return privateKeyToAccount(key);
}

/** The raw key, for the user to copy into a real wallet. Only ever shown on an explicit click. */
export async function exportBurnerKey(): Promise<Hex | null> {
  return readKey();
}

export async function forgetBurner(): Promise<void> {
  await idbDelete(SLOT);
}
