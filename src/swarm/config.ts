// The swarm a tab joins: where the relay is, which chain, which model. `npm start` writes the local
// default to /swarm.json; a URL may carry another one.

export interface SwarmConfig {
  swarmId: string;
  relayAddrs: string[];
  /** True for swarms on loopback / private networks (dev, booth): lets the browser dial ws:// and 127.0.0.1. */
  local: boolean;
}

export class SwarmConfigError extends Error {
  override name = 'SwarmConfigError';
}

export function parseSwarmConfig(value: unknown): SwarmConfig {
  if (typeof value !== 'object' || value === null) throw new SwarmConfigError('swarm config must be an object');
  const v = value as Record<string, unknown>;
  if (typeof v.swarmId !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(v.swarmId)) {
    throw new SwarmConfigError('swarmId must be 1-63 lowercase letters, digits or dashes');
  }
  if (!Array.isArray(v.relayAddrs) || v.relayAddrs.length > 16 || !v.relayAddrs.every((a) => typeof a === 'string' && a.startsWith('/') && a.length < 512)) {
    throw new SwarmConfigError('relayAddrs must be up to 16 multiaddr strings');
  }
  return { swarmId: v.swarmId, relayAddrs: v.relayAddrs as string[], local: v.local === true };
}
