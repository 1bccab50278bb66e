// `npm start` flags, parsed and checked in one place: every service's port can be moved (so two swarms can run on
// one machine), and a bad flag is named instead of surfacing as a listen error or a stack trace.
import { parseArgs } from 'node:util';

export class StartOptionsError extends Error {
  override name = 'StartOptionsError';
}

export interface StartOptions {
  appPort: number;
  relayPort: number;
  chainPort: number;
  coordinatorPort: number;
  swarmId: string;
  build: boolean;
  chain: boolean;
  /** round length of the served swarm config; undefined = the default (of the mode) */
  roundMs?: number;
  /** `game`: serve a game swarm (answer → critique → resolve); absent: sapo */
  mode?: 'game';
  /** the served config's averageEveryRounds (sapo only; default DEFAULT_AVERAGE_EVERY); undefined = off */
  averageEvery?: number;
}

/**
 * A sapo swarm served by `npm start` averages every 10 rounds: at 5 seeds × 200 rounds × 4 peers, tabs that
 * share only weights this way beat equal training on cumulative accuracy on both default models (and on
 * held-out accuracy on the one before the rebuild), and tabs averaging with their own earlier weights lost
 * cumulative accuracy (README, "The SAPO experiment, as measured").
 */
export const DEFAULT_AVERAGE_EVERY = 10;

export const START_USAGE = `npm start -- [--port 5173] [--relay-port 9090] [--chain-port 8545] [--coordinator-port 9091]
                 [--swarm local] [--mode sapo|game] [--round-ms 3000] [--average-every K] [--no-chain] [--no-build]
                 (port 0 picks a free port; --average-every 0 turns periodic averaging off)`;

function port(value: string, flag: string): number {
  const n = Number(value);
  if (!/^[0-9]{1,5}$/.test(value) || n > 65535) throw new StartOptionsError(`--${flag} must be a port number from 0 to 65535 (got "${value}")`);
  return n;
}

export function parseStartOptions(args: string[]): StartOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: 'string', default: '5173' },
        'relay-port': { type: 'string', default: '9090' },
        'chain-port': { type: 'string', default: '8545' },
        'coordinator-port': { type: 'string', default: '9091' },
        swarm: { type: 'string', default: 'local' },
        'no-build': { type: 'boolean', default: false },
        'no-chain': { type: 'boolean', default: false },
        'round-ms': { type: 'string' },
        'average-every': { type: 'string' },
        mode: { type: 'string', default: 'sapo' },
      },
    }));
  } catch (error) {
    throw new StartOptionsError(`${(error as Error).message}\nusage: ${START_USAGE}`);
  }
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(values.swarm)) throw new StartOptionsError('--swarm must be 1-63 lowercase letters, digits or dashes');
  const options: StartOptions = {
    appPort: port(values.port, 'port'),
    relayPort: port(values['relay-port'], 'relay-port'),
    chainPort: port(values['chain-port'], 'chain-port'),
    coordinatorPort: port(values['coordinator-port'], 'coordinator-port'),
    swarmId: values.swarm,
    build: !values['no-build'],
    chain: !values['no-chain'],
  };
  if (values.mode !== 'sapo' && values.mode !== 'game') throw new StartOptionsError(`--mode must be sapo or game (got "${values.mode}")`);
  if (values.mode === 'game') options.mode = 'game';
  if (values['round-ms'] !== undefined) {
    const ms = Number(values['round-ms']);
    if (!/^[0-9]{1,7}$/.test(values['round-ms']) || ms < 1_000 || ms > 3_600_000) throw new StartOptionsError(`--round-ms must be an integer from 1000 to 3600000 (got "${values['round-ms']}")`);
    options.roundMs = ms;
  }
  const every = values['average-every'];
  if (every === undefined) {
    if (options.mode !== 'game') options.averageEvery = DEFAULT_AVERAGE_EVERY;
  } else {
    if (!/^[0-9]{1,6}$/.test(every) || Number(every) > 100_000) throw new StartOptionsError(`--average-every must be an integer from 0 (off) to 100000 rounds (got "${every}")`);
    if (Number(every) > 0 && options.mode === 'game') throw new StartOptionsError('--average-every is for sapo swarms; a game swarm does not average');
    if (Number(every) > 0) options.averageEvery = Number(every);
  }
  const named = [
    ['port', options.appPort],
    ['relay-port', options.relayPort],
    ...(options.chain ? [['chain-port', options.chainPort], ['coordinator-port', options.coordinatorPort]] : []),
  ] as [string, number][];
  for (let i = 0; i < named.length; i++) {
    for (let j = 0; j < i; j++) {
      if (named[i][1] !== 0 && named[i][1] === named[j][1]) throw new StartOptionsError(`--${named[j][0]} and --${named[i][0]} are both ${named[i][1]}`);
    }
  }
  return options;
}
