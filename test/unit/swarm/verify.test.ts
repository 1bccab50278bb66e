// Spot checks between real libp2p nodes in Node (websockets on 127.0.0.1, noise, yamux): an honest author's
// batch is challenged, answered, its named weights fetched by hash (after its weights moved on) and checked
// by the worker's verify service; a model-free author publishing answer keys under the same weights fails on
// the seeded sampler, a peer that serves no challenges fails as unanswered, two failures exclude it, and the
// protocol's bounds refuse malformed and oversized traffic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLibp2p, type Libp2p } from 'libp2p';
import { webSockets } from '@libp2p/websockets';
import { noise } from '@libp2p/noise';
import { yamux } from '@libp2p/yamux';
import { createCpuEngine, initWeights, tinyConfig } from '../../../src/engine/index.ts';
import { memoryFolder, saveHfModel } from '../../../src/engine/hf.ts';
import { unpackWeights } from '../../../src/engine/layout.ts';
import { InMemoryBus } from '../../../src/rl/bus.ts';
import { defaultRunnerConfig, RoundRunner } from '../../../src/rl/runner.ts';
import type { RolloutBatch } from '../../../src/rl/transport.ts';
import { answerKeyRows } from '../../../src/rl/verify/adversary.ts';
import { CommitmentKeeper } from '../../../src/rl/verify/keeper.ts';
import { checkEvidenceSignature, sha256, toHex, weightsHash } from '../../../src/rl/verify/index.ts';
import { SpotChecker } from '../../../src/swarm/verifier.ts';
import { ChallengeRefusedError, ChallengeRejectedError, maxResponseBytes, sendChallenge, serveChallenges } from '../../../src/swarm/verify.ts';
import { modelFamily, serveWeights, sha256Hex } from '../../../src/swarm/weights.ts';
import { VerifyService } from '../../../src/worker/verify.ts';
import { charTokenizer } from '../rl/fakes.ts';

const config = tinyConfig({ vocab_size: 128, max_position_embeddings: 256 });
const FAMILY = modelFamily(config);
const configBytes = new TextEncoder().encode(JSON.stringify(config));

async function node(listen: boolean): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0/ws'] : [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  });
}

async function safetensors(flat: Float32Array): Promise<Uint8Array> {
  const folder = memoryFolder();
  await saveHfModel(folder, config, unpackWeights(config, flat));
  return folder.files.get('model.safetensors')!;
}

/** a peer that serves challenges from `keeper` and the weights it keeps, like an app tab does */
async function serveFrom(n: Libp2p, keeper: CommitmentKeeper): Promise<void> {
  await serveChallenges(n, { answer: async (c) => keeper.answer(c) });
  const version = async (hash: string) => {
    const flat = keeper.weightsFor(hash);
    if (!flat) return null;
    const bytes = await safetensors(flat);
    return { bytes, hash: await sha256Hex(bytes), params: hash };
  };
  await serveWeights(n, { family: FAMILY, current: async () => (keeper.latestHash ? version(keeper.latestHash) : null), byHash: version });
}

let honest: Libp2p, rogue: Libp2p, silent: Libp2p, verifier: Libp2p;
const weights = initWeights(config, 5, 0.3);
const service = new VerifyService({ config, configBytes, tokenizer: charTokenizer, keeper: () => new CommitmentKeeper(), safetensorsOf: safetensors });

beforeAll(async () => {
  if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function') {
    const ws = (await import('ws' as string)) as { WebSocket: unknown };
    (globalThis as { WebSocket?: unknown }).WebSocket = ws.WebSocket;
  }
  [honest, rogue, silent, verifier] = await Promise.all([node(true), node(true), node(true), node(false)]);
  for (const n of [honest, rogue, silent]) await verifier.dial(n.getMultiaddrs()[0]);
});

afterAll(async () => {
  service.dispose();
  await Promise.all([honest, rogue, silent, verifier].map((n) => n?.stop()));
});

