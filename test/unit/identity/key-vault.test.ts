// Secrets sealed under a non-extractable AES-GCM key (Node's WebCrypto, the same API as the browser's).
import { describe, expect, it } from 'vitest';
import { KeyVault, KeyVaultError, type SecretStore } from '../../../src/identity/key-vault.ts';

function memoryStore(): SecretStore & { data: Map<string, unknown> } {
  const data = new Map<string, unknown>();
  return { data, get: async <T>(k: string) => data.get(k) as T | undefined, put: async (k, v) => void data.set(k, v) };
}

describe('key vault', () => {
  it('stores ciphertext under a wrapping key that no script can export', async () => {
    const store = memoryStore();
    const vault = new KeyVault(store);
    const secret = crypto.getRandomValues(new Uint8Array(32));
    await vault.put('peer-key-0', secret);
    const record = store.data.get('peer-key-0') as { data: ArrayBuffer };
    expect(Buffer.from(record.data).includes(Buffer.from(secret))).toBe(false);
    expect(await vault.get('peer-key-0')).toEqual(secret);
    const wrapKey = store.data.get('wrap-key') as CryptoKey;
    expect(wrapKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', wrapKey)).rejects.toThrow();
    // A second vault over the same store (a reload) opens it with the stored wrapping key.
    expect(await new KeyVault(store).get('peer-key-0')).toEqual(secret);
  });

  it('seals records kept in the clear by earlier versions, and names what it cannot open', async () => {
    const store = memoryStore();
    const legacy = new Uint8Array([1, 2, 3]);
    store.data.set('peer-key-1', legacy);
    const vault = new KeyVault(store);
    expect(await vault.get('peer-key-1')).toEqual(legacy);
    expect(store.data.get('peer-key-1')).not.toBeInstanceOf(Uint8Array);
    expect(await vault.get('peer-key-1')).toEqual(legacy);
    // A record moved to another name does not open (the name is authenticated), nor under another wrapping key.
    store.data.set('burner-key', store.data.get('peer-key-1'));
    await expect(vault.get('burner-key')).rejects.toThrow(KeyVaultError);
    const other = memoryStore();
    other.data.set('peer-key-1', store.data.get('peer-key-1'));
    await expect(new KeyVault(other).get('peer-key-1')).rejects.toThrow(/does not open/);
    store.data.set('junk', { v: 2 });
    await expect(vault.get('junk')).rejects.toThrow(/neither a sealed secret/);
    expect(await vault.get('absent')).toBeUndefined();
  });

  it('keeps secrets unsealed, and says so, where WebCrypto is missing', async () => {
    const store = memoryStore();
    const vault = new KeyVault(store, null);
    expect(vault.sealed).toBe(false);
    await vault.put('x', new Uint8Array([9]));
    expect(store.data.get('x')).toEqual(new Uint8Array([9]));
  });
});
