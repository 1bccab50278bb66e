// `npm run -s tsnode -- relay/coordinator.ts --rpc http://127.0.0.1:8545 --contract 0x… --swarm local [--port 9091]`
// with the stage manager's key in TABSWARM_COORDINATOR_KEY (never on the command line, where `ps` shows it).
// Runs the coordinator service against any EVM chain; `npm start` runs the same service in-process instead.
// With `--follow <swarm.json | JSON>` it joins that swarm's gossip and runs in verified mode: the chain's stages
// follow the swarm clock (`--rounds-per-stage`, default 1) and only rewards it re-scored itself go on chain.
import { parseArgs } from 'node:util';
import { isAddress, isHex, type Address, type Hex } from 'viem';
import { readFileSync } from 'node:fs';
import { startCoordinatorService, type CoordinatorService } from './coordinator/service.ts';
import { parseSwarmConfig, type SwarmConfig } from '../src/swarm/config.ts';

let values;
try {
  ({ values } = parseArgs({
    options: {
      rpc: { type: 'string' },
      contract: { type: 'string' },
      swarm: { type: 'string', default: 'local' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '9091' },
      'stage-seconds': { type: 'string', default: '20' },
      follow: { type: 'string' },
      'rounds-per-stage': { type: 'string', default: '1' },
    },
  }));
} catch (error) {
  console.error(`coordinator: ${(error as Error).message}`);
  process.exit(2);
}
const key = process.env.TABSWARM_COORDINATOR_KEY;
const port = Number(values.port);
const stageSeconds = Number(values['stage-seconds']);
const roundsPerStage = Number(values['rounds-per-stage']);
let follow: SwarmConfig | null = null;
try {
  if (values.follow) follow = parseSwarmConfig(JSON.parse(values.follow.trim().startsWith('{') ? values.follow : readFileSync(values.follow, 'utf8')));
} catch (error) {
  console.error(`coordinator: --follow must be a swarm config (a file or JSON): ${(error as Error).message}`);
  process.exit(2);
}
const problems = [
  !values.rpc || !/^https?:\/\//.test(values.rpc) ? '--rpc must be an http(s) URL' : '',
  !values.contract || !isAddress(values.contract) ? '--contract must be the coordinator address' : '',
  !key || !isHex(key) || key.length !== 66 ? 'TABSWARM_COORDINATOR_KEY must hold the stage manager private key (0x + 64 hex)' : '',
  !Number.isInteger(port) || port < 0 || port > 65535 ? '--port must be 0-65535' : '',
  !(stageSeconds >= 0) ? '--stage-seconds must be a non-negative number' : '',
  !Number.isInteger(roundsPerStage) || roundsPerStage < 1 ? '--rounds-per-stage must be a positive integer' : '',
  follow && follow.swarmId !== values.swarm ? `--follow names swarm ${follow.swarmId}, --swarm ${values.swarm}` : '',
].filter(Boolean);
if (problems.length) {
  console.error(`coordinator: ${problems.join('; ')}`);
  process.exit(2);
}

let chainId: number;
try {
  const res = await fetch(values.rpc!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) });
  chainId = Number(((await res.json()) as { result: string }).result);
  if (!Number.isSafeInteger(chainId) || chainId <= 0) throw new Error('no chain id in the answer');
} catch (error) {
  console.error(`coordinator: cannot read the chain id from ${values.rpc}: ${(error as Error).message}`);
  process.exit(1);
}
const common = { rpcUrl: values.rpc!, chainId, coordinator: values.contract as Address, privateKey: key as Hex, swarmId: values.swarm, host: values.host, port };
let service: CoordinatorService;
let stopFollowing: () => Promise<void> = async () => undefined;
let follower: string | undefined;
if (follow) {
  const { followSwarm } = await import('./coordinator/follower.ts');
  const { startVerifiedCoordinatorService } = await import('./coordinator/verified-service.ts');
  const seat = await followSwarm(follow);
  stopFollowing = seat.stop;
  follower = seat.peerId;
  try {
    service = await startVerifiedCoordinatorService({ ...common, source: seat.source, shape: seat.shape, roundsPerStage });
  } catch (error) {
    await seat.stop();
    throw error;
  }
} else {
  service = await startCoordinatorService({ ...common, stageMs: stageSeconds * 1000 });
}
console.log(JSON.stringify({ coordinator: { url: service.url, relayer: service.relayer, ...(follower ? { follower } : {}) } }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.stop().then(stopFollowing).then(() => (process.exitCode = 0)));
