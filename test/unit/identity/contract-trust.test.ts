// SwarmCoordinator against hostile inputs on a real anvil: squatting someone else's peer id, oversized and
// overflowing rewards, bad entries inside a batch, stale rounds, and what a revoked squatter leaves behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesToHex, parseEventLogs, zeroAddress, type Hex } from 'viem';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { swarmCoordinatorAbi } from '../../../src/identity/generated/SwarmCoordinator.ts';
import { peerBindingDigest } from '../../../src/identity/binding.ts';
import { signDigestWithPeerKey } from '../../../src/identity/peer-signature.ts';
import { MAX_REWARD_UNITS, readLeaderboard, REWARD_SKIP_REASONS, REWARD_WINDOW_ROUNDS } from '../../../src/identity/coordinator.ts';
import { asTuple, newPeer, revertName, signedBinding, startChainFixture, type ChainFixture } from './fixture.ts';

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_UINT256 = (1n << 256n) - 1n;

let fx: ChainFixture;
beforeAll(async () => {
  fx = await startChainFixture(1);
}, 60_000);
afterAll(async () => {
  await fx?.stop();
});

async function skippedEvents(fromBlock: bigint) {
  const logs = await fx.client.getLogs({ address: fx.coordinator, fromBlock });
  return parseEventLogs({ abi: swarmCoordinatorAbi, eventName: 'RewardSkipped', logs }).map((l) => ({ peerId: l.args.peerId, reward: l.args.reward, reason: REWARD_SKIP_REASONS[l.args.reason] }));
}

