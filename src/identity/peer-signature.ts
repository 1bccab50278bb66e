// Signatures by the tab's libp2p key over a 32-byte digest, in the one form each key type can be checked in:
// - secp256k1: ECDSA over the digest itself, 64 bytes r || s (low s), exactly what the coordinator contract checks
//   with ecrecover (it tries both recovery ids, so no v byte is needed and the wire length stays 64 bytes).
// - Ed25519: the plain Ed25519 signature of the digest (64 bytes); only off-chain code can check it.
// libp2p's own `PrivateKey.sign` for secp256k1 hashes with SHA-256 and DER-encodes, which the EVM cannot check
// cheaply, so secp256k1 digests are signed here with viem's ECDSA (same curve library, same key bytes).
import { bytesToHex, hexToBytes, recoverPublicKey, type Hex } from 'viem';
import { sign } from 'viem/accounts';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';

/** secp256k1 group order / 2: larger s values are the malleable twin of a valid signature (EIP-2). */
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

export class PeerSignatureError extends Error {
  override name = 'PeerSignatureError';
}

/** Signs a 32-byte digest with a libp2p key (Ed25519 or secp256k1); 64 bytes either way. */
export async function signDigestWithPeerKey(key: PrivateKey, digest: Hex): Promise<Hex> {
  if (hexToBytes(digest).length !== 32) throw new PeerSignatureError('a peer signature covers a 32-byte digest');
  if (key.type === 'Ed25519') return bytesToHex(await key.sign(hexToBytes(digest)));
  if (key.type === 'secp256k1') {
    const { r, s } = await sign({ hash: digest, privateKey: bytesToHex(key.raw) });
    return `0x${r.slice(2).padStart(64, '0')}${s.slice(2).padStart(64, '0')}`;
  }
  throw new PeerSignatureError(`libp2p ${key.type} keys cannot sign bindings (use secp256k1 or Ed25519)`);
}

function compress(uncompressed: Hex): Uint8Array {
  const bytes = hexToBytes(uncompressed); // 0x04 || x || y
  const out = new Uint8Array(33);
  out[0] = bytes[64] & 1 ? 3 : 2;
  out.set(bytes.subarray(1, 33), 1);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The 64-byte uncompressed public key (x || y) behind a secp256k1 peer id, recovered from its signature over
 * `digest`: what `registerPeer` needs to prove the key on chain. null when the signature is not the peer id's.
 */
export async function secp256k1KeyFromSignature(peerId: string, digest: Hex, signature: Hex): Promise<Hex | null> {
  let id;
  try {
    id = peerIdFromString(peerId);
  } catch {
    return null;
  }
  if (id.type !== 'secp256k1' || !id.publicKey) return null;
  const sig = hexToBytes(signature);
  if (sig.length !== 64) return null;
  const s = BigInt(bytesToHex(sig.subarray(32)));
  if (s === 0n || s > HALF_N) return null;
  const r = bytesToHex(sig.subarray(0, 32));
  for (const yParity of [0, 1]) {
    const uncompressed = await recoverPublicKey({ hash: digest, signature: { r, s: bytesToHex(sig.subarray(32)), yParity } }).catch(() => null);
    if (uncompressed && sameBytes(compress(uncompressed), id.publicKey.raw)) return `0x${uncompressed.slice(4)}`;
  }
  return null;
}

/** Why `signature` over `digest` is not by the key of `peerId`, or null when it is. Never throws. */
export async function peerDigestSignatureProblem(peerId: string, digest: Hex, signature: Hex): Promise<string | null> {
  let id;
  try {
    id = peerIdFromString(peerId);
  } catch {
    return 'peerId is not a valid libp2p peer id';
  }
  // Ed25519 and secp256k1 peer ids embed their public key, which is what lets anyone check the signature offline.
  if ((id.type !== 'Ed25519' && id.type !== 'secp256k1') || !id.publicKey) return 'peerId must be an Ed25519 or secp256k1 peer id';
  const sig = hexToBytes(signature);
  if (sig.length !== 64) return 'peer signature is not 64 bytes';
  if (id.type === 'secp256k1') {
    if (BigInt(bytesToHex(sig.subarray(32))) > HALF_N) return 'peer signature has a high s value (malleable)';
    return (await secp256k1KeyFromSignature(peerId, digest, signature)) ? null : 'peer signature does not match the peer id (signed by another key, or over other data)';
  }
  const valid = await Promise.resolve(id.publicKey.verify(hexToBytes(digest), sig)).catch(() => false);
  return valid ? null : 'peer signature does not match the peer id (signed by another key, or over other data)';
}
