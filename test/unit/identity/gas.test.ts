// Gas used by the coordinator's hot paths on anvil, with ceilings so a change that makes them much dearer fails.
// Prints the figures: npx vitest run --project unit test/unit/identity/gas.test.ts
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFunctionData, type Abi, type Hex } from 'viem';
import { swarmCoordinatorAbi } from '../../../src/identity/generated/SwarmCoordinator.ts';
import { asTuple, newPeer, signedBinding, startChainFixture, type Actor, type ChainFixture } from './fixture.ts';

let fx: ChainFixture;
beforeAll(async () => {
  fx = await startChainFixture(1);
}, 60_000);
afterAll(async () => {
  await fx?.stop();
});

async function gasOf(actor: Actor, fn: string, args: readonly unknown[]): Promise<bigint> {
  const data = encodeFunctionData({ abi: swarmCoordinatorAbi as Abi, functionName: fn, args });
  const gas = await fx.client.estimateGas({ account: actor.account, to: fx.coordinator, data });
  await actor.call(fn, args);
  return gas;
}

describe('coordinator gas', () => {
  it('stays within budget for registration, rewards and stage changes', async () => {
    const { user1, user2, coordinator } = fx.actors;
    const own = await signedBinding(fx, user1.account, await newPeer());
    const registerPeer = await gasOf(user1, 'registerPeer', [asTuple(own.binding), own.peerSignature, own.peerPublicKey]);
    const relayed = await signedBinding(fx, user2.account, await newPeer());
    const registerPeerWithSig = await gasOf(coordinator, 'registerPeerWithSig', [asTuple(relayed.binding), relayed.walletSignature, relayed.peerSignature, relayed.peerPublicKey]);

    const peers: string[] = [];
    for (let i = 0; i < 50; i++) {
      const peer = await newPeer();
      const signed = await signedBinding(fx, user1.account, peer);
      await coordinator.call('registerPeerWithSig', [asTuple(signed.binding), signed.walletSignature as Hex, signed.peerSignature, signed.peerPublicKey]);
      peers.push(peer.peerId);
    }
    const batch50 = await gasOf(coordinator, 'submitRewardsFor', [0n, 0n, peers, peers.map((_, i) => BigInt(i))]);
    const submitReward = await gasOf(user1, 'submitReward', [0n, 0n, 7n, own.binding.peerId]);
    const advanceStage = await gasOf(coordinator, 'advanceStage', []);
    const figures = { registerPeer, registerPeerWithSig, submitReward, rewardPerPeerInBatchOf50: batch50 / 50n, advanceStage };
    console.log('coordinator gas (anvil estimate):', Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v)])));
    // Both now prove the secp256k1 peer key on chain (two ecrecovers and the peer id re-derived in base58): ~50k more.
    expect(registerPeer).toBeLessThan(340_000n);
    expect(registerPeerWithSig).toBeLessThan(360_000n);
    expect(submitReward).toBeLessThan(120_000n);
    expect(batch50 / 50n).toBeLessThan(60_000n);
    expect(advanceStage).toBeLessThan(60_000n);
  }, 60_000);
});
