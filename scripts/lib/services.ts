// Everything a local swarm needs, started together: the relay, the local chain with the coordinator
// contract and service, and the app's static server.
// `npm start` and the end-to-end tests both start their services through this module.
import { fileURLToPath } from 'node:url';
import { startRelayProcess, type RelayProcess } from './relay-process.ts';
import { serveStatic, type StaticServer } from './static-server.ts';
import { startLocalChainServices, type LocalChainServices } from './chain.ts';
import { DEFAULT_GAME_ROUND_MS, DEFAULT_ROUND_MS, gameStageMs, parseSwarmConfig } from '../../src/swarm/config.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface LocalSwarm {
  appUrl: string;
  relay: RelayProcess;
  swarmConfig: { swarmId: string; mode?: 'game'; relayAddrs: string[]; local: boolean; roundMs: number; genesisMs: number; averageEveryRounds?: number; chain?: LocalChainServices['config'] };
  /** anvil + coordinator contract + coordinator service; null when started with `chain: false` */
  chain: LocalChainServices | null;
  stop(): Promise<void>;
}

export interface LocalSwarmOptions {
  appPort?: number;
  relayPort?: number;
  swarmId?: string;
  /** false: no local chain (the tab runs unregistered). Ports: 0 picks a free one. */
  chain?: boolean;
  chainPort?: number;
  coordinatorPort?: number;
  /** the served swarm config's round length (default DEFAULT_ROUND_MS) */
  roundMs?: number;
  /** `game`: the served swarm plays answer → critique → resolve (rounds default to DEFAULT_GAME_ROUND_MS) */
  mode?: 'game';
  /** periodic averaging with one random peer every this many rounds (the config's averageEveryRounds; sapo only); absent or 0: off */
  averageEveryRounds?: number;
  /** the built app to serve (default dist/) */
  distDir?: string;
  /**
   * The coordinator service follows the swarm's gossip and puts on chain only rewards it re-scored itself
   * (sapo swarms; needs a global WebSocket, as `npm start` has). Default false: reports are taken as signed.
   */
  verifiedRewards?: boolean;
}

export async function startLocalSwarm(options: LocalSwarmOptions = {}): Promise<LocalSwarm> {
  const swarmId = options.swarmId ?? 'local';
  const roundMs = options.roundMs ?? (options.mode === 'game' ? DEFAULT_GAME_ROUND_MS : DEFAULT_ROUND_MS);
  // the served config must be one a tab accepts (a game round's stages are whole milliseconds): checked
  // before anything starts, so a bad flag leaves no process behind
  const averaging = options.averageEveryRounds ? { averageEveryRounds: options.averageEveryRounds } : {};
  parseSwarmConfig({ swarmId, relayAddrs: [], roundMs, ...(options.mode ? { mode: options.mode } : {}), ...averaging });
  const relay = await startRelayProcess({ port: options.relayPort ?? 9090, swarmId });
  // Round 0 starts now (whole seconds), so a fresh local swarm counts rounds from zero.
  const genesisMs = Math.floor(Date.now() / 1000) * 1000;
  const gossip = { swarmId, ...(options.mode ? { mode: options.mode } : {}), relayAddrs: relay.multiaddrs, local: true, roundMs, genesisMs, ...averaging };
  let chain: LocalChainServices | null = null;
  try {
    const follow = options.verifiedRewards && options.mode !== 'game' ? { follow: parseSwarmConfig(gossip) } : {};
    // a game swarm's tabs follow the coordinator's counter (src/app/lib/game-pace.ts): one tick a game stage,
    // as long as the clock's, so the game plays at the same speed with the chain as without
    const stages = options.mode === 'game' ? { stageMs: gameStageMs({ roundMs }) } : {};
    if (options.chain !== false) chain = await startLocalChainServices({ swarmId, chainPort: options.chainPort, coordinatorPort: options.coordinatorPort, ...follow, ...stages });
  } catch (error) {
    await relay.stop();
    throw error;
  }
  const swarmConfig = { ...gossip, ...(chain ? { chain: chain.config } : {}) };
  let app: StaticServer;
  try {
    app = await serveStatic(options.distDir ?? `${repo}dist`, { port: options.appPort ?? 5173, swarmConfig });
  } catch (error) {
    await chain?.stop();
    await relay.stop();
    throw error;
  }
  return {
    appUrl: app.url,
    relay,
    swarmConfig,
    chain,
    async stop() {
      await app.close();
      await chain?.stop();
      await relay.stop();
    },
  };
}
