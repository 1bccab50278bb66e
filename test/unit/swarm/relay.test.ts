// The relay in-process: health endpoint with peer counts, a persistent identity, a named error for a bad key file.
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RelayKeyError, startRelay, type RunningRelay } from '../../../relay/relay.ts';
import { discoveryTopic } from '../../../src/swarm/constants.ts';

const running: { stop(): Promise<void> | void }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.stop()));
});

async function relayAt(options: Parameters<typeof startRelay>[0]): Promise<RunningRelay> {
  const relay = await startRelay({ port: 0, ...options });
  running.push(relay);
  return relay;
}

describe('relay', () => {
  it('keeps its peer id across restarts with a key file, and refuses a corrupt one by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabswarm-relay-test-'));
    const keyFile = join(dir, 'relay.key');
    const first = await relayAt({ keyFile, healthPort: null });
    const id = first.node.peerId.toString();
    await first.stop();
    const second = await relayAt({ keyFile, healthPort: null });
    expect(second.node.peerId.toString()).toBe(id);
    const bad = join(dir, 'bad.key');
    writeFileSync(bad, 'not a key');
    await expect(startRelay({ port: 0, keyFile: bad, healthPort: null })).rejects.toThrow(RelayKeyError);
  });

  it('reports its identity and peer counts on /health', async () => {
    const relay = await relayAt({ swarmId: 'own' });
    expect(relay.healthUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/health$/);
    const health = async () => (await (await fetch(relay.healthUrl!)).json()) as Record<string, unknown>;
    expect(await health()).toMatchObject({ ok: true, peerId: relay.node.peerId.toString(), multiaddrs: relay.multiaddrs, peers: 0, connections: 0, swarms: 1 });
    expect(relay.node.services.pubsub.getTopics()).toEqual([discoveryTopic('own')]);
    expect((await fetch(relay.healthUrl!.replace('/health', '/nope'))).status).toBe(404);

    // forwarding another swarm's discovery topic needs a WebSocket client, which Node 20 lacks without a
    // flag: the e2e specs cover it (their swarms differ from the shared relay's own)
  });
});
