// `npm run relay -- --port 9090 --host 127.0.0.1`: starts the relay and prints its multiaddr.
// For a public deployment, keep it on 127.0.0.1 and put a TLS terminator (nginx, caddy) in front of it,
// then announce the /dns4/<name>/tcp/443/wss address to browsers.
import { parseArgs } from 'node:util';
import { startRelay } from './relay.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '9090' },
    'health-port': { type: 'string', default: '0' },
    swarm: { type: 'string', default: 'local' },
  },
});

const relay = await startRelay({
  host: values.host,
  port: Number(values.port),
  healthPort: Number(values['health-port']),
  swarmId: values.swarm,
});
// One JSON line first so parent processes (npm start, tests) can read the addresses.
console.log(JSON.stringify({ relay: { multiaddrs: relay.multiaddrs, health: relay.healthUrl } }));
console.error(`tabswarm relay listening on ${relay.multiaddrs.join(', ')}`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`relay: ${signal}, shutting down`);
  await relay.stop();
  process.exitCode = 0;
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
