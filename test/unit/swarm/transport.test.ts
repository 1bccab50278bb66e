// The gossip Transport's own logic (splitting, merging, pruning) over a stand-in for the joined swarm; the
// real libp2p path is covered end to end in test/e2e/network*.spec.ts.
import { describe, expect, it } from 'vitest';
import type { RolloutBatch } from '../../../src/rl/transport.ts';
import { MAX_MESSAGE_BYTES } from '../../../src/swarm/constants.ts';
import { decodeMessage, encodeMessage, MessageTooLargeError, type RolloutsMessage, type SwarmMessage } from '../../../src/swarm/messages.ts';
import { demoRollouts } from '../../../src/app/lab/demo-rollouts.ts';
import type { ReceivedMessage, Swarm } from '../../../src/swarm/swarm.ts';
import { splitRollouts, transportOver, TransportError } from '../../../src/swarm/transport.ts';
import { generateTask, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import { PEER_A, PEER_B } from './fixtures.ts';

/** records what would be published and lets the test deliver messages */
function fakeSwarm(peerId = PEER_A) {
  const listeners = new Set<(m: ReceivedMessage) => void>();
  const published: SwarmMessage[] = [];
  let nonce = 0;
  const swarm = {
    peerId,
    config: { swarmId: 'test' },
    boundAccount: () => null,
    onMessage(listener: (m: ReceivedMessage) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async publish(body: Record<string, unknown>) {
      const message = { v: 1, swarmId: 'test', peerId, nonce: nonce++, ts: 0, ...body } as SwarmMessage;
      // what a receiver would decode: the real encoder and decoder, so size limits apply
      const decoded = decodeMessage(encodeMessage(message));
      if (!decoded.ok) throw new Error(decoded.reason);
      published.push(decoded.message);
      return message;
    },
  };
  const deliver = (message: SwarmMessage) => listeners.forEach((l) => l({ message, receivedAt: 0, via: message.peerId }));
  return { swarm: swarm as unknown as Swarm, published, deliver };
}

const bigText = (n: number) => 'y'.repeat(n);

describe('splitRollouts', () => {
  it('keeps small batches in one part and splits big ones under the byte limit', () => {
    const small = demoRollouts('test', 1, PEER_A, 4, 4);
    expect(splitRollouts(small)).toEqual([small]);
    const big = Array.from({ length: 40 }, (_, i) => ({ task: { family: 'basic_arithmetic', seed: i, difficulty: 1 }, completions: Array.from({ length: 8 }, () => ({ text: bigText(8000), reward: 0 })) }));
    const parts = splitRollouts(big);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flat()).toEqual(big);
    for (const [i, part] of parts.entries()) {
      const bytes = encodeMessage({ v: 1, kind: 'rollouts', swarmId: 'test', round: 1, peerId: PEER_A, nonce: 1, ts: 1, rollouts: part, part: i, parts: parts.length, modelCommitment: 'ab'.repeat(32) });
      expect(bytes.byteLength).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    }
  });

  it('refuses a single rollout that cannot fit', () => {
    const huge = [{ task: { family: 'basic_arithmetic', seed: 1, difficulty: 1 }, completions: Array.from({ length: 32 }, () => ({ text: bigText(8192), reward: 0 })) }];
    expect(() => splitRollouts(huge, 64 * 1024)).toThrow(MessageTooLargeError);
  });
});

describe('gossip Transport', () => {
  it('publishes a big batch in parts that a receiver merges back into one batch', async () => {
    const sender = fakeSwarm(PEER_A);
    const receiver = fakeSwarm(PEER_B);
    const tx = transportOver(sender.swarm);
    const rx = transportOver(receiver.swarm);
    const rollouts = Array.from({ length: 30 }, (_, i) => ({ task: { family: 'basic_arithmetic', seed: i, difficulty: 1 }, completions: Array.from({ length: 8 }, () => ({ text: bigText(4000), reward: 0.1 })) }));
    const batch: RolloutBatch = { v: 1, swarmId: 'test', round: 7, peerId: PEER_A, rollouts, modelCommitment: 'cd'.repeat(32) };
    await tx.publishRollouts(batch);
    expect(sender.published.length).toBeGreaterThan(1);
    for (const m of sender.published) receiver.deliver(m);
    // a duplicated part (same part index, new nonce) must not double-count
    receiver.deliver({ ...(sender.published[0] as RolloutsMessage), nonce: 999 });
    expect(rx.receivedRollouts(7)).toEqual([batch]);
    expect(rx.receivedRollouts(6)).toEqual([]);
    rx.prune(8);
    expect(rx.receivedRollouts(7)).toEqual([]);
  });

  it('refuses to publish a batch that is not its own or not this swarm', async () => {
    const tx = transportOver(fakeSwarm(PEER_A).swarm);
    const rollouts = demoRollouts('test', 1, PEER_A);
    await expect(tx.publishRollouts({ v: 1, swarmId: 'test', round: 1, peerId: PEER_B, rollouts })).rejects.toThrow(TransportError);
    await expect(tx.publishRollouts({ v: 1, swarmId: 'other', round: 1, peerId: PEER_A, rollouts })).rejects.toThrow(TransportError);
  });

  it('demo rollouts are real tasks whose claimed rewards re-score identically', () => {
    for (const rollout of demoRollouts('test', 3, PEER_A, 3, 4)) {
      const task = generateTask(rollout.task);
      for (const c of rollout.completions) expect(scoreCompletion(task, c.text).reward).toBe(c.reward);
      expect(rollout.completions.some((c) => c.reward >= 1)).toBe(true);
    }
  });
});
