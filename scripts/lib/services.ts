// Everything a local swarm needs, started together: the relay and the app's static server.
// `npm start` and the end-to-end tests both start their services through this module.
import { fileURLToPath } from 'node:url';
import { startRelayProcess, type RelayProcess } from './relay-process.ts';
import { serveStatic, type StaticServer } from './static-server.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface LocalSwarm {
  appUrl: string;
  relay: RelayProcess;
  swarmConfig: { swarmId: string; relayAddrs: string[]; local: boolean };
  stop(): Promise<void>;
}

export interface LocalSwarmOptions {
  appPort?: number;
  relayPort?: number;
  swarmId?: string;
}

export async function startLocalSwarm(options: LocalSwarmOptions = {}): Promise<LocalSwarm> {
  const swarmId = options.swarmId ?? 'local';
  const relay = await startRelayProcess({ port: options.relayPort ?? 9090, swarmId });
  const swarmConfig = { swarmId, relayAddrs: relay.multiaddrs, local: true };
  let app: StaticServer;
  try {
    app = await serveStatic(`${repo}dist`, { port: options.appPort ?? 5173, swarmConfig });
  } catch (error) {
    await relay.stop();
    throw error;
  }
  return {
    appUrl: app.url,
    relay,
    swarmConfig,
    async stop() {
      await app.close();
      await relay.stop();
    },
  };
}
