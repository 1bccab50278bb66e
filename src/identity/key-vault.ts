// Secrets at rest (the libp2p peer key, the burner wallet key), sealed under a non-extractable AES-GCM key.
//
// Why sealed rather than non-extractable themselves: WebCrypto has no secp256k1 at all, so neither the secp256k1
// peer key nor the burner wallet key (an Ethereum key) can be a WebCrypto key; and libp2p signs its noise handshakes
// and gossip with the key's raw bytes in JavaScript, Ed25519 included. What WebCrypto does allow is a
// non-extractable wrapping key: no script, ours included, can ever read its bytes (exportKey refuses), so the
// stored records are ciphertext that only this origin's running code can open. It does not stop a script running
// on the app's origin from asking for a decryption, which is why the widget runs in an iframe on that origin
// (src/widget) so embedding sites never run code there. Without WebCrypto (an insecure http origin that is not
// localhost), secrets are kept unsealed, and `sealed` says so.

export interface SecretStore {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
}

interface SealedRecord {
  v: 1;
  iv: Uint8Array<ArrayBuffer>;
  data: ArrayBuffer;
}

const WRAP_KEY = 'wrap-key';

export class KeyVaultError extends Error {
  override name = 'KeyVaultError';
}

function isSealed(value: unknown): value is SealedRecord {
  const v = value as Partial<SealedRecord> | null;
  return typeof v === 'object' && v !== null && v.v === 1 && v.iv instanceof Uint8Array && v.data instanceof ArrayBuffer;
}

export class KeyVault {
  private wrapKey: Promise<CryptoKey> | null = null;

  constructor(
    private readonly store: SecretStore,
    private readonly subtle: SubtleCrypto | null = globalThis.crypto?.subtle ?? null,
  ) {}

  /** Whether secrets are sealed at rest here (false without WebCrypto). */
  get sealed(): boolean {
    return this.subtle !== null;
  }

  private key(): Promise<CryptoKey> {
    const subtle = this.subtle!;
    this.wrapKey ??= (async () => {
      const existing = await this.store.get<CryptoKey>(WRAP_KEY);
      if (existing) return existing;
      // extractable: false — the one property that matters here.
      const key = await subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      await this.store.put(WRAP_KEY, key);
      return key;
    })();
    this.wrapKey.catch(() => (this.wrapKey = null));
    return this.wrapKey;
  }

  async put(name: string, secret: Uint8Array): Promise<void> {
    if (!this.subtle) return this.store.put(name, secret);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    // The record name is authenticated too, so a sealed peer key cannot be swapped in as the burner key.
    // A copy: WebCrypto wants bytes on a plain ArrayBuffer, and the caller's view may sit on a shared one.
    const data = await this.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(name) }, await this.key(), new Uint8Array(secret));
    await this.store.put(name, { v: 1, iv, data } satisfies SealedRecord);
  }

  /**
   * The secret stored under `name`, or undefined. A record from before sealing (raw bytes) is returned and sealed
   * in place, so older tabs keep their keys.
   */
  async get(name: string): Promise<Uint8Array | undefined> {
    const stored = await this.store.get<unknown>(name);
    if (stored === undefined || stored === null) return undefined;
    if (stored instanceof Uint8Array) {
      if (this.subtle) await this.put(name, stored);
      return stored;
    }
    if (!isSealed(stored)) throw new KeyVaultError(`the record "${name}" is neither a sealed secret nor raw bytes`);
    if (!this.subtle) throw new KeyVaultError(`"${name}" is sealed but WebCrypto is not available here (an insecure origin?)`);
    try {
      const plain = await this.subtle.decrypt({ name: 'AES-GCM', iv: stored.iv, additionalData: new TextEncoder().encode(name) }, await this.key(), stored.data);
      return new Uint8Array(plain);
    } catch {
      throw new KeyVaultError(`the sealed record "${name}" does not open with this browser's wrapping key`);
    }
  }
}
