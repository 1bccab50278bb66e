// SHA-256 (WebCrypto: the same in every browser and in Node 20) over exact bytes: the weights' content hash and
// the Merkle tree over committed completions. Async because WebCrypto is; a batch is a few dozen leaves.

export type Hash = Uint8Array; // 32 bytes

export async function sha256(bytes: Uint8Array): Promise<Hash> {
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

export class HexError extends Error {
  override name = 'HexError';
}

export function fromHex(hex: string, bytes?: number): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) throw new HexError('expected lower-case hex of even length');
  if (bytes !== undefined && hex.length !== 2 * bytes) throw new HexError(`expected ${bytes} bytes of hex, got ${hex.length / 2}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const WEIGHTS_DOMAIN = new TextEncoder().encode('tabswarm/weights/v1\0');

/**
 * Content hash of the exact parameter bytes (flat paramLayout order, float32 little-endian: every platform
 * that runs WebGPU is little-endian, and the bytes are normalised to LE here anyway). One flipped bit in
 * any weight changes it; a different layout or config size changes it too (the length is hashed).
 */
export async function weightsHash(flat: Float32Array): Promise<string> {
  const bytes = new Uint8Array(WEIGHTS_DOMAIN.length + 8 + flat.length * 4);
  bytes.set(WEIGHTS_DOMAIN, 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(WEIGHTS_DOMAIN.length, flat.length, true);
  const at = WEIGHTS_DOMAIN.length + 8;
  for (let i = 0; i < flat.length; i++) view.setFloat32(at + 4 * i, flat[i], true);
  return toHex(await sha256(bytes));
}

// Leaves and inner nodes are hashed under different prefixes so a node can never pass as a leaf.
async function nodeHash(left: Hash, right: Hash): Promise<Hash> {
  const b = new Uint8Array(65);
  b[0] = 1;
  b.set(left, 1);
  b.set(right, 33);
  return sha256(b);
}

export async function leafHash(payload: Uint8Array): Promise<Hash> {
  const b = new Uint8Array(payload.length + 1);
  b[0] = 0;
  b.set(payload, 1);
  return sha256(b);
}

/**
 * All levels of the tree, leaves first. An odd node is carried up unchanged (no duplication, so no
 * CVE-2012-2459-style twin trees; the leaf count is committed beside the root, which fixes the shape).
 */
export async function merkleLevels(leaves: Hash[]): Promise<Hash[][]> {
  if (leaves.length === 0) throw new RangeError('merkle: no leaves');
  const levels = [leaves];
  while (levels[levels.length - 1].length > 1) {
    const cur = levels[levels.length - 1];
    const next: Promise<Hash>[] = [];
    for (let i = 0; i < cur.length; i += 2) next.push(i + 1 < cur.length ? nodeHash(cur[i], cur[i + 1]) : Promise.resolve(cur[i]));
    levels.push(await Promise.all(next));
  }
  return levels;
}

/** Sibling hashes from leaf `index` up to the root (carried-up levels contribute nothing). */
export function merkleProof(levels: Hash[][], index: number): Hash[] {
  const proof: Hash[] = [];
  let i = index;
  for (let l = 0; l < levels.length - 1; l++) {
    const sib = i ^ 1;
    if (sib < levels[l].length) proof.push(levels[l][sib]);
    i >>= 1;
  }
  return proof;
}

/** Recomputes the root from a leaf, its index, the leaf count and the proof; false on any mismatch. */
export async function verifyMerkleProof(root: Hash, leaf: Hash, index: number, count: number, proof: Hash[]): Promise<boolean> {
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count) return false;
  let h = leaf, i = index, n = count, used = 0;
  while (n > 1) {
    const sib = i ^ 1;
    if (sib < n) {
      if (used >= proof.length) return false;
      const s = proof[used++];
      if (!(s instanceof Uint8Array) || s.length !== 32) return false;
      h = await (i % 2 === 0 ? nodeHash(h, s) : nodeHash(s, h));
    }
    i >>= 1;
    n = Math.ceil(n / 2);
  }
  return used === proof.length && equalBytes(h, root);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
