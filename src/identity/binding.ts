// The peer binding: an EIP-712 statement "wallet `account` runs libp2p peer `peerId` in swarm `swarmId`",
// signed by the wallet AND by the peer's libp2p key over the same 32-byte digest. The peer signature is what
// stops anyone from claiming a peer id whose key they do not hold. For a secp256k1 peer id the coordinator
// contract checks both signatures itself; for an Ed25519 one (the EVM cannot check Ed25519) only relayers and
// peers can, here, so the contract takes those only from its stage manager.
import { hashTypedData, isAddress, isAddressEqual, isHex, recoverTypedDataAddress, type Address, type Hex, type VerifyTypedDataParameters } from 'viem';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PrivateKey } from '@libp2p/interface';
import { peerDigestSignatureProblem, secp256k1KeyFromSignature, signDigestWithPeerKey } from './peer-signature.ts';

export const BINDING_DOMAIN_NAME = 'tabswarm SwarmCoordinator';
export const BINDING_DOMAIN_VERSION = '1';

export const PEER_BINDING_TYPES = {
  PeerBinding: [
    { name: 'account', type: 'address' },
    { name: 'peerId', type: 'string' },
    { name: 'swarmId', type: 'string' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** Limits on the wire form, so a hostile message cannot make us hash or decode megabytes. */
export const MAX_PEER_ID_LENGTH = 128;
export const MAX_SWARM_ID_LENGTH = 63;
/** ERC-1271 wallets may sign with more than 65 bytes; 2 KiB covers multisig/passkey wallets. */
const MAX_WALLET_SIGNATURE_BYTES = 2048;
const MAX_UINT256 = (1n << 256n) - 1n;
/** secp256k1 group order / 2: signatures with a larger s are malleable twins and are refused (EIP-2). */
const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

export interface PeerBinding {
  account: Address;
  peerId: string;
  swarmId: string;
  nonce: bigint;
  /** Unix seconds after which the binding may no longer be registered. */
  deadline: bigint;
}

export interface BindingDomain {
  chainId: number;
  verifyingContract: Address;
}

export interface SignedPeerBinding {
  binding: PeerBinding;
  domain: BindingDomain;
  /** EIP-712 signature by `binding.account` (65 bytes for an EOA). */
  walletSignature: Hex;
  /** Signature by the key behind `binding.peerId` over the same EIP-712 digest (64 bytes; see peer-signature.ts). */
  peerSignature: Hex;
}

/** JSON-safe form for gossip and HTTP: bigints as decimal strings. */
export interface SignedPeerBindingWire {
  binding: { account: string; peerId: string; swarmId: string; nonce: string; deadline: string };
  domain: { chainId: number; verifyingContract: string };
  walletSignature: string;
  peerSignature: string;
}

export type BindingVerification = { ok: true; account: Address; peerId: string } | { ok: false; reason: string };

export class BindingFormatError extends Error {
  override name = 'BindingFormatError';
}

export class BindingSignError extends Error {
  override name = 'BindingSignError';
}

export function bindingTypedData(binding: PeerBinding, domain: BindingDomain) {
  return {
    domain: { name: BINDING_DOMAIN_NAME, version: BINDING_DOMAIN_VERSION, chainId: domain.chainId, verifyingContract: domain.verifyingContract },
    types: PEER_BINDING_TYPES,
    primaryType: 'PeerBinding',
    message: binding,
  } as const;
}

/** The EIP-712 digest both keys sign; equals the contract's `hashPeerBinding`. */
export function peerBindingDigest(binding: PeerBinding, domain: BindingDomain): Hex {
  return hashTypedData(bindingTypedData(binding, domain));
}

export function encodeSignedBinding(signed: SignedPeerBinding): SignedPeerBindingWire {
  const { binding } = signed;
  return {
    binding: { ...binding, nonce: binding.nonce.toString(), deadline: binding.deadline.toString() },
    domain: { ...signed.domain },
    walletSignature: signed.walletSignature,
    peerSignature: signed.peerSignature,
  };
}

function uint256(value: unknown, field: string): bigint {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'string' && /^[0-9]{1,78}$/.test(value)) n = BigInt(value);
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else throw new BindingFormatError(`${field} must be a non-negative integer (decimal string)`);
  if (n < 0n || n > MAX_UINT256) throw new BindingFormatError(`${field} is out of uint256 range`);
  return n;
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BindingFormatError(`${field} must be an object`);
  return value as Record<string, unknown>;
}

function hexField(value: unknown, field: string, maxBytes: number): Hex {
  if (typeof value !== 'string' || value.length > 2 + 2 * maxBytes || !isHex(value, { strict: true }) || value.length % 2 !== 0) {
    throw new BindingFormatError(`${field} must be 0x-prefixed hex of at most ${maxBytes} bytes`);
  }
  return value;
}

/** Checks shape and limits of a binding from the wire (or already decoded); throws BindingFormatError. */
export function decodeSignedBinding(value: unknown): SignedPeerBinding {
  const v = record(value, 'signed binding');
  const b = record(v.binding, 'binding');
  const d = record(v.domain, 'domain');
  if (typeof b.account !== 'string' || !isAddress(b.account, { strict: false })) throw new BindingFormatError('binding.account must be an address');
  if (typeof b.peerId !== 'string' || b.peerId.length === 0 || b.peerId.length > MAX_PEER_ID_LENGTH) {
    throw new BindingFormatError(`binding.peerId must be a string of 1-${MAX_PEER_ID_LENGTH} characters`);
  }
  if (typeof b.swarmId !== 'string' || b.swarmId.length === 0 || b.swarmId.length > MAX_SWARM_ID_LENGTH) {
    throw new BindingFormatError(`binding.swarmId must be a string of 1-${MAX_SWARM_ID_LENGTH} characters`);
  }
  if (typeof d.chainId !== 'number' || !Number.isSafeInteger(d.chainId) || d.chainId <= 0) throw new BindingFormatError('domain.chainId must be a positive integer');
  if (typeof d.verifyingContract !== 'string' || !isAddress(d.verifyingContract, { strict: false })) {
    throw new BindingFormatError('domain.verifyingContract must be an address');
  }
  return {
    binding: {
      account: b.account as Address,
      peerId: b.peerId,
      swarmId: b.swarmId,
      nonce: uint256(b.nonce, 'binding.nonce'),
      deadline: uint256(b.deadline, 'binding.deadline'),
    },
    domain: { chainId: d.chainId, verifyingContract: d.verifyingContract as Address },
    walletSignature: hexField(v.walletSignature, 'walletSignature', MAX_WALLET_SIGNATURE_BYTES),
    peerSignature: hexField(v.peerSignature, 'peerSignature', 64),
  };
}

/** Why a 65-byte ECDSA signature is unacceptable, or null when its shape is fine (EIP-2 low s, v 27/28). */
export function ecdsaSignatureProblem(signature: Hex): string | null {
  if (signature.length !== 132) return 'wallet signature is not 65 bytes';
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130), 16);
  if (s === 0n || s > SECP256K1_HALF_N) return 'wallet signature has a high s value (malleable)';
  if (v !== 27 && v !== 28) return 'wallet signature has an invalid v (must be 27 or 28)';
  return null;
}