describe('SwarmCoordinator peer ids cannot be squatted', () => {
  it('derives the same secp256k1 peer id as libp2p, for both parities of y', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const peer = await newPeer();
      const signed = await signedBinding(fx, fx.actors.user1.account, peer);
      const x = `0x${signed.peerPublicKey.slice(2, 66)}` as Hex;
      const yOdd = BigInt(`0x${signed.peerPublicKey.slice(66)}`) % 2n === 1n;
      seen.add(Number(yOdd));
      const id = (await fx.read('secp256k1PeerId', [x, yOdd])) as Hex;
      expect(Buffer.from(id.slice(2), 'hex').toString()).toBe(peer.peerId);
    }
    expect(seen.size).toBe(2); // fails only with probability 2^-39

  });

  it("refuses someone else's peer id through the own-transaction path, however the proof is faked", async () => {
    const { user1, user2 } = fx.actors;
    const victim = await newPeer();
    const mallory = await newPeer();
    // What Mallory can make: a binding naming the victim's peer id, signed by her wallet and her own peer key.
    const base = await signedBinding(fx, user2.account, victim);
    const digest = peerBindingDigest(base.binding, base.domain);
    const ownSig = await signDigestWithPeerKey(mallory.key, digest);
    const ownKey = (await signedBinding(fx, user2.account, mallory)).peerPublicKey;
    const tuple = asTuple(base.binding);
    // Her key and signature: valid ECDSA, but the key is not the one inside the victim's peer id.
    expect(await revertName(user2.call('registerPeer', [tuple, ownSig, ownKey]))).toBe('PeerKeyMismatch');
    // The victim's public key (it is public) with her signature: does not recover to that key.
    expect(await revertName(user2.call('registerPeer', [tuple, ownSig, base.peerPublicKey]))).toBe('InvalidPeerSignature');
    // Junk of the right length, a malleable twin of a real signature, a short key.
    expect(await revertName(user2.call('registerPeer', [tuple, bytesToHex(new Uint8Array(64).fill(7)), base.peerPublicKey]))).toBe('InvalidPeerSignature');
    const s = BigInt(`0x${base.peerSignature.slice(66)}`);
    const highS = `${base.peerSignature.slice(0, 66)}${(SECP256K1_N - s).toString(16).padStart(64, '0')}` as Hex;
    expect(await revertName(user2.call('registerPeer', [tuple, highS, base.peerPublicKey]))).toBe('SignatureMalleable');
    expect(await revertName(user2.call('registerPeer', [tuple, base.peerSignature, '0x1234']))).toBe('InvalidPeerPublicKey');
    // No key at all: the own-transaction path cannot prove anything, so it refuses.
    expect(await revertName(user2.call('registerPeer', [tuple, base.peerSignature, '0x']))).toBe('PeerKeyUnverifiable');
    expect(await fx.read('accountOf', [victim.peerId])).toBe(zeroAddress);
    // The real owner, with the real signature, registers.
    const real = await signedBinding(fx, user1.account, victim);
    await user1.call('registerPeer', [asTuple(real.binding), real.peerSignature, real.peerPublicKey]);
    expect(await fx.read('accountOf', [victim.peerId])).toBe(user1.account.address);
  });

  it('takes an Ed25519 peer id (not checkable on chain) only from a stage manager', async () => {
    const { user3, coordinator } = fx.actors;
    const ed = await newPeer('Ed25519');
    const signed = await signedBinding(fx, user3.account, ed);
    expect(signed.peerPublicKey).toBe('0x');
    expect(await revertName(user3.call('registerPeer', [asTuple(signed.binding), signed.peerSignature, '0x']))).toBe('PeerKeyUnverifiable');
    // Anyone may relay a wallet-signed binding, but not one whose peer key the contract cannot check.
    expect(await revertName(user3.call('registerPeerWithSig', [asTuple(signed.binding), signed.walletSignature, signed.peerSignature, '0x']))).toBe('PeerKeyUnverifiable');
    await coordinator.call('registerPeerWithSig', [asTuple(signed.binding), signed.walletSignature, signed.peerSignature, '0x']);
    expect(await fx.read('accountOf', [ed.peerId])).toBe(user3.account.address);
  });

  it('leaves a revoked squatter its own totals and flags: the real owner starts clean in the same round', async () => {
    const { deployer, user1, user2, coordinator } = fx.actors;
    // An Ed25519 peer id squatted through a careless second stage manager (the only way left to squat).
    await deployer.call('setStageManager', [deployer.account.address, true]);
    const key = await generateKeyPair('Ed25519');
    const victim = { key, peerId: peerIdFromPrivateKey(key).toString() };
    const squat = await signedBinding(fx, user2.account, victim);
    await deployer.call('registerPeerWithSig', [asTuple(squat.binding), squat.walletSignature, bytesToHex(new Uint8Array(64).fill(9)), '0x']);
    await deployer.call('setStageManager', [deployer.account.address, false]);
    const round = (await fx.read('currentRound')) as bigint;
    await user2.call('submitReward', [round, 0n, 900n, victim.peerId]);
    await user2.call('submitWinners', [round, [victim.peerId], victim.peerId]);
    expect([await fx.read('totalRewards', [victim.peerId]), await fx.read('totalWins', [victim.peerId])]).toEqual([900n, 1n]);
    expect([await fx.read('rewardSubmitted', [round, 0n, victim.peerId]), await fx.read('winnersSubmitted', [round, victim.peerId])]).toEqual([true, true]);

    await coordinator.call('revokePeer', [victim.peerId]);
    const real = await signedBinding(fx, user1.account, victim);
    await coordinator.call('registerPeerWithSig', [asTuple(real.binding), real.walletSignature, real.peerSignature, '0x']);
    expect(await fx.read('accountOf', [victim.peerId])).toBe(user1.account.address);
    expect([await fx.read('totalRewards', [victim.peerId]), await fx.read('totalWins', [victim.peerId])]).toEqual([0n, 0n]);
    expect([await fx.read('rewardSubmitted', [round, 0n, victim.peerId]), await fx.read('winnersSubmitted', [round, victim.peerId])]).toEqual([false, false]);
    // The real owner may report the very round the squatter already reported, once.
    await user1.call('submitReward', [round, 0n, 700n, victim.peerId]);
    expect(await revertName(user1.call('submitReward', [round, 0n, 700n, victim.peerId]))).toBe('RewardAlreadySubmitted');
    await user1.call('submitWinners', [round, [victim.peerId], victim.peerId]);
    expect([await fx.read('totalRewards', [victim.peerId]), await fx.read('totalWins', [victim.peerId])]).toEqual([700n, 1n]);
    // The register keeps both registrations: the revoked one with account zero and what it earned.
    const count = (await fx.read('peerCount')) as bigint;
    const board = (await fx.read('leaderboard', [0n, count])) as { peerId: string; account: string; totalReward: bigint }[];
    expect(board.filter((e) => e.peerId === victim.peerId).map((e) => [e.account, e.totalReward])).toEqual([
      [zeroAddress, 900n],
      [user1.account.address, 700n],
    ]);
    // The app's leaderboard shows one row per peer id: the current registration.
    const rows = (await readLeaderboard(fx.client, fx.coordinator)).filter((e) => e.peerId === victim.peerId);
    expect(rows).toEqual([{ peerId: victim.peerId, account: user1.account.address, totalReward: 700n, totalWins: 1n }]);
  });
});

