// `npm start`: build the app, start the local relay, the local chain (anvil + coordinator contract +
// coordinator service) and serve the app, all on 127.0.0.1.
// Every port has a flag (see start-options.ts), so two swarms can run side by side on one machine.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLocalSwarm } from './lib/services.ts';
import { parseStartOptions, StartOptionsError } from './lib/start-options.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
let options;
try {
  options = parseStartOptions(process.argv.slice(2));
} catch (error) {
  if (!(error instanceof StartOptionsError)) throw error;
  console.error(`npm start: ${error.message}`);
  process.exit(2);
}

if (options.build) {
  console.log('building the app…');
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { cwd: repo, stdio: 'inherit' });
}

const swarm = await startLocalSwarm({
  appPort: options.appPort,
  relayPort: options.relayPort,
  chainPort: options.chainPort,
  coordinatorPort: options.coordinatorPort,
  swarmId: options.swarmId,
  chain: options.chain,
  // the coordinator follows the swarm and puts only rewards it re-scored itself on chain (issue 13)
  verifiedRewards: true,
  ...(options.roundMs ? { roundMs: options.roundMs } : {}),
  ...(options.mode ? { mode: options.mode } : {}),
  // undefined (--average-every 0, or a game swarm) is off: startLocalSwarm leaves it out of the served config
  averageEveryRounds: options.averageEvery,
});
console.log(`\n  tabswarm is running (local swarm "${swarm.swarmConfig.swarmId}")\n`);
console.log(`  relay   ${swarm.relay.multiaddrs.join(' ')}`);
const chain = swarm.swarmConfig.chain;
if (chain) {
  console.log(`  chain   ${chain.rpcUrl} (chain id ${chain.chainId}), coordinator ${chain.coordinator}`);
  if (chain.coordinatorService) console.log(`  coordinator service ${chain.coordinatorService}${swarm.swarmConfig.mode === 'game' ? '' : ' (rewards re-scored from gossip; GET /refusals)'}`);
} else {
  console.log('  chain   none (--no-chain): tabs run unregistered');
}
console.log(`  rounds  ${swarm.swarmConfig.roundMs} ms${swarm.swarmConfig.mode === 'game' ? ' (game: answer, critique, resolve a third each)' : ''}` +
  (swarm.swarmConfig.averageEveryRounds ? `; every ${swarm.swarmConfig.averageEveryRounds} rounds a tab averages its weights with one random peer's (--average-every 0: off)` : ''));
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
