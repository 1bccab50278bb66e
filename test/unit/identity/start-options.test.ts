// `npm start` flags: every port movable, bad flags named; and two complete local swarms side by side.
import { describe, expect, it } from 'vitest';
import { parseStartOptions, StartOptionsError } from '../../../scripts/lib/start-options.ts';
import { startLocalSwarm } from '../../../scripts/lib/services.ts';

describe('npm start options', () => {
  it('has a flag for every port, with the documented defaults', () => {
    expect(parseStartOptions([])).toEqual({ appPort: 5173, relayPort: 9090, chainPort: 8545, coordinatorPort: 9091, swarmId: 'local', build: true, chain: true, averageEvery: 10 });
    expect(parseStartOptions(['--port', '19401', '--relay-port', '19402', '--chain-port', '19403', '--coordinator-port', '0', '--swarm', 'second', '--no-build'])).toEqual({
      appPort: 19401, relayPort: 19402, chainPort: 19403, coordinatorPort: 0, swarmId: 'second', build: false, chain: true, averageEvery: 10,
    });
  });

  it('names the bad flag', () => {
    const cases: [string[], RegExp][] = [
      [['--chain-port', '70000'], /--chain-port must be a port/],
      [['--coordinator-port', 'x'], /--coordinator-port must be a port/],
      [['--port=-1'], /--port must be a port/],
      [['--relay-port', '9091'], /--relay-port and --coordinator-port are both 9091/],
      [['--swarm', 'Bad Name'], /--swarm must be/],
      [['--chain-prot', '1'], /Unknown option '--chain-prot'[\s\S]*usage/],
      [['--round-ms', '500'], /--round-ms must be an integer from 1000/],
      [['--round-ms', '3s'], /--round-ms must be an integer from 1000/],
      [['--average-every=-1'], /--average-every must be an integer from 0/],
      [['--average-every', '2.5'], /--average-every must be an integer from 0/],
      [['--average-every', '100001'], /--average-every must be an integer from 0/],
      [['--mode', 'game', '--average-every', '5'], /a game swarm does not average/],
    ];
    for (const [args, message] of cases) {
      expect(() => parseStartOptions(args)).toThrow(StartOptionsError);
      expect(() => parseStartOptions(args)).toThrow(message);
    }
    // Without a chain its ports are unused, so they may clash with nothing.
    expect(parseStartOptions(['--relay-port', '9091', '--no-chain']).relayPort).toBe(9091);
    expect(parseStartOptions(['--round-ms', '5000']).roundMs).toBe(5000);
    expect(parseStartOptions(['--mode', 'game']).mode).toBe('game');
    expect(parseStartOptions(['--mode', 'sapo']).mode).toBeUndefined();
    expect(() => parseStartOptions(['--mode', 'chess'])).toThrow(/--mode must be sapo or game/);
    expect(parseStartOptions(['--average-every', '7']).averageEvery).toBe(7);
    expect(parseStartOptions(['--average-every', '0']).averageEvery).toBeUndefined();
    expect(parseStartOptions(['--average-every', '007']).averageEvery).toBe(7);
    expect(parseStartOptions(['--average-every', '000']).averageEvery).toBeUndefined();
    // a game swarm does not average unless asked (and refuses to be asked, in either order)
    expect(parseStartOptions(['--mode', 'game']).averageEvery).toBeUndefined();
    expect(parseStartOptions(['--mode', 'game', '--average-every', '0']).averageEvery).toBeUndefined();
    expect(() => parseStartOptions(['--average-every', '5', '--mode', 'game'])).toThrow(/a game swarm does not average/);
  });
});

describe('a game swarm', () => {
  it('refuses a round its three stages cannot split, or averaging, before starting anything', async () => {
    await expect(startLocalSwarm({ mode: 'game', roundMs: 10_000, relayPort: 0, appPort: 0, chain: false })).rejects.toThrow(/multiple of 3/);
    await expect(startLocalSwarm({ mode: 'game', averageEveryRounds: 10, relayPort: 0, appPort: 0, chain: false })).rejects.toThrow(/a game swarm does not average/);
  });
});

describe('two local swarms on one machine', () => {
  it('start side by side when every port is moved, each with its own chain and coordinator', async () => {
    const first = await startLocalSwarm({ appPort: 0, relayPort: 0, chainPort: 0, coordinatorPort: 0, swarmId: 'first' });
    try {
      const second = await startLocalSwarm({ appPort: 0, relayPort: 0, chainPort: 0, coordinatorPort: 0, swarmId: 'second', averageEveryRounds: 10 });
      try {
        const ports = [first, second].flatMap((s) => [s.appUrl, s.chain!.config.rpcUrl, s.chain!.config.coordinatorService, s.relay.multiaddrs[0]]).map((u) => /:(\d+)|\/tcp\/(\d+)/.exec(u)!.slice(1).find(Boolean));
        expect(new Set(ports).size).toBe(8);
        const health = await Promise.all([first, second].map(async (s) => (await fetch(`${s.chain!.config.coordinatorService}/health`)).json()));
        expect(health.map((h: { swarmId: string }) => h.swarmId)).toEqual(['first', 'second']);
        expect(await (await fetch(`${second.appUrl}swarm.json`)).json()).toMatchObject({ swarmId: 'second', averageEveryRounds: 10, chain: { rpcUrl: second.chain!.config.rpcUrl } });
        expect(await (await fetch(`${first.appUrl}swarm.json`)).json()).not.toHaveProperty('averageEveryRounds');
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
    }
  }, 90_000);
});
