// Builds the app if needed and starts the local swarm (relay process + static server) for all specs.
import '../../src/node-polyfills.ts';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startLocalSwarm } from '../../scripts/lib/services.ts';
import { E2E_APP_PORT, E2E_RELAY_PORT } from './playwright.config.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

export default async function globalSetup(): Promise<() => Promise<void>> {
  if (process.env.TABSWARM_SKIP_BUILD !== '1' || !existsSync(`${repo}dist/index.html`)) {
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { cwd: repo, stdio: 'inherit' });
  }
  // Chain and coordinator service on free ports, so a running `npm start` does not collide with the tests.
  const swarm = await startLocalSwarm({ appPort: E2E_APP_PORT, relayPort: E2E_RELAY_PORT, swarmId: 'e2e', chainPort: 0, coordinatorPort: 0 });
  process.env.TABSWARM_E2E_RELAY = JSON.stringify(swarm.relay.multiaddrs);
  process.env.TABSWARM_E2E_CHAIN = JSON.stringify(swarm.chain?.config ?? null);
  return () => swarm.stop();
}
