// Shared by `npm run swarm:sim` and `npm run bench:swarm`: N headless peers in this process on a relay,
// meshed over WebRTC, under the gossip probe's load (rollouts each interval, pings taking turns).
import { startRelay } from '../../relay/relay.ts';
import { parseSwarmConfig } from '../../src/swarm/config.ts';
import { scriptedProducer } from '../../src/app/lab/demo-rollouts.ts';
import { GossipProbe, summarizeLoad, type LoadSummary } from '../../src/swarm/probe.ts';
import { Swarm } from '../../src/swarm/swarm.ts';

export const MAX_SIM_PEERS = 24;
export const MAX_SIM_SECONDS = 300;

/** one line for the console: one-way latency (shared clock), round trips (pinger's clock), loss, rate */
export function describeLoad(r: LoadSummary): string {
  return (
    `gossip one-way p50 ${r.latencyP50Ms} ms, p95 ${r.latencyP95Ms} ms, loss ${r.lossPct}% (${r.received}/${r.expected}); ` +
    `RTT p50 ${r.rttP50Ms} ms, p95 ${r.rttP95Ms} ms, first echo p50 ${r.rttFirstP50Ms} ms, p95 ${r.rttFirstP95Ms} ms ` +
    `(${r.echoesReceived}/${r.echoesExpected} echoes of ${r.pingsSent} pings); ${r.rolloutsPerS} rollouts/s delivered`
  );
}

export interface NodeLoadResult extends LoadSummary {
  /** from the first join to every peer having a direct link to every other (null: never within the timeout) */
  meshMs: number | null;
  /** median over peers of join start to its first direct link */
  firstDirectMs: number | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function runNodeLoad(options: { peers: number; seconds: number; intervalMs: number; meshTimeoutMs?: number; log?: (line: string) => void }): Promise<NodeLoadResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  if (!Number.isInteger(options.peers) || options.peers < 2 || options.peers > MAX_SIM_PEERS) throw new RangeError(`peers must be an integer from 2 to ${MAX_SIM_PEERS}`);
  if (!(options.seconds >= 1 && options.seconds <= MAX_SIM_SECONDS)) throw new RangeError(`seconds must be from 1 to ${MAX_SIM_SECONDS}`);
  const swarmId = `sim-${Date.now().toString(36)}`;
  const relay = await startRelay({ port: 0, healthPort: null, swarmId });
  const config = parseSwarmConfig({ swarmId, relayAddrs: relay.multiaddrs, local: true, lab: true, roundMs: 10_000, genesisMs: 0 });
  const swarms: Swarm[] = [];
  const probes: GossipProbe[] = [];
  try {
    const started = Date.now();
    const firstDirect: number[] = [];
    await Promise.all(
      Array.from({ length: options.peers }, async (_, i) => {
        await sleep(i * 100);
        const joinedAt = Date.now();
        const swarm = await Swarm.join(config, { log: process.env.SIM_DEBUG ? (l) => log(`${((Date.now() - started) / 1000).toFixed(1)}s peer${i}: ${l}`) : () => undefined, trackClockSkew: false });
        swarms.push(swarm);
        swarm.node.addEventListener('connection:open', function onOpen() {
          if (swarm.links().some((l) => l.direct)) {
            firstDirect.push(Date.now() - joinedAt);
            swarm.node.removeEventListener('connection:open', onOpen);
          }
        });
      }),
    );
    const meshed = () => swarms.every((s) => new Set(s.links().filter((l) => l.direct).map((l) => l.peerId)).size >= options.peers - 1);
    const deadline = started + (options.meshTimeoutMs ?? 20_000 + 5_000 * options.peers);
    while (!meshed() && Date.now() < deadline) await sleep(200);
    const meshMs = meshed() ? Date.now() - started : null;
    log(meshMs === null ? `mesh incomplete after ${Date.now() - started} ms; measuring anyway` : `${options.peers} peers fully meshed over WebRTC in ${meshMs} ms`);
    // let gossipsub graft its mesh (heartbeat 1 s) before measuring
    await sleep(2_000);
    for (const swarm of swarms) probes.push(new GossipProbe(swarm, { intervalMs: options.intervalMs, produce: scriptedProducer(config, swarm.peerId, 'the load simulation') }));
    probes.forEach((p) => p.start());
    await sleep(1_000);
    const windowStart = Date.now();
    probes.forEach((p) => p.reset(windowStart));
    await sleep(options.seconds * 1000);
    const windowEnd = Date.now();
    probes.forEach((p) => p.pause(windowEnd));
    const windowS = (windowEnd - windowStart) / 1000;
    // messages still in flight count; nothing is sent any more
    await sleep(2_000);
    const sorted = [...firstDirect].sort((a, b) => a - b);
    return {
      ...summarizeLoad(probes.map((p) => p.read()), windowS),
      meshMs,
      firstDirectMs: sorted.length ? sorted[sorted.length >> 1] : null,
    };
  } finally {
    probes.forEach((p) => p.stop());
    await Promise.all(swarms.map((s) => s.stop().catch(() => undefined)));
    await relay.stop();
  }
}
