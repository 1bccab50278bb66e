// Protocol ids and topic names in one place.

export const PROTOCOL_VERSION = 1;

/** Gossipsub topic carrying peer discovery announcements for one swarm. */
export function discoveryTopic(swarmId: string): string {
  return `tabswarm/${swarmId}/discovery/1`;
}

/** Gossipsub topic carrying rollouts, bindings and heartbeats for one swarm. */
export function swarmTopic(swarmId: string): string {
  return `tabswarm/${swarmId}/rounds/1`;
}

/** Relayed connections only carry signalling; 1 MiB and 10 minutes is ample for WebRTC SDP exchange. */
export const RELAY_DATA_LIMIT = 1n << 20n;
export const RELAY_DURATION_LIMIT_MS = 10 * 60_000;
