// SwarmCoordinator rounds, rewards, winners, leaderboard and administration on a real anvil.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeErrorResult, encodeDeployData, parseEventLogs, zeroAddress, type Address, type BaseError, type Hex } from 'viem';
import { swarmCoordinatorAbi, swarmCoordinatorBytecode } from '../../../src/identity/generated/SwarmCoordinator.ts';
import { asTuple, newPeer, revertName, signedBinding, startChainFixture, type Actor, type ChainFixture } from './fixture.ts';

let fx: ChainFixture;
const peers: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };

async function register(actor: Actor): Promise<string> {
  const peer = await newPeer();
  const signed = await signedBinding(fx, actor.account, peer);
  await actor.call('registerPeer', [asTuple(signed.binding), signed.peerSignature, signed.peerPublicKey]);
  return peer.peerId;
}

beforeAll(async () => {
  fx = await startChainFixture(2);
  peers.a = await register(fx.actors.user1);
  peers.b = await register(fx.actors.user2);
  peers.c = await register(fx.actors.user3);
}, 60_000);
afterAll(async () => {
  await fx?.stop();
});

describe('SwarmCoordinator rounds, rewards and winners', () => {
  it('refuses to deploy with no stages or no stage manager', async () => {
    const deployRevert = async (stages: bigint, manager: Address, maxReward = 2000n, window = 4n) => {
      const data = encodeDeployData({ abi: swarmCoordinatorAbi, bytecode: swarmCoordinatorBytecode, args: ['x', stages, manager, maxReward, window] });
      try {
        await fx.client.call({ account: fx.actors.deployer.account, data });
        return 'no revert';
      } catch (error) {
        const raw = (error as BaseError).walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: Hex } | null;
        return raw?.data ? decodeErrorResult({ abi: swarmCoordinatorAbi, data: raw.data }).errorName : 'undecodable';
      }
    };
    expect(await deployRevert(0n, fx.actors.coordinator.account.address)).toBe('InvalidStageCount');
    expect(await deployRevert(17n, fx.actors.coordinator.account.address)).toBe('InvalidStageCount');
    expect(await deployRevert(2n, zeroAddress)).toBe('ZeroAddress');
    expect(await deployRevert(2n, fx.actors.coordinator.account.address, 0n)).toBe('InvalidRewardBounds');
    expect(await deployRevert(2n, fx.actors.coordinator.account.address, 1n << 32n)).toBe('InvalidRewardBounds');
    expect(await deployRevert(2n, fx.actors.coordinator.account.address, 2000n, 1025n)).toBe('InvalidRewardBounds');
    expect(await deployRevert(2n, fx.actors.coordinator.account.address)).toBe('no revert');
  });

  it('advances stages and rounds only by the stage manager, with events', async () => {
    expect(await revertName(fx.actors.user1.call('advanceStage', []))).toBe('NotStageManager');
    expect([await fx.read('currentRound'), await fx.read('currentStage')]).toEqual([0n, 0n]);
    await fx.actors.coordinator.call('advanceStage', []);
    expect([await fx.read('currentRound'), await fx.read('currentStage')]).toEqual([0n, 1n]);
    expect(await fx.actors.coordinator.call('advanceStage', [])).toEqual([1n, 0n]);
    const logs = parseEventLogs({ abi: swarmCoordinatorAbi, logs: await fx.client.getLogs({ address: fx.coordinator, fromBlock: 0n }) });
    expect(logs.filter((l) => l.eventName === 'RoundAdvanced').map((l) => l.args)).toEqual([{ round: 1n }]);
    expect(logs.filter((l) => l.eventName === 'StageAdvanced').map((l) => l.args)).toEqual([{ round: 0n, stage: 1n }, { round: 1n, stage: 0n }]);
  });

  it('takes a reward from the bound account once per round and stage, and refuses others', async () => {
    const { user1, user2 } = fx.actors;
    await user1.call('submitReward', [0n, 1n, 5n, peers.a]);
    await user1.call('submitReward', [1n, 0n, 2n, peers.a]);
    expect(await fx.read('totalRewards', [peers.a])).toBe(7n);
    expect(await fx.read('rewardSubmitted', [0n, 1n, peers.a])).toBe(true);
    expect(await revertName(user1.call('submitReward', [0n, 1n, 5n, peers.a]))).toBe('RewardAlreadySubmitted');
    expect(await revertName(user2.call('submitReward', [0n, 0n, 5n, peers.a]))).toBe('NotPeerAccount');
    expect(await revertName(user1.call('submitReward', [0n, 0n, 5n, 'QmNobody']))).toBe('PeerNotRegistered');
    expect(await revertName(user1.call('submitReward', [1n, 1n, 5n, peers.a]))).toBe('RoundNotOpen');
    expect(await revertName(user1.call('submitReward', [2n, 0n, 5n, peers.a]))).toBe('RoundNotOpen');
    expect(await revertName(user1.call('submitReward', [0n, 2n, 5n, peers.a]))).toBe('RoundNotOpen');
  });

  it('records batched rewards from the stage manager, skipping repeats and unknown peers', async () => {
    const { coordinator, user1 } = fx.actors;
    expect(await revertName(user1.call('submitRewardsFor', [1n, 0n, [peers.b], [1n]]))).toBe('NotStageManager');
    expect(await revertName(coordinator.call('submitRewardsFor', [1n, 0n, [peers.b], [1n, 2n]]))).toBe('LengthMismatch');
    expect(await revertName(coordinator.call('submitRewardsFor', [9n, 0n, [peers.b], [1n]]))).toBe('RoundNotOpen');
    const recorded = await coordinator.call('submitRewardsFor', [1n, 0n, [peers.a, peers.b, peers.c, 'QmNobody', peers.b], [100n, 7n, 4n, 1n, 50n]]);
    // peers.a already reported round 1 stage 0 itself; the second peers.b entry is a repeat.
    expect(recorded).toBe(2n);
    expect(await fx.read('totalRewards', [peers.a])).toBe(7n);
    expect(await fx.read('totalRewards', [peers.b])).toBe(7n);
    expect(await fx.read('totalRewards', [peers.c])).toBe(4n);
    const tooMany = Array.from({ length: 257 }, () => peers.b);
    expect(await revertName(coordinator.call('submitRewardsFor', [1n, 0n, tooMany, tooMany.map(() => 1n)]))).toBe('BatchTooLarge');
  });

  it('takes winners once per voter per round and counts wins', async () => {
    const { user1, user2, user3 } = fx.actors;
    await user1.call('submitWinners', [0n, [peers.b, peers.c], peers.a]);
    await user2.call('submitWinners', [0n, [peers.b], peers.b]);
    expect(await fx.read('totalWins', [peers.b])).toBe(2n);
    expect(await fx.read('totalWins', [peers.c])).toBe(1n);
    expect(await fx.read('winnersSubmitted', [0n, peers.a])).toBe(true);
    expect(await revertName(user1.call('submitWinners', [0n, [peers.c], peers.a]))).toBe('WinnersAlreadySubmitted');
    expect(await revertName(user3.call('submitWinners', [0n, [peers.a], peers.a]))).toBe('NotPeerAccount');
    expect(await revertName(user3.call('submitWinners', [0n, [peers.a, peers.a], peers.c]))).toBe('DuplicateWinner');
    expect(await revertName(user3.call('submitWinners', [0n, [], peers.c]))).toBe('InvalidWinners');
    expect(await revertName(user3.call('submitWinners', [0n, Array(33).fill(peers.a), peers.c]))).toBe('InvalidWinners');
    expect(await revertName(user3.call('submitWinners', [0n, ['QmNobody'], peers.c]))).toBe('PeerNotRegistered');
    expect(await revertName(user3.call('submitWinners', [5n, [peers.a], peers.c]))).toBe('RoundNotOpen');
    const logs = parseEventLogs({ abi: swarmCoordinatorAbi, eventName: 'WinnersSubmitted', logs: await fx.client.getLogs({ address: fx.coordinator, fromBlock: 0n }) });
    expect(logs[0].args).toMatchObject({ round: 0n, voterPeerId: peers.a, winners: [peers.b, peers.c] });
  });

  it('pages the leaderboard in registration order', async () => {
    expect(await fx.read('peerCount')).toBe(3n);
    const all = (await fx.read('leaderboard', [0n, 10n])) as { peerId: string; account: string; totalReward: bigint; totalWins: bigint }[];
    expect(all.map((e) => e.peerId)).toEqual([peers.a, peers.b, peers.c]);
    expect(all[1]).toEqual({ peerId: peers.b, account: fx.actors.user2.account.address, totalReward: 7n, totalWins: 2n });
    expect(((await fx.read('leaderboard', [1n, 1n])) as unknown[]).length).toBe(1);
    expect(await fx.read('leaderboard', [3n, 10n])).toEqual([]);
  });

  it('lets only the owner manage stage managers and ownership', async () => {
    const { deployer, user1, user2 } = fx.actors;
    expect(await revertName(user1.call('setStageManager', [user1.account.address, true]))).toBe('NotOwner');
    expect(await revertName(deployer.call('setStageManager', [zeroAddress, true]))).toBe('ZeroAddress');
    await deployer.call('setStageManager', [user1.account.address, true]);
    expect(await fx.read('stageManagers', [user1.account.address])).toBe(true);
    await user1.call('advanceStage', []);
    await deployer.call('setStageManager', [user1.account.address, false]);
    expect(await revertName(user1.call('advanceStage', []))).toBe('NotStageManager');
    expect(await revertName(deployer.call('transferOwnership', [zeroAddress]))).toBe('ZeroAddress');
    await deployer.call('transferOwnership', [user2.account.address]);
    expect(await fx.read('owner')).toBe(user2.account.address);
    expect(await revertName(deployer.call('setStageManager', [user1.account.address, true]))).toBe('NotOwner');
  });
});

