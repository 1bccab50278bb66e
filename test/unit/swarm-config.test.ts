import { describe, expect, it } from 'vitest';
import { parseSwarmConfig, SwarmConfigError } from '../../src/swarm/config.ts';

describe('parseSwarmConfig', () => {
  it('accepts a well-formed config', () => {
    const config = parseSwarmConfig({ swarmId: 'local', relayAddrs: ['/ip4/127.0.0.1/tcp/9090/ws'], local: true });
    expect(config).toEqual({ swarmId: 'local', relayAddrs: ['/ip4/127.0.0.1/tcp/9090/ws'], local: true });
  });

  it.each([
    [null, 'must be an object'],
    [{ swarmId: 'Bad Id', relayAddrs: [] }, 'swarmId'],
    [{ swarmId: 'ok', relayAddrs: ['not-a-multiaddr'] }, 'relayAddrs'],
    [{ swarmId: 'ok', relayAddrs: Array(17).fill('/ip4/1.2.3.4') }, 'relayAddrs'],
  ])('rejects %j with a named error', (value, message) => {
    expect(() => parseSwarmConfig(value)).toThrow(SwarmConfigError);
    expect(() => parseSwarmConfig(value)).toThrow(message);
  });

  it('treats a missing local flag as a public swarm', () => {
    expect(parseSwarmConfig({ swarmId: 'x', relayAddrs: [] }).local).toBe(false);
  });
});