/** The subset of a viem public client used to check ERC-1271 (contract wallet) signatures. */
export interface TypedDataVerifier {
  verifyTypedData(args: VerifyTypedDataParameters<typeof PEER_BINDING_TYPES, 'PeerBinding'>): Promise<boolean>;
}

export interface VerifyBindingOptions {
  /** Refuse bindings for another swarm / chain / contract than the one this peer belongs to. */
  expected?: { swarmId?: string; chainId?: number; verifyingContract?: Address };
  /** Current time in unix seconds; when given, expired bindings are refused. */
  now?: number;
  /** When given, a signature that does not recover to `account` is also tried as ERC-1271 through it. */
  client?: TypedDataVerifier;
}

/**
 * Checks both signatures of a binding. Never throws: bad input of any kind yields `{ ok: false, reason }`.
 * Used by the swarm's gossip validator, the coordinator relayer and the UI.
 */
export async function verifyPeerBinding(value: unknown, options: VerifyBindingOptions = {}): Promise<BindingVerification> {
  try {
    const signed = decodeSignedBinding(value);
    const { binding, domain } = signed;
    const { expected } = options;
    if (expected?.swarmId !== undefined && binding.swarmId !== expected.swarmId) return fail(`binding is for swarm "${binding.swarmId}", not "${expected.swarmId}"`);
    if (expected?.chainId !== undefined && domain.chainId !== expected.chainId) return fail(`binding is for chain ${domain.chainId}, not ${expected.chainId}`);
    if (expected?.verifyingContract !== undefined && !isAddressEqual(domain.verifyingContract, expected.verifyingContract)) {
      return fail('binding is for another coordinator contract');
    }
    if (options.now !== undefined && binding.deadline < BigInt(Math.floor(options.now))) return fail('binding deadline has passed');

    const peerProblem = await peerSignatureProblem(signed);
    if (peerProblem) return fail(peerProblem);

    const walletProblem = await walletSignatureProblem(signed, options.client);
    if (walletProblem) return fail(walletProblem);
    return { ok: true, account: binding.account, peerId: binding.peerId };
  } catch (error) {
    return fail(error instanceof BindingFormatError ? error.message : `unverifiable binding: ${(error as Error)?.message ?? String(error)}`);
  }
}

