import { describe, expect, it } from 'vitest';
import { decodeSwarmConfigParam, encodeSwarmConfigParam, parseSwarmConfig, SwarmConfigError, DEFAULT_ROUND_MS, DEFAULT_GAME_ROUND_MS, DEFAULT_GAME_MODEL_ID, gameStageMs } from '../../../src/swarm/config.ts';

const minimal = { swarmId: 'local', relayAddrs: ['/ip4/127.0.0.1/tcp/9090/ws'], local: true };

describe('parseSwarmConfig', () => {
  it('accepts a minimal config and fills defaults', () => {
    const config = parseSwarmConfig(minimal);
    expect(config).toMatchObject(minimal);
    expect(config.roundMs).toBe(DEFAULT_ROUND_MS);
    expect(config.genesisMs).toBe(0);
    expect(config.taskMix).toEqual({});
    expect(config.chain).toBeUndefined();
  });

  it('keeps a full config with a chain', () => {
    const full = {
      ...minimal,
      roundMs: 5000,
      genesisMs: 1_700_000_000_000,
      taskMix: { arithmetic: 2, 'word-sort': 1 },
      modelId: 'tabswarm-tiny',
      lab: false,
      preferBound: true,
      chain: { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', coordinator: '0x5FbDB2315678afecb367f032d93F642f64180aa3', coordinatorService: 'http://127.0.0.1:9091' },
    };
    expect(parseSwarmConfig(full)).toEqual(full);
    expect(parseSwarmConfig({ ...full, chain: { ...full.chain, coordinatorService: 'http://x/' } }).chain?.coordinatorService).toBe('http://x');
  });

  it.each([
    [null, 'must be an object'],
    [{ swarmId: 'Bad Id', relayAddrs: [] }, 'swarmId'],
    [{ swarmId: 'ok', relayAddrs: ['not-a-multiaddr'] }, 'relayAddrs'],
    [{ swarmId: 'ok', relayAddrs: Array(17).fill('/ip4/1.2.3.4') }, 'relayAddrs'],
    [{ ...minimal, roundMs: 10 }, 'roundMs'],
    [{ ...minimal, roundMs: 1.5e3 + 0.5 }, 'roundMs'],
    [{ ...minimal, genesisMs: -1 }, 'genesisMs'],
    [{ ...minimal, taskMix: { Arith: 1 } }, 'taskMix family'],
    [{ ...minimal, taskMix: { arith: 0 } }, 'taskMix weight'],
    [{ ...minimal, taskMix: [1] }, 'taskMix'],
    [{ ...minimal, modelId: '../etc/passwd' }, 'modelId'],
    [{ ...minimal, chain: { chainId: 0, rpcUrl: 'http://x', coordinator: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } }, 'chain.chainId'],
    [{ ...minimal, chain: { chainId: 1, rpcUrl: 'javascript:alert(1)', coordinator: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } }, 'chain.rpcUrl'],
    [{ ...minimal, chain: { chainId: 1, rpcUrl: 'http://x', coordinator: '0x1234' } }, 'chain.coordinator'],
    [{ ...minimal, chain: { chainId: 1, rpcUrl: 'http://x', coordinator: '0x5FbDB2315678afecb367f032d93F642f64180aa3', coordinatorService: 'ftp://x' } }, 'chain.coordinatorService'],
  ])('rejects %j with a named error', (value, message) => {
    expect(() => parseSwarmConfig(value)).toThrow(SwarmConfigError);
    expect(() => parseSwarmConfig(value)).toThrow(message);
  });

  it('has two modes: sapo by default, game with whole-millisecond stages', () => {
    expect(parseSwarmConfig(minimal).mode).toBeUndefined();
    expect(parseSwarmConfig({ ...minimal, mode: 'sapo' }).mode).toBe('sapo');
    const game = parseSwarmConfig({ ...minimal, mode: 'game', roundMs: 15_000 });
    expect(game.mode).toBe('game');
    // a game swarm plays the model taught the game's formats unless its config names another
    expect(game.modelId).toBe(DEFAULT_GAME_MODEL_ID);
    expect(parseSwarmConfig(minimal).modelId).toBe('tabswarm-tiny');
    expect(parseSwarmConfig({ ...minimal, mode: 'game', roundMs: 15_000, modelId: 'tabswarm-tiny' }).modelId).toBe('tabswarm-tiny');
    expect(gameStageMs(game)).toBe(5_000);
    expect(() => parseSwarmConfig({ ...minimal, mode: 'chess' })).toThrow(/mode must be "sapo" or "game"/);
    expect(() => parseSwarmConfig({ ...minimal, mode: 'game', roundMs: 10_000 })).toThrow(/multiple of 3/);
    // periodic averaging is a sapo lever: a game config that asks for it is refused, not half-applied
    expect(() => parseSwarmConfig({ ...minimal, mode: 'game', roundMs: 15_000, averageEveryRounds: 10 })).toThrow(/a game swarm does not average/);
    expect(parseSwarmConfig({ ...minimal, mode: 'game', roundMs: 15_000, averageEveryRounds: 0 }).averageEveryRounds).toBeUndefined();
    expect(parseSwarmConfig({ ...minimal, averageEveryRounds: 10 }).averageEveryRounds).toBe(10);
    expect(() => parseSwarmConfig({ ...minimal, mode: 'game', roundMs: 1_500 })).toThrow(SwarmConfigError);
    expect(parseSwarmConfig({ ...minimal, mode: 'game', roundMs: DEFAULT_GAME_ROUND_MS }).roundMs).toBe(15_000);
  });

  it('treats a missing local flag as a public swarm', () => {
    expect(parseSwarmConfig({ swarmId: 'x', relayAddrs: [] }).local).toBe(false);
  });
});

describe('swarm config in a URL', () => {
  it('round-trips through the ?swarm= parameter, URL-safe', () => {
    const config = parseSwarmConfig({ ...minimal, roundMs: 4000, taskMix: { arith: 1 }, chain: { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', coordinator: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } });
    const param = encodeSwarmConfigParam(config);
    expect(param).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(new URL(`http://x/?swarm=${param}`).searchParams.get('swarm')).toBe(param);
    expect(decodeSwarmConfigParam(param)).toEqual(config);
  });

  it('decodes the way the app shell does (atob after base64url -> base64)', () => {
    const param = encodeSwarmConfigParam(parseSwarmConfig(minimal));
    const viaShell = JSON.parse(atob(param.replace(/-/g, '+').replace(/_/g, '/')));
    expect(parseSwarmConfig(viaShell)).toEqual(parseSwarmConfig(minimal));
  });

  it.each(['%%%', 'bm90IGpzb24', btoa('{"swarmId":"x"}'), 'x'.repeat(20_000)])('refuses a malformed parameter %#', (param) => {
    expect(() => decodeSwarmConfigParam(param)).toThrow(SwarmConfigError);
  });
});
