// The challenge reply's reveals on the wire: token ids and quantised logprobs as base64 of little-endian
// integers (u16 tokens while the vocabulary fits, else u32; u16 logprobs), not JSON arrays of numbers.
// All reveals share one blob of each, so a row costs only its number and length beside its tokens: a
// whole-batch reveal (no proofs, what a tab challenges: VERIFY.rows) costs ~5.4 bytes per token instead of
// ~11 as JSON arrays. The decoder is total: any bad field is a named reason.
import type { ChallengeResponse } from '../rl/verify/check.ts';

export interface WireResponse {
  v: 1;
  root: string;
  nonce: string;
  /** bytes per token id */
  width: 2 | 4;
  /** the revealed rows and their token counts, in reveal order */
  rows: number[];
  lengths: number[];
  /** base64 of every reveal's token ids back to back, `width` bytes each, little-endian */
  t: string;
  /** base64 of every reveal's quantised logprobs back to back, u16 little-endian */
  q: string;
  /** Merkle proofs per reveal; absent when all are empty (a whole-batch challenge needs none) */
  proofs?: string[][];
}

export class RevealCodecError extends Error {
  override name = 'RevealCodecError';
}

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromBase64(s: unknown, what: string): Uint8Array {
  if (typeof s !== 'string' || s.length % 4 !== 0 || !BASE64.test(s)) throw new RevealCodecError(`${what} is not base64`);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function encodeResponse(r: ChallengeResponse): WireResponse {
  const width = r.reveals.every((x) => x.leaf.tokens.every((t) => t <= 0xffff)) ? 2 : 4;
  const n = r.reveals.reduce((a, x) => a + x.leaf.tokens.length, 0);
  const t = new DataView(new ArrayBuffer(n * width)), q = new DataView(new ArrayBuffer(2 * n));
  let at = 0;
  for (const { leaf } of r.reveals) {
    if (leaf.q.length !== leaf.tokens.length) throw new RevealCodecError(`row ${leaf.row}: ${leaf.tokens.length} tokens but ${leaf.q.length} logprobs`);
    leaf.tokens.forEach((x, i) => (width === 2 ? t.setUint16(2 * (at + i), x, true) : t.setUint32(4 * (at + i), x, true)));
    leaf.q.forEach((x, i) => q.setUint16(2 * (at + i), x, true));
    at += leaf.tokens.length;
  }
  const proofs = r.reveals.some((x) => x.proof.length > 0) ? { proofs: r.reveals.map((x) => x.proof) } : {};
  return {
    v: 1, root: r.root, nonce: r.nonce, width, rows: r.reveals.map((x) => x.leaf.row), lengths: r.reveals.map((x) => x.leaf.tokens.length),
    t: toBase64(new Uint8Array(t.buffer)), q: toBase64(new Uint8Array(q.buffer)), ...proofs,
  };
}

const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;

/** The reply's response back into the checker's form; `maxRows` is what the challenge asked for. */
export function decodeResponse(value: unknown, maxRows: number): ChallengeResponse {
  const w = value as Partial<WireResponse> | null;
  if (!w || w.v !== 1 || typeof w.root !== 'string' || typeof w.nonce !== 'string') throw new RevealCodecError('malformed challenge response');
  if (w.width !== 2 && w.width !== 4) throw new RevealCodecError(`token width ${String(w.width)} is not 2 or 4`);
  const { rows, lengths, proofs } = w;
  if (!Array.isArray(rows) || rows.length > maxRows || !rows.every(count)) throw new RevealCodecError(`rows must be a list of at most ${maxRows} row numbers`);
  if (!Array.isArray(lengths) || lengths.length !== rows.length || !lengths.every(count)) throw new RevealCodecError('lengths must give one token count per row');
  if (proofs !== undefined && (!Array.isArray(proofs) || proofs.length !== rows.length || !proofs.every((p) => Array.isArray(p) && p.every((h) => typeof h === 'string')))) {
    throw new RevealCodecError('proofs must give one list of hex strings per row');
  }
  const width = w.width;
  const tb = fromBase64(w.t, 'tokens'), qb = fromBase64(w.q, 'logprobs');
  const n = lengths.reduce((a, x) => a + x, 0);
  if (tb.length !== n * width || qb.length !== 2 * n) throw new RevealCodecError(`${tb.length} token bytes and ${qb.length} logprob bytes for ${n} tokens of width ${width}`);
  const td = new DataView(tb.buffer), qd = new DataView(qb.buffer);
  let at = 0;
  const reveals = rows.map((row, i) => {
    const tokens: number[] = [], q: number[] = [];
    for (let k = 0; k < lengths[i]; k++, at++) {
      tokens.push(width === 2 ? td.getUint16(2 * at, true) : td.getUint32(4 * at, true));
      q.push(qd.getUint16(2 * at, true));
    }
    return { leaf: { row, tokens, q }, proof: proofs ? proofs[i] : [] };
  });
  return { v: 1, root: w.root, nonce: w.nonce, reveals };
}
