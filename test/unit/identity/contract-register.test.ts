// SwarmCoordinator registration on a real anvil: both paths, every revert, replay, wrong signer, ERC-1271.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicClient, createWalletClient, domainSeparator, getAddress, http, keccak256, toBytes, parseEventLogs, type Abi, type Address, type Hex } from 'viem';
import { swarmCoordinatorAbi } from '../../../src/identity/generated/SwarmCoordinator.ts';
import { peerBindingDigest, verifyPeerBinding } from '../../../src/identity/binding.ts';
import { swarmChain } from '../../../src/identity/chain.ts';
import { compileSolidity } from '../../../scripts/build-contracts.ts';
import { asTuple, newPeer, revertName, signedBinding, startChainFixture, SWARM, type ChainFixture } from './fixture.ts';

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

let fx: ChainFixture;
beforeAll(async () => {
  fx = await startChainFixture();
}, 60_000);
afterAll(async () => {
  await fx?.stop();
});

describe('SwarmCoordinator registration', () => {
  it('exposes its EIP-712 domain and hashes bindings exactly like the off-chain code', async () => {
    const [, name, version, chainId, verifyingContract] = (await fx.read('eip712Domain')) as [Hex, string, string, bigint, Address];
    expect({ name, version, chainId }).toEqual({ name: 'tabswarm SwarmCoordinator', version: '1', chainId: 31337n });
    expect(verifyingContract).toBe(fx.coordinator);
    const signed = await signedBinding(fx, fx.actors.user1.account, await newPeer());
    expect(await fx.read('hashPeerBinding', [asTuple(signed.binding)])).toBe(peerBindingDigest(signed.binding, signed.domain));
    expect(await fx.read('swarmId')).toBe(SWARM);
    expect(await fx.read('stagesPerRound')).toBe(2n);
    expect(await fx.read('DOMAIN_SEPARATOR')).toBe(domainSeparator({ domain: { name: 'tabswarm SwarmCoordinator', version: '1', chainId: 31337, verifyingContract: fx.coordinator } }));
    expect(await fx.read('PEER_BINDING_TYPEHASH')).toBe(keccak256(toBytes('PeerBinding(address account,string peerId,string swarmId,uint256 nonce,uint256 deadline)')));
  });

  it('registers a peer sent by the account itself, and refuses a replay, a stranger and a taken peer id', async () => {
    const { user1, user2 } = fx.actors;
    const peer = await newPeer();
    const signed = await signedBinding(fx, user1.account, peer);
    const args = [asTuple(signed.binding), signed.peerSignature, signed.peerPublicKey] as const;
    expect(await revertName(user2.call('registerPeer', args))).toBe('SenderNotAccount');

    const nonceBefore = (await fx.read('nonces', [user1.account.address])) as bigint;
    await user1.call('registerPeer', args);
    expect(await fx.read('accountOf', [peer.peerId])).toBe(user1.account.address);
    expect(await fx.read('peerIdsOf', [user1.account.address])).toContain(peer.peerId);
    expect(await fx.read('nonces', [user1.account.address])).toBe(nonceBefore + 1n);

    const logs = parseEventLogs({ abi: swarmCoordinatorAbi, eventName: 'PeerRegistered', logs: await fx.client.getLogs({ address: fx.coordinator, fromBlock: 0n }) });
    const event = logs.find((l) => l.args.peerId === peer.peerId);
    expect(event?.args).toMatchObject({ account: user1.account.address, nonce: nonceBefore, deadline: signed.binding.deadline, peerSignature: signed.peerSignature, submitter: user1.account.address });

    expect(await revertName(user1.call('registerPeer', args))).toBe('InvalidNonce');
    // user2 claims the same peer id with a fresh, correctly signed binding: the peer id is taken.
    const stolen = await signedBinding(fx, user2.account, peer);
    expect(await revertName(user2.call('registerPeer', [asTuple(stolen.binding), stolen.peerSignature, stolen.peerPublicKey]))).toBe('PeerIdTaken');
  });

  it('refuses expired deadlines, other swarms, bad peer ids and short peer signatures', async () => {
    const { user1 } = fx.actors;
    const peer = await newPeer();
    const expired = await signedBinding(fx, user1.account, peer, { deadline: (await fx.now()) - 10n });
    expect(await revertName(user1.call('registerPeer', [asTuple(expired.binding), expired.peerSignature, expired.peerPublicKey]))).toBe('BindingExpired');
    const otherSwarm = await signedBinding(fx, user1.account, peer, { swarmId: 'elsewhere' });
    expect(await revertName(user1.call('registerPeer', [asTuple(otherSwarm.binding), otherSwarm.peerSignature, otherSwarm.peerPublicKey]))).toBe('WrongSwarm');
    const ok = await signedBinding(fx, user1.account, peer);
    expect(await revertName(user1.call('registerPeer', [asTuple(ok.binding), '0x1234', ok.peerPublicKey]))).toBe('InvalidPeerSignatureLength');
    expect(await revertName(user1.call('registerPeer', [{ ...asTuple(ok.binding), peerId: '' }, ok.peerSignature, ok.peerPublicKey]))).toBe('InvalidPeerId');
    expect(await revertName(user1.call('registerPeer', [{ ...asTuple(ok.binding), peerId: 'x'.repeat(129) }, ok.peerSignature, ok.peerPublicKey]))).toBe('InvalidPeerId');
  });

  it('registers through a relayer with the wallet signature, and refuses replay, wrong signer, malleable and malformed signatures', async () => {
    const { user2, coordinator, user3 } = fx.actors;
    const peer = await newPeer();
    const signed = await signedBinding(fx, user2.account, peer);
    const tuple = asTuple(signed.binding);

    // Signed by user3 but claiming to be user2.
    const forged = await signedBinding(fx, user3.account, peer, { account: user2.account.address });
    expect(await revertName(coordinator.call('registerPeerWithSig', [tuple, forged.walletSignature, signed.peerSignature, signed.peerPublicKey]))).toBe('InvalidSignature');

    const sig = signed.walletSignature;
    const s = BigInt(`0x${sig.slice(66, 130)}`);
    const v = Number.parseInt(sig.slice(130), 16);
    const highS = `${sig.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
    expect(await revertName(coordinator.call('registerPeerWithSig', [tuple, highS, signed.peerSignature, signed.peerPublicKey]))).toBe('SignatureMalleable');
    expect(await revertName(coordinator.call('registerPeerWithSig', [tuple, sig.slice(0, 130) as Hex, signed.peerSignature, signed.peerPublicKey]))).toBe('InvalidSignatureLength');
    expect(await revertName(coordinator.call('registerPeerWithSig', [tuple, `${sig.slice(0, 130)}05` as Hex, signed.peerSignature, signed.peerPublicKey]))).toBe('InvalidSignature');

    await coordinator.call('registerPeerWithSig', [tuple, sig, signed.peerSignature, signed.peerPublicKey]);
    expect(await fx.read('accountOf', [peer.peerId])).toBe(user2.account.address);
    expect(await revertName(coordinator.call('registerPeerWithSig', [tuple, sig, signed.peerSignature, signed.peerPublicKey]))).toBe('InvalidNonce');

    const late = await signedBinding(fx, user2.account, await newPeer(), { deadline: (await fx.now()) - 1n });
    expect(await revertName(coordinator.call('registerPeerWithSig', [asTuple(late.binding), late.walletSignature, late.peerSignature, late.peerPublicKey]))).toBe('BindingExpired');
  });

  it('accepts an ERC-1271 contract wallet on chain and off chain, and refuses a signature its owner did not make', async () => {
    const { deployer, user3, user1, coordinator } = fx.actors;
    const { abi, bytecode } = compileSolidity('test/unit/identity/fixtures/OwnedWallet.sol', 'OwnedWallet');
    const client = fx.client;
    const wallet = createWalletClient({ account: deployer.account, chain: swarmChain(fx.chain), transport: http(fx.chain.rpcUrl) });
    const hash = await wallet.deployContract({ abi: abi as Abi, bytecode, args: [user3.account.address] });
    const walletAddress = getAddress((await client.waitForTransactionReceipt({ hash })).contractAddress!);

    const peer = await newPeer();
    const byOwner = await signedBinding(fx, user3.account, peer, { account: walletAddress });
    const byStranger = await signedBinding(fx, user1.account, peer, { account: walletAddress });
    const tuple = asTuple(byOwner.binding);
    expect(await revertName(coordinator.call('registerPeerWithSig', [tuple, byStranger.walletSignature, byOwner.peerSignature, byOwner.peerPublicKey]))).toBe('InvalidSignature');

    // Off chain: without a client the signature does not recover to the wallet; with one, ERC-1271 accepts it.
    expect((await verifyPeerBinding(byOwner)).ok).toBe(false);
    const verifier = createPublicClient({ chain: swarmChain(fx.chain), transport: http(fx.chain.rpcUrl) });
    expect(await verifyPeerBinding(byOwner, { client: verifier })).toMatchObject({ ok: true, account: walletAddress });
    expect((await verifyPeerBinding(byStranger, { client: verifier })).ok).toBe(false);

    await coordinator.call('registerPeerWithSig', [tuple, byOwner.walletSignature, byOwner.peerSignature, byOwner.peerPublicKey]);
    expect(await fx.read('accountOf', [peer.peerId])).toBe(walletAddress);
  });

  it('lets only a stage manager revoke a binding, which frees the peer id for its real owner', async () => {
    const { user1, user2, coordinator } = fx.actors;
    const peer = await newPeer();
    const squat = await signedBinding(fx, user1.account, peer);
    await user1.call('registerPeer', [asTuple(squat.binding), squat.peerSignature, squat.peerPublicKey]);
    expect(await revertName(user1.call('revokePeer', [peer.peerId]))).toBe('NotStageManager');
    await coordinator.call('revokePeer', [peer.peerId]);
    expect(await fx.read('accountOf', [peer.peerId])).toBe('0x0000000000000000000000000000000000000000');
    expect(await fx.read('peerIdsOf', [user1.account.address])).not.toContain(peer.peerId);
    expect(await revertName(coordinator.call('revokePeer', [peer.peerId]))).toBe('PeerNotRegistered');
    const real = await signedBinding(fx, user2.account, peer);
    await user2.call('registerPeer', [asTuple(real.binding), real.peerSignature, real.peerPublicKey]);
    expect(await fx.read('accountOf', [peer.peerId])).toBe(user2.account.address);
  });
});
