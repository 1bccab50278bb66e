// `npm run relay -- --port 9090 --host 127.0.0.1 [--key-file relay.key] [--announce /dns4/x/tcp/443/wss]`:
// starts the relay and prints its multiaddr.
// For a public deployment, keep it on 127.0.0.1 and put a TLS terminator (nginx, caddy) in front of it,
// then announce the /dns4/<name>/tcp/443/wss address to browsers (pages served over https may only use wss).
import { parseArgs } from 'node:util';
import { startRelay } from './relay.ts';

let values;
try {
  ({ values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '9090' },
      'health-port': { type: 'string', default: '0' },
      swarm: { type: 'string', default: 'local' },
      'key-file': { type: 'string' },
      announce: { type: 'string', multiple: true },
    },
  }));
} catch (error) {
  console.error(`relay: ${(error as Error).message}`);
  process.exit(2);
}

const port = Number(values.port);
const healthPort = Number(values['health-port']);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(healthPort) || healthPort < 0 || healthPort > 65535) {
  console.error('relay: --port and --health-port must be integers from 0 to 65535');
  process.exit(2);
}

const relay = await startRelay({
  host: values.host,
  port,
  healthPort,
  swarmId: values.swarm,
  keyFile: values['key-file'],
  announce: values.announce,
});
// One JSON line first so parent processes (npm start, tests) can read the addresses.
console.log(JSON.stringify({ relay: { multiaddrs: relay.multiaddrs, health: relay.healthUrl } }));
console.error(`tabswarm relay listening on ${relay.multiaddrs.join(', ')}${relay.healthUrl ? `; health at ${relay.healthUrl}` : ''}`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`relay: ${signal}, shutting down`);
  // a stuck peer must not keep the process alive forever
  const force = setTimeout(() => process.exit(1), 5_000);
  force.unref();
  await relay.stop();
  process.exitCode = 0;
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
