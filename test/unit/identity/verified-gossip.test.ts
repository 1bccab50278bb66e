// Rewards the chain can trust, end to end over real parts: anvil + the coordinator contract, the relay, the
// coordinator CLI in verified mode following gossip (`relay/coordinator.ts --follow`), and Node peers with
// registered keys publishing rollouts through the project's own transport. The chain must record, for every
// stage, exactly what the rollouts of the swarm round it maps to re-score to; a peer that forges its claims
// earns nothing, and the others are recorded regardless.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { bytesToHex, parseEventLogs } from 'viem';
import { startRelay, type RunningRelay } from '../../../relay/relay.ts';
import { appRoundShape } from '../../../relay/coordinator/follower.ts';
import { swarmCoordinatorAbi } from '../../../src/identity/generated/SwarmCoordinator.ts';
import { rewardToUnits } from '../../../src/identity/coordinator.ts';
import { parseSwarmConfig } from '../../../src/swarm/config.ts';
import { DEV_KEYS } from '../../../scripts/lib/chain.ts';
import { asTuple, newPeer, signedBinding, startChainFixture, SWARM, type ChainFixture } from './fixture.ts';
import { honestBatch, meanReward } from './rescore-fixture.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const ROUND_MS = 2_000;
let fx: ChainFixture;
let relay: RunningRelay;
const children: ChildProcess[] = [];
const lines: string[] = [];

function node(args: string[], env: Record<string, string> = {}): { child: ChildProcess; next: (match: (event: Record<string, unknown>) => boolean, ms: number) => Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings=ExperimentalWarning', '--import', './scripts/register.mjs', ...args], {
    cwd: repo, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const events: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    try {
      events.push(JSON.parse(line));
    } catch {
      return;
    }
    for (const w of waiters) w();
  });
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString().trim()));
  const next = (match: (event: Record<string, unknown>) => boolean, ms: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const hit = events.find(match);
        if (hit) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no matching event from ${args[0]} within ${ms} ms; output:\n${lines.slice(-30).join('\n')}`));
      }, ms);
      waiters.add(check);
      check();
    });
  return { child, next };
}

beforeAll(async () => {
  fx = await startChainFixture(1);
  relay = await startRelay({ port: 0, swarmId: SWARM, healthPort: null });
}, 60_000);
afterAll(async () => {
  for (const child of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  await relay?.stop();
  await fx?.stop();
});

describe('verified rewards over real gossip', () => {
  it('puts on chain exactly the re-scored rewards of registered peers, and nothing for a forger', async () => {
    const config = parseSwarmConfig({ swarmId: SWARM, relayAddrs: relay.multiaddrs, local: true, roundMs: ROUND_MS, genesisMs: Date.now() - 10 * ROUND_MS });
    const shape = appRoundShape(config);
    const [good, fair, forger] = [await newPeer(), await newPeer(), await newPeer()];
    const users = [fx.actors.user1, fx.actors.user2, fx.actors.user3];
    for (const [i, p] of [good, fair, forger].entries()) {
      const b = await signedBinding(fx, users[i].account, p);
      await users[i].call('registerPeer', [asTuple(b.binding), b.peerSignature, b.peerPublicKey]);
    }
    const coordinator = node(['relay/coordinator.ts', '--rpc', fx.chain.rpcUrl, '--contract', fx.coordinator, '--swarm', SWARM, '--port', '0', '--follow', JSON.stringify(config)], {
      TABSWARM_COORDINATOR_KEY: DEV_KEYS.coordinator,
    });
    const started = (await coordinator.next((e) => 'coordinator' in e, 60_000)).coordinator as { url: string };
    const health = (await (await fetch(`${started.url}/health`)).json()) as { mapping: { baseSwarmRound: number; roundsPerStage: number; stagesPerRound: number } };
    expect(health.mapping, 'verified mode shows its round mapping').toMatchObject({ roundsPerStage: 1, stagesPerRound: 1 });
    const correct = new Map([[good.peerId, 3], [fair.peerId, 1], [forger.peerId, 0]]);
    const peers = [good, fair, forger].map((p) => ({ key: bytesToHex(privateKeyToProtobuf(p.key)), correct: correct.get(p.peerId)!, ...(p === forger ? { forge: true } : {}) }));
    const publisher = node(['test/unit/identity/gossip-publisher.ts', JSON.stringify(config), JSON.stringify(peers)]);
    await publisher.next((e) => 'joined' in e, 60_000);

    // generous: peers must find each other through the relay, then a round must end and a grace round pass
    const deadline = Date.now() + 90_000;
    let recorded: { peerId: string; round: bigint; reward: bigint }[] = [];
    while (Date.now() < deadline) {
      const logs = await fx.client.getLogs({ address: fx.coordinator, fromBlock: 0n });
      recorded = parseEventLogs({ abi: swarmCoordinatorAbi, eventName: 'RewardSubmitted', logs }).map((l) => ({ peerId: l.args.peerId, round: l.args.round, reward: l.args.reward }));
      const seen = new Set(recorded.map((r) => r.peerId));
      if (seen.has(good.peerId) && seen.has(fair.peerId) && recorded.length >= 4) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(recorded.length, `rewards recorded within 90 s; output:\n${lines.slice(-40).join('\n')}`).toBeGreaterThanOrEqual(4);
    for (const r of recorded) {
      // chain round R (one stage per round) is swarm round base + R: the batch that peer published then
      const swarmRound = health.mapping.baseSwarmRound + Number(r.round);
      const expected = rewardToUnits(meanReward(honestBatch(shape, swarmRound, r.peerId, correct.get(r.peerId)!)));
      expect(r.reward, `reward of ${r.peerId} for chain round ${r.round} (swarm round ${swarmRound})`).toBe(expected);
    }
    expect(recorded.some((r) => r.peerId === forger.peerId), 'a forger never reaches the chain').toBe(false);
    expect(await fx.read('totalRewards', [forger.peerId])).toBe(0n);
    const wins = [(await fx.read('totalWins', [good.peerId])) as bigint, (await fx.read('totalWins', [fair.peerId])) as bigint];
    expect(wins[0] > 0n && wins[0] >= wins[1], `the best re-scored peer wins its rounds (wins ${wins})`).toBe(true);
  }, 180_000);
});
