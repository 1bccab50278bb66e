import { describe, expect, it } from 'vitest';
import { ChainConfigError, parseChainConfig, swarmChain } from '../../../src/identity/chain.ts';

const good = { chainId: 84532, rpcUrl: 'https://rpc.example.org', coordinator: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };

describe('chain config', () => {
  it('accepts any EVM chain by configuration, with an optional coordinator service', () => {
    expect(parseChainConfig(good)).toEqual(good);
    expect(parseChainConfig({ ...good, rpcUrl: 'wss://rpc.example.org/ws', coordinatorService: 'https://coord.example.org/' })).toEqual({
      ...good, rpcUrl: 'wss://rpc.example.org/ws', coordinatorService: 'https://coord.example.org',
    });
    expect(swarmChain(good)).toMatchObject({ id: 84532, rpcUrls: { default: { http: ['https://rpc.example.org'] } } });
  });

  it('names the bad field', () => {
    const cases: [unknown, RegExp][] = [
      [null, /object/],
      [{ ...good, chainId: 0 }, /chainId/],
      [{ ...good, chainId: '1' }, /chainId/],
      [{ ...good, rpcUrl: 'file:///etc/passwd' }, /rpcUrl/],
      [{ ...good, coordinator: '0x1234' }, /coordinator must/],
      [{ ...good, coordinatorService: 'javascript:alert(1)' }, /coordinatorService/],
    ];
    for (const [value, message] of cases) {
      expect(() => parseChainConfig(value)).toThrow(ChainConfigError);
      expect(() => parseChainConfig(value)).toThrow(message);
    }
  });
});
