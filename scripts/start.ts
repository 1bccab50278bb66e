// `npm start`: build the app, start the local relay, the local chain (anvil + coordinator contract +
// coordinator service) and serve the app, all on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startLocalSwarm } from './lib/services.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '5173' },
    'relay-port': { type: 'string', default: '9090' },
    'no-build': { type: 'boolean', default: false },
    'no-chain': { type: 'boolean', default: false },
    'round-ms': { type: 'string' },
  },
});

if (!values['no-build']) {
  console.log('building the app…');
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { cwd: repo, stdio: 'inherit' });
}

const swarm = await startLocalSwarm({
  appPort: Number(values.port),
  relayPort: Number(values['relay-port']),
  chain: !values['no-chain'],
  ...(values['round-ms'] ? { roundMs: Number(values['round-ms']) } : {}),
});
console.log(`\n  tabswarm is running (local swarm "${swarm.swarmConfig.swarmId}")\n`);
console.log(`  relay   ${swarm.relay.multiaddrs.join(' ')}`);
const chain = swarm.swarmConfig.chain;
if (chain) {
  console.log(`  chain   ${chain.rpcUrl} (chain id ${chain.chainId}), coordinator ${chain.coordinator}`);
  if (chain.coordinatorService) console.log(`  coordinator service ${chain.coordinatorService}`);
} else {
  console.log('  chain   none (--no-chain): tabs run unregistered');
}
console.log(`  rounds  ${swarm.swarmConfig.roundMs} ms`);
console.log(`  open    ${swarm.appUrl}\n`);
console.log('  Ctrl-C stops everything.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void swarm.stop().then(() => process.exit(0));
  });
}
