// `npm run swarm:sim -- --peers N --seconds S [--interval-ms 500] [--json FILE]`: starts a relay and N headless
// peers on 127.0.0.1 in this process (N <= 24, S <= 300), meshes them over WebRTC, has each publish a
// rollouts message every interval and reports gossip latency (p50, p95) and message loss, and round trips
// (RTT p50, p95) of pings that peers take turns to send and every other peer echoes.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assertWebSocket } from '../src/node-polyfills.ts';
import { describeLoad, MAX_SIM_PEERS, MAX_SIM_SECONDS, runNodeLoad } from './lib/swarm-load.ts';

function usage(message: string): never {
  console.error(`swarm:sim: ${message}\nusage: npm run swarm:sim -- --peers N (2..${MAX_SIM_PEERS}) --seconds S (1..${MAX_SIM_SECONDS}) [--interval-ms 500] [--json FILE]`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      peers: { type: 'string', default: '4' },
      seconds: { type: 'string', default: '10' },
      'interval-ms': { type: 'string', default: '500' },
      json: { type: 'string' },
    },
  }));
} catch (error) {
  usage((error as Error).message);
}
const peers = Number(values.peers);
const seconds = Number(values.seconds);
const intervalMs = Number(values['interval-ms']);
if (!Number.isInteger(peers) || peers < 2 || peers > MAX_SIM_PEERS) usage(`--peers must be an integer from 2 to ${MAX_SIM_PEERS}`);
if (!(seconds >= 1 && seconds <= MAX_SIM_SECONDS)) usage(`--seconds must be from 1 to ${MAX_SIM_SECONDS}`);
if (!(intervalMs >= 500 && intervalMs <= 60_000)) usage('--interval-ms must be from 500 (with echoes, the per-peer rate limit) to 60000');
assertWebSocket();

const result = await runNodeLoad({ peers, seconds, intervalMs });
console.error(`${result.peers} Node peers, ${result.windowS} s: ${describeLoad(result)}`);
console.log(JSON.stringify({ swarmSim: result }));
if (values.json) writeFileSync(values.json, JSON.stringify({ swarmSim: result }, null, 2));
// libp2p and node-datachannel may hold handles a moment longer; the measurement is done
process.exit(0);
