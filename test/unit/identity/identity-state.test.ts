// The tab's identity state class in Node against a real anvil + coordinator service: chain reads, the
// leaderboard, reward reports signed by the peer key, and swarms without (or with broken) chain settings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityState } from '../../../src/app/identity/identity.svelte.ts';
import type { SwarmConfig } from '../../../src/swarm/config.ts';
import type { CoordinatorService } from '../../../relay/coordinator/service.ts';
import { encodeSignedBinding } from '../../../src/identity/binding.ts';
import { CoordinatorServiceClient } from '../../../src/identity/coordinator.ts';
import { newPeer, signedBinding, startChainFixture, startFixtureService, SWARM, type ChainFixture } from './fixture.ts';

let fx: ChainFixture;
let service: CoordinatorService;
const swarmBase: SwarmConfig = { swarmId: SWARM, relayAddrs: [], local: true, roundMs: 20_000, genesisMs: 0, taskMix: {}, modelId: 'tabswarm-tiny' };

beforeAll(async () => {
  fx = await startChainFixture(1);
  service = await startFixtureService(fx);
}, 60_000);
afterAll(async () => {
  await service?.stop();
  await fx?.stop();
});

describe('IdentityState', () => {
  it('says plainly when the swarm has no chain or a broken one, and stays usable', async () => {
    const none = new IdentityState();
    await none.start(swarmBase);
    expect(none.snapshot).toMatchObject({ available: false, note: expect.stringMatching(/no chain/) });
    const broken = new IdentityState();
    await broken.start({ ...swarmBase, chain: { chainId: 31337, rpcUrl: 'ftp://x', coordinator: fx.coordinator } });
    expect(broken.snapshot).toMatchObject({ available: false, note: expect.stringMatching(/invalid/) });
    await broken.sign();
    expect(broken.snapshot.error).toMatch(/Connect a wallet first/);
  });

  it('reads its binding and the leaderboard from the chain and reports rewards signed by its peer key', async () => {
    const peer = await newPeer();
    const identity = new IdentityState({ pollMs: 60_000 });
    const chain = { chainId: fx.chain.chainId, rpcUrl: fx.chain.rpcUrl, coordinator: fx.coordinator, coordinatorService: service.url };
    await identity.start({ ...swarmBase, chain } as SwarmConfig, peer.key);
    try {
      expect(identity.snapshot).toMatchObject({ available: true, peerId: peer.peerId, boundAccount: null, relayer: true, round: '0', wallets: [] });
      // Unregistered: nothing is reported.
      expect(await identity.reportReward(1)).toBe(false);

      await new CoordinatorServiceClient(service.url).register(encodeSignedBinding(await signedBinding(fx, fx.actors.user1.account, peer)));
      await identity.refresh();
      expect(identity.snapshot.boundAccount).toBe(fx.actors.user1.account.address);
      expect(await identity.reportReward(1.5)).toBe(true);
      await service.flushRewards();
      await identity.refresh();
      expect(identity.snapshot.leaderboard.find((e) => e.peerId === peer.peerId)).toMatchObject({ totalReward: 1500n, account: fx.actors.user1.account.address });
    } finally {
      identity.stop();
    }
  });

  it('turns an unreachable chain into a message instead of an exception', async () => {
    const identity = new IdentityState({ pollMs: 60_000 });
    await identity.start({ ...swarmBase, chain: { chainId: 31337, rpcUrl: 'http://127.0.0.1:1', coordinator: fx.coordinator, coordinatorService: service.url } } as SwarmConfig, (await newPeer()).key);
    identity.stop();
    expect(identity.snapshot.chainError).toMatch(/cannot read the chain at http:\/\/127\.0\.0\.1:1/);
  });
});
