// `npm run peer -- --relay <multiaddr> [--swarm id] [--round-ms 20000] [--genesis-ms 0] [--seconds S]`
// or `npm run peer -- --config <swarm.json | ?swarm= value>`: a headless Node peer. It joins the swarm over
// the relay, dials peers over WebRTC (node-datachannel) and runs rounds, publishing this round's demo
// rollouts and reporting which peers' rollouts arrived. One JSON line per event on stdout (for scripts and
// tests); human-readable notes on stderr.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assertWebSocket } from '../src/node-polyfills.ts';
import { decodeSwarmConfigParam, parseSwarmConfig, SwarmConfigError, type SwarmConfig } from '../src/swarm/config.ts';
import { Swarm } from '../src/swarm/swarm.ts';
import { transportOver } from '../src/swarm/transport.ts';
import { demoRollouts, runRoundLoop } from '../src/swarm/rounds.ts';

function usage(message: string): never {
  console.error(`peer: ${message}\nusage: npm run peer -- --relay <multiaddr> [--swarm id] [--round-ms ms] [--genesis-ms ms] [--seconds s]\n       npm run peer -- --config <swarm.json or ?swarm= value> [--seconds s]`);
  process.exit(2);
}

function readConfig(values: Record<string, string | string[] | boolean | undefined>): SwarmConfig {
  try {
    if (typeof values.config === 'string') {
      const text = values.config.trim().startsWith('{') || !values.config.endsWith('.json') ? values.config : readFileSync(values.config, 'utf8');
      return text.trim().startsWith('{') ? parseSwarmConfig(JSON.parse(text)) : decodeSwarmConfigParam(text.trim());
    }
    const relays = (values.relay as string[] | undefined) ?? [];
    if (relays.length === 0) usage('give --relay <multiaddr> (repeatable) or --config');
    return parseSwarmConfig({
      swarmId: values.swarm ?? 'local',
      relayAddrs: relays,
      local: true,
      roundMs: Number(values['round-ms'] ?? 20_000),
      genesisMs: Number(values['genesis-ms'] ?? 0),
    });
  } catch (error) {
    if (error instanceof SwarmConfigError || error instanceof SyntaxError) usage(error.message);
    throw error;
  }
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      relay: { type: 'string', multiple: true },
      swarm: { type: 'string' },
      'round-ms': { type: 'string' },
      'genesis-ms': { type: 'string' },
      config: { type: 'string' },
      seconds: { type: 'string' },
      questions: { type: 'string', default: '2' },
    },
  }));
} catch (error) {
  usage((error as Error).message);
}
assertWebSocket();
const config = readConfig(values);
const seconds = values.seconds === undefined ? Infinity : Number(values.seconds);
if (!(seconds > 0)) usage('--seconds must be a positive number');
const emit = (event: object) => console.log(JSON.stringify(event));

const swarm = await Swarm.join(config, {
  log: (line) => console.error(`peer: ${line}`),
  heartbeatStats: () => ({ round: swarm.clock.currentRound(), peers: swarm.topicPeers().length }),
});
emit({ peer: { peerId: swarm.peerId, swarmId: config.swarmId } });
console.error(`peer ${swarm.peerId} joined swarm ${config.swarmId}`);
const transport = transportOver(swarm);
const knownDirect = new Set<string>();
const linkTimer = setInterval(() => {
  for (const link of swarm.links()) {
    if (link.direct && !knownDirect.has(link.peerId)) {
      knownDirect.add(link.peerId);
      emit({ direct: { peerId: link.peerId, addr: link.addr } });
    }
  }
}, 250);
swarm.onRejection((r) => emit({ rejected: r }));
const stopLoop = runRoundLoop({
  transport,
  clock: swarm.clock,
  swarmId: config.swarmId,
  produce: (round) => demoRollouts(config.swarmId, round, swarm.peerId, Number(values.questions)),
  onRound: (report) => emit({ round: report.round, published: report.published, received: report.received.map((b) => b.peerId) }),
  onError: (error) => console.error(`peer: round failed: ${error.message}`),
});

let stopping = false;
async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`peer: ${reason}, leaving the swarm`);
  stopLoop();
  clearInterval(linkTimer);
  const force = setTimeout(() => process.exit(1), 5_000);
  force.unref();
  await transport.close();
  await swarm.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
if (Number.isFinite(seconds)) setTimeout(() => void shutdown(`${seconds} s elapsed`), seconds * 1000);
