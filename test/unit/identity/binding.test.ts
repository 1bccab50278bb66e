import { describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { type Hex } from 'viem';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import {
  decodeSignedBinding,
  encodeSignedBinding,
  peerBindingDigest,
  signPeerBinding,
  verifyPeerBinding,
  BindingSignError,
  peerPublicKeyForContract,
  type PeerBinding,
} from '../../../src/identity/binding.ts';

// Fixed test keys (anvil's well-known dev accounts 0 and 1): never used outside tests.
const alice = privateKeyToAccount('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80');
const mallory = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

async function makeSigned(overrides: Partial<PeerBinding> = {}, keyType: 'Ed25519' | 'secp256k1' = 'Ed25519') {
  const peerKey = keyType === 'Ed25519' ? await generateKeyPair('Ed25519') : await generateKeyPair('secp256k1');
  const binding: PeerBinding = {
    account: alice.address,
    peerId: peerIdFromPrivateKey(peerKey).toString(),
    swarmId: 'test',
    nonce: 0n,
    deadline: 2_000_000_000n,
    ...overrides,
  };
  return { peerKey, signed: await signPeerBinding({ binding, domain, wallet: alice, peerKey }) };
}

describe('peer binding', () => {
  it('verifies a binding signed by both keys, also after a JSON round trip', async () => {
    const { signed } = await makeSigned();
    expect(await verifyPeerBinding(signed)).toEqual({ ok: true, account: alice.address, peerId: signed.binding.peerId });
    const wire = JSON.parse(JSON.stringify(encodeSignedBinding(signed)));
    expect(decodeSignedBinding(wire)).toEqual(signed);
    expect((await verifyPeerBinding(wire, { expected: { swarmId: 'test', chainId: 31337, verifyingContract: domain.verifyingContract }, now: 1_900_000_000 })).ok).toBe(true);
  });

  it('gives a stable digest that depends on every field and on the domain', async () => {
    const { signed } = await makeSigned();
    const d = peerBindingDigest(signed.binding, domain);
    expect(d).toMatch(/^0x[0-9a-f]{64}$/);
    expect(peerBindingDigest({ ...signed.binding, nonce: 1n }, domain)).not.toBe(d);
    expect(peerBindingDigest({ ...signed.binding, swarmId: 'other' }, domain)).not.toBe(d);
    expect(peerBindingDigest(signed.binding, { ...domain, chainId: 1 })).not.toBe(d);
  });

  it('rejects a peer signature made by another libp2p key', async () => {
    const { signed } = await makeSigned();
    const other = await makeSigned();
    const forged = { ...signed, peerSignature: other.signed.peerSignature };
    const result = await verifyPeerBinding(forged);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/peer signature does not match/);
  });

  it("rejects a binding that names someone else's peer id (wallet signed, but the peer key is not theirs)", async () => {
    const victim = await makeSigned();
    const { signed: mine } = await makeSigned();
    // Mallory signs a binding for the victim's peer id with her wallet, reusing her own peer signature.
    const binding = { ...victim.signed.binding, account: mallory.address };
    const walletSignature = await mallory.signTypedData({
      domain: { name: 'tabswarm SwarmCoordinator', version: '1', ...domain },
      types: { PeerBinding: [{ name: 'account', type: 'address' }, { name: 'peerId', type: 'string' }, { name: 'swarmId', type: 'string' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] },
      primaryType: 'PeerBinding',
      message: binding,
    });
    const result = await verifyPeerBinding({ binding, domain, walletSignature, peerSignature: mine.peerSignature });
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/peer signature/) });
    // And the signing helper refuses to sign for a peer id whose key it does not hold.
    await expect(signPeerBinding({ binding, domain, wallet: mallory, peerKey: (await makeSigned()).peerKey })).rejects.toThrow(BindingSignError);
  });

  it('rejects a wallet signature by another account, a changed field, and a high-s twin', async () => {
    const { signed, peerKey } = await makeSigned();
    const byMallory = await signPeerBinding({ binding: { ...signed.binding, account: mallory.address }, domain, wallet: mallory, peerKey });
    const swapped = { ...signed, walletSignature: byMallory.walletSignature };
    expect(await verifyPeerBinding(swapped)).toMatchObject({ ok: false, reason: expect.stringMatching(/not made by binding.account/) });
    expect((await verifyPeerBinding({ ...signed, binding: { ...signed.binding, nonce: 5n } })).ok).toBe(false);

    const sig = signed.walletSignature;
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const v = Number.parseInt(sig.slice(130), 16);
    const highS = `${sig.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
    expect(await verifyPeerBinding({ ...signed, walletSignature: highS })).toMatchObject({ ok: false, reason: expect.stringMatching(/high s/) });
  });

  it('refuses wrong swarm, chain, contract and expired deadlines when told what to expect', async () => {
    const { signed } = await makeSigned({ deadline: 1000n });
    expect(await verifyPeerBinding(signed, { expected: { swarmId: 'other' } })).toMatchObject({ ok: false, reason: expect.stringMatching(/swarm/) });
    expect(await verifyPeerBinding(signed, { expected: { chainId: 1 } })).toMatchObject({ ok: false, reason: expect.stringMatching(/chain/) });
    expect(await verifyPeerBinding(signed, { expected: { verifyingContract: alice.address } })).toMatchObject({ ok: false, reason: expect.stringMatching(/contract/) });
    expect(await verifyPeerBinding(signed, { now: 1001 })).toMatchObject({ ok: false, reason: expect.stringMatching(/deadline/) });
  });

  it('never throws on garbage', async () => {
    const { signed } = await makeSigned();
    const wire = encodeSignedBinding(signed);
    const garbage: unknown[] = [
      null, 42, 'x', [], {}, { binding: wire.binding },
      { ...wire, binding: { ...wire.binding, account: 'nope' } },
      { ...wire, binding: { ...wire.binding, peerId: 'not-a-peer-id' } },
      { ...wire, binding: { ...wire.binding, peerId: 'x'.repeat(10_000) } },
      { ...wire, binding: { ...wire.binding, nonce: '-1' } },
      { ...wire, binding: { ...wire.binding, deadline: '1'.repeat(100) } },
      { ...wire, domain: { ...wire.domain, chainId: 'one' } },
      { ...wire, walletSignature: '0x1234' },
      { ...wire, walletSignature: 'zz' },
      { ...wire, peerSignature: '0x' + '00'.repeat(64) },
      { ...wire, peerSignature: '0x' + '00'.repeat(65) },
    ];
    for (const value of garbage) {
      const result = await verifyPeerBinding(value);
      expect(result.ok, JSON.stringify(value)?.slice(0, 80)).toBe(false);
      if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
    }
  });
});

describe('peer binding with a secp256k1 peer key (what tabs make now)', () => {
  it('verifies, round-trips and yields the uncompressed key the contract checks', async () => {
    const { signed, peerKey } = await makeSigned({}, 'secp256k1');
    expect(signed.binding.peerId).toMatch(/^16Uiu2HA/);
    expect(signed.peerSignature).toMatch(/^0x[0-9a-f]{128}$/);
    expect(await verifyPeerBinding(JSON.parse(JSON.stringify(encodeSignedBinding(signed))))).toMatchObject({ ok: true });
    const key = await peerPublicKeyForContract(signed);
    expect(key).toMatch(/^0x[0-9a-f]{128}$/);
    // Its compressed form is the key inside the peer id.
    const y = BigInt(`0x${key.slice(66)}`);
    expect([y % 2n === 1n ? 3 : 2, ...Buffer.from(key.slice(2, 66), 'hex')]).toEqual([...peerKey.publicKey.raw]);
  });

  it('refuses another key, other data, a malleable twin and junk', async () => {
    const { signed } = await makeSigned({}, 'secp256k1');
    const other = await makeSigned({}, 'secp256k1');
    const reasons = async (peerSignature: string) => {
      const verdict = await verifyPeerBinding({ ...encodeSignedBinding(signed), peerSignature });
      return verdict.ok ? 'accepted' : verdict.reason;
    };
    expect(await reasons(other.signed.peerSignature)).toMatch(/peer signature does not match/);
    const s = BigInt(`0x${signed.peerSignature.slice(66)}`);
    expect(await reasons(`${signed.peerSignature.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, '0')}`)).toMatch(/high s/);
    expect(await reasons(`0x${'11'.repeat(64)}`)).toMatch(/peer signature does not match/);
    expect(await reasons(`0x${'00'.repeat(64)}`)).not.toBe('accepted');
    await expect(peerPublicKeyForContract({ ...signed, peerSignature: other.signed.peerSignature })).rejects.toThrow(BindingSignError);
    // An Ed25519 peer id has no key for the contract: only a stage manager may relay it.
    expect(await peerPublicKeyForContract((await makeSigned()).signed)).toBe('0x');
  });
});