function fail(reason: string): BindingVerification {
  return { ok: false, reason };
}

/**
 * Why the peer signature over a binding's digest is not the peer id's, or null when it is. Exported for the
 * coordinator's audit of registrations that reached the chain without passing a relayer.
 */
export async function peerSignatureProblem(signed: Pick<SignedPeerBinding, 'binding' | 'domain' | 'peerSignature'>): Promise<string | null> {
  return peerDigestSignatureProblem(signed.binding.peerId, peerBindingDigest(signed.binding, signed.domain), signed.peerSignature);
}

/**
 * The `peerPublicKey` argument of the contract's registration functions: the 64-byte uncompressed key of a
 * secp256k1 peer id (so the contract proves the peer signature), or empty for an Ed25519 one (which only a stage
 * manager may relay). Throws BindingSignError when the peer signature is not the secp256k1 peer id's.
 */
export async function peerPublicKeyForContract(signed: Pick<SignedPeerBinding, 'binding' | 'domain' | 'peerSignature'>): Promise<Hex> {
  if (peerIdFromString(signed.binding.peerId).type !== 'secp256k1') return '0x';
  const key = await secp256k1KeyFromSignature(signed.binding.peerId, peerBindingDigest(signed.binding, signed.domain), signed.peerSignature);
  if (!key) throw new BindingSignError('the peer signature is not by the key of binding.peerId');
  return key;
}

async function walletSignatureProblem(signed: SignedPeerBinding, client: TypedDataVerifier | undefined): Promise<string | null> {
  const typed = bindingTypedData(signed.binding, signed.domain);
  const shape = ecdsaSignatureProblem(signed.walletSignature);
  if (!shape) {
    const recovered = await recoverTypedDataAddress({ ...typed, signature: signed.walletSignature });
    if (isAddressEqual(recovered, signed.binding.account)) return null;
  }
  if (client) {
    // Contract wallets (ERC-1271) sign with whatever their code accepts; only the chain can say.
    const valid = await client.verifyTypedData({ ...typed, address: signed.binding.account, signature: signed.walletSignature }).catch(() => false);
    if (valid) return null;
  }
  return shape ?? 'wallet signature was not made by binding.account';
}

/** What signs the EIP-712 data on the wallet side: a viem account, a wagmi wrapper, a burner. */
export interface TypedDataSigner {
  signTypedData(typed: ReturnType<typeof bindingTypedData>): Promise<Hex>;
}

/** Signs a binding with the wallet and the tab's libp2p key. Throws BindingSignError if the key is not the peer id's. */
export async function signPeerBinding(args: { binding: PeerBinding; domain: BindingDomain; wallet: TypedDataSigner; peerKey: PrivateKey }): Promise<SignedPeerBinding> {
  const { binding, domain, wallet, peerKey } = args;
  if (peerKey.type !== 'Ed25519' && peerKey.type !== 'secp256k1') throw new BindingSignError('the libp2p key must be secp256k1 or Ed25519');
  let peerId;
  try {
    peerId = peerIdFromString(binding.peerId);
  } catch {
    throw new BindingSignError(`binding.peerId "${binding.peerId}" is not a libp2p peer id`);
  }
  if (!peerId.publicKey?.equals(peerKey.publicKey)) throw new BindingSignError('the libp2p key does not belong to binding.peerId');
  const peerSignature = await signDigestWithPeerKey(peerKey, peerBindingDigest(binding, domain));
  const walletSignature = await wallet.signTypedData(bindingTypedData(binding, domain));
  return { binding, domain, walletSignature, peerSignature };
}