describe('SwarmCoordinator rewards are bounded', () => {
  let a: string;
  let b: string;
  beforeAll(async () => {
    const register = async (actor: typeof fx.actors.user1) => {
      const peer = await newPeer();
      const signed = await signedBinding(fx, actor.account, peer);
      await actor.call('registerPeer', [asTuple(signed.binding), signed.peerSignature, signed.peerPublicKey]);
      return peer.peerId;
    };
    a = await register(fx.actors.user1);
    b = await register(fx.actors.user3);
    await fx.actors.coordinator.call('advanceStage', []);
  }, 30_000);

  it('refuses a report over the bound and cannot be made to overflow a total', async () => {
    const { user1 } = fx.actors;
    const round = (await fx.read('currentRound')) as bigint;
    expect(await fx.read('maxRewardPerReport')).toBe(MAX_REWARD_UNITS);
    expect(await revertName(user1.call('submitReward', [round, 0n, MAX_REWARD_UNITS + 1n, a]))).toBe('RewardTooLarge');
    expect(await revertName(user1.call('submitReward', [round, 0n, (1n << 255n) - 1n, a]))).toBe('RewardTooLarge');
    expect(await revertName(user1.call('submitReward', [round, 0n, MAX_UINT256, a]))).toBe('RewardTooLarge');
    await user1.call('submitReward', [round, 0n, MAX_REWARD_UNITS, a]);
    expect(await fx.read('totalRewards', [a])).toBe(MAX_REWARD_UNITS);
  });

  it('skips bad entries of a batch with a reason and records the rest', async () => {
    const { coordinator } = fx.actors;
    await coordinator.call('advanceStage', []);
    const round = (await fx.read('currentRound')) as bigint;
    const before = [(await fx.read('totalRewards', [a])) as bigint, (await fx.read('totalRewards', [b])) as bigint];
    const from = (await fx.client.getBlockNumber({ cacheTime: 0 })) + 1n;
    // The overflow attempt of the issue: 2^255 - 1 then +1 for the same total, amid honest entries.
    const ids = [a, 'QmNobody', b, a, b];
    const rewards = [(1n << 255n) - 1n, 5n, 300n, 1n, 400n];
    const recorded = await coordinator.call('submitRewardsFor', [round, 0n, ids, rewards]);
    expect(recorded).toBe(2n);
    expect(await skippedEvents(from)).toEqual([
      { peerId: a, reward: (1n << 255n) - 1n, reason: 'reward-too-large' },
      { peerId: 'QmNobody', reward: 5n, reason: 'not-registered' },
      { peerId: b, reward: 400n, reason: 'already-submitted' },
    ]);
    expect(await fx.read('totalRewards', [a])).toBe(before[0] + 1n);
    expect(await fx.read('totalRewards', [b])).toBe(before[1] + 300n);
  });

  it('takes rewards only for the current window of rounds', async () => {
    const { coordinator, user1 } = fx.actors;
    const start = (await fx.read('currentRound')) as bigint;
    expect(await fx.read('rewardWindowRounds')).toBe(REWARD_WINDOW_ROUNDS);
    for (let i = 0n; i <= REWARD_WINDOW_ROUNDS; i++) await coordinator.call('advanceStage', []);
    const now = (await fx.read('currentRound')) as bigint;
    expect(now).toBe(start + REWARD_WINDOW_ROUNDS + 1n);
    expect(await revertName(user1.call('submitReward', [start, 0n, 1n, a]))).toBe('RoundClosed');
    expect(await revertName(coordinator.call('submitRewardsFor', [start, 0n, [b], [1n]]))).toBe('RoundClosed');
    // The oldest round still open, and the current one, are taken.
    await user1.call('submitReward', [now - REWARD_WINDOW_ROUNDS, 0n, 1n, a]);
    expect(await coordinator.call('submitRewardsFor', [now, 0n, [a, b], [2n, 3n]])).toBe(2n);
  });
});
