// `npm run -s tsnode -- relay/coordinator.ts --rpc http://127.0.0.1:8545 --contract 0x… --swarm local [--port 9091]`
// with the stage manager's key in TABSWARM_COORDINATOR_KEY (never on the command line, where `ps` shows it).
// Runs the coordinator service against any EVM chain; `npm start` runs the same service in-process instead.
import { parseArgs } from 'node:util';
import { isAddress, isHex, type Address, type Hex } from 'viem';
import { startCoordinatorService } from './coordinator/service.ts';

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
    },
  }));
} catch (error) {
  console.error(`coordinator: ${(error as Error).message}`);
  process.exit(2);
}
const key = process.env.TABSWARM_COORDINATOR_KEY;
const port = Number(values.port);
const stageSeconds = Number(values['stage-seconds']);
const problems = [
  !values.rpc || !/^https?:\/\//.test(values.rpc) ? '--rpc must be an http(s) URL' : '',
  !values.contract || !isAddress(values.contract) ? '--contract must be the coordinator address' : '',
  !key || !isHex(key) || key.length !== 66 ? 'TABSWARM_COORDINATOR_KEY must hold the stage manager private key (0x + 64 hex)' : '',
  !Number.isInteger(port) || port < 0 || port > 65535 ? '--port must be 0-65535' : '',
  !(stageSeconds >= 0) ? '--stage-seconds must be a non-negative number' : '',
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
const service = await startCoordinatorService({
  rpcUrl: values.rpc!,
  chainId,
  coordinator: values.contract as Address,
  privateKey: key as Hex,
  swarmId: values.swarm,
  host: values.host,
  port,
  stageMs: stageSeconds * 1000,
});
console.log(JSON.stringify({ coordinator: { url: service.url, relayer: service.relayer } }));

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void service.stop().then(() => (process.exitCode = 0)));