function checker(batches: Map<string, RolloutBatch>, outcomes: { ok: boolean; reasons: string[]; excluded: boolean }[]) {
  return new SpotChecker({
    node: verifier,
    family: () => FAMILY,
    maxWeightBytes: () => 4 * weights.length * 4,
    batchOf: (peer, round) => batches.get(`${peer}@${round}`) ?? null,
    check: async (batch, challenge, response, w) => {
      const reply = await service.handle({ op: 'check', batch, challenge, response, weights: new Uint8Array(w!.bytes).buffer });
      if (reply.op !== 'check') throw new Error('unexpected reply');
      return reply.verdict;
    },
    onOutcome: (o, r) => outcomes.push({ ok: o.ok, reasons: o.reasons, excluded: r.excluded }),
    sign: async (bytes) => toHex(await sha256(bytes)),
    challenger: verifier.peerId.toString(),
    rate: 1,
    // generous: a loaded CI machine took over 3 s for the weights and the timeout is excused as "not checked"
    timeoutMs: 20_000,
  });
}

const runnerConfig = defaultRunnerConfig({ swarmId: 's', questions: 2, completions: 4, localGroups: 2, sampling: { temperature: 1, topP: 1, topK: 0, maxNewTokens: 10 } });

describe('spot checks over /tabswarm/verify/2', () => {
  it('verifies an honest batch after the author\'s weights moved on; fails model-free answer keys and silence', async () => {
    const bus = new InMemoryBus();
    const listener = bus.connect('listener');
    const author = new RoundRunner(createCpuEngine(config, weights), charTokenizer, bus.connect(honest.peerId.toString()), runnerConfig);
    await serveFrom(honest, author.keeper);
    await author.sampleRound(3);
    // the author trains on (new weights) before the challenge arrives: the keeper still holds round 3's
    author.replaceEngine(createCpuEngine(config, initWeights(config, 8, 0.3))).dispose();
    await author.sampleRound(4);
    const batches = new Map<string, RolloutBatch>();
    const outcomes: { ok: boolean; reasons: string[]; excluded: boolean }[] = [];
    const spot = checker(batches, outcomes);
    const [good] = listener.receivedRollouts(3);
    batches.set(`${good.peerId}@3`, good);
    const outcome = await spot.offer(good)!;
    expect(outcome.reasons, JSON.stringify(outcome.reasons)).toEqual([]);
    expect(outcome.ok).toBe(true);
    expect(outcome.checkedTokens).toBeGreaterThan(8);
    expect(spot.ledger.batch(good.peerId, 3)).toBe('verified');
    expect(await checkEvidenceSignature(outcome.evidence!, async (b, sig) => toHex(await sha256(b)) === sig)).toBe(true);
    // one decision per batch: a repeated part starts nothing
    expect(spot.offer(good)).toBeNull();

    // model-free: the answer key of each of its own tasks, committed under the honest weights' hash (public)
    const rogueId = rogue.peerId.toString();
    const refs = good.rollouts.map((r) => r.task); // any re-derivable refs do: only the sampler gives it away
    const rows = answerKeyRows(charTokenizer, refs, 4);
    const keeper = new CommitmentKeeper();
    const hash = await keeper.remember(weights);
    const committed = await keeper.commit({ swarmId: 's', round: 3, peerId: rogueId, weightsHash: hash, settings: { ...good.sampling!.settings, maxNewTokens: 40 }, tokens: rows.tokens, logprobs: rows.logprobs });
    await serveFrom(rogue, keeper);
    const fake: RolloutBatch = {
      v: 1, swarmId: 's', round: 3, peerId: rogueId, sampling: committed.commitment,
      rollouts: refs.map((task, q) => ({ task, completions: rows.tokens.slice(q * 4, q * 4 + 4).map((t) => ({ text: charTokenizer.decode(t.slice(0, -1)), reward: 1.1 })) })),
    };
    batches.set(`${rogueId}@3`, fake);
    const caught = await spot.offer(fake)!;
    expect(caught.ok).toBe(false);
    expect(caught.reasons[0]).toMatch(/committed logprob|seeded uniform|outside the top-k/);
    // its own signed reveal failed the check: conclusive, so it is left out of J at once
    expect(outcomes.at(-1)).toMatchObject({ ok: false, excluded: true });
    expect(spot.ledger.keeps(rogueId, 3)).toBe(false);
    expect(spot.ledger.keeps(rogueId, 4)).toBe(false);
    const committed4 = await keeper.commit({ swarmId: 's', round: 4, peerId: rogueId, weightsHash: hash, settings: { ...good.sampling!.settings, maxNewTokens: 40 }, tokens: rows.tokens, logprobs: rows.logprobs });
    const fake4 = { ...fake, round: 4, sampling: committed4.commitment };
    batches.set(`${rogueId}@4`, fake4);
    expect((await spot.offer(fake4)!).ok).toBe(false);
    expect(spot.ledger.peer(rogueId)).toMatchObject({ failed: 2, excluded: true });

    // a peer that never answers (serves no challenge protocol) fails as unanswered; a refusal on content
    // is never excused, and it is not conclusive: one such failure does not exclude it
    const silentId = silent.peerId.toString();
    const quiet = { ...good, peerId: silentId, sampling: { ...good.sampling!, peerId: silentId } };
    batches.set(`${silentId}@3`, quiet);
    const unanswered = await spot.offer(quiet)!;
    expect(unanswered.ok).toBe(false);
    expect(unanswered.reasons[0]).toMatch(/^challenge unanswered/);
    expect(spot.ledger.peer(silentId)).toMatchObject({ failed: 1, excluded: false });
    expect(spot.counts).toMatchObject({ challenged: 4, verified: 1, failed: 3 });
  }, 60_000);

  it('refuses a challenge for rounds not kept, and replies over the committed size', async () => {
    const keeper = new CommitmentKeeper();
    const n = await node(true);
    try {
      await serveChallenges(n, { answer: async (c) => keeper.answer(c) });
      await verifier.dial(n.getMultiaddrs()[0]);
      const challenge = { v: 1 as const, swarmId: 's', round: 1, peerId: n.peerId.toString(), root: 'ab'.repeat(32), rows: [0], nonce: 'x' };
      await expect(sendChallenge(verifier, n.peerId, challenge, { maxBytes: 1 << 16 })).rejects.toThrow(ChallengeRefusedError);
      await expect(sendChallenge(verifier, n.peerId, challenge, { maxBytes: 1 << 16 })).rejects.toThrow(/not kept any more/);
      await expect(sendChallenge(verifier, n.peerId, { ...challenge, rows: [3, 1] }, { maxBytes: 1 << 16 })).rejects.toThrow(/malformed challenge/);
      // an answer bigger than the commitment allows is refused before it is parsed
      const flat = initWeights(config, 2, 0.3);
      const hash = await keeper.remember(flat);
      const long = Array.from({ length: 8 }, () => Array.from({ length: 40 }, (_, i) => 3 + (i % 100)));
      const batch = await keeper.commit({ swarmId: 's', round: 2, peerId: n.peerId.toString(), weightsHash: hash, settings: { temperature: 1, maxNewTokens: 40, stopTokens: [2] }, tokens: long, logprobs: long.map((r) => r.map(() => -1)) });
      const c2 = { ...challenge, round: 2, root: batch.commitment.root, rows: [0, 1, 2, 3, 4, 5, 6, 7] };
      await expect(sendChallenge(verifier, n.peerId, c2, { maxBytes: 200 })).rejects.toThrow(ChallengeRejectedError);
      const ok = await sendChallenge(verifier, n.peerId, c2, { maxBytes: maxResponseBytes(batch.commitment, 8) });
      expect(ok.reveals).toHaveLength(8);
    } finally {
      await n.stop();
    }
  }, 30_000);
});
