// The worker's half of verified work. The page holds the libp2p node, the worker holds the model: so the
// page forwards a challenge to be answered from this tab's kept commitments, asks for the exact weights a
// past round sampled with (to serve them on the weight protocol), and hands over a challenged batch with
// the fetched weights to be spot-checked here, on a CPU scorer of its own (one scorer per weights version,
// a few kept). Every result crosses the worker boundary as plain data.
import type { ModelConfig } from '../engine/api.ts';
import { loadHfModel, memoryFolder } from '../engine/hf.ts';
import { createCpuLogitsScorer, type LogitsScorer } from '../engine/logits.ts';
import type { TextTokenizer } from '../rl/format.ts';
import type { RolloutBatch } from '../rl/transport.ts';
import { checkPublishedBatch } from '../rl/verify/batch.ts';
import type { Challenge, ChallengeResponse, Verdict } from '../rl/verify/check.ts';
import { weightsHash } from '../rl/verify/hash.ts';
import type { CommitmentKeeper } from '../rl/verify/keeper.ts';
import type { VerifyReply, VerifyRequest } from './verify-protocol.ts';

export type { VerifyReply, VerifyRequest, ServedVersion } from './verify-protocol.ts';

/** scorers kept by weights version: a challenge usually names this round's or last round's */
const SCORERS_KEPT = 2;

export class VerifyService {
  private readonly scorers = new Map<string, LogitsScorer>();

  constructor(
    private readonly deps: {
      config: ModelConfig;
      configBytes: Uint8Array;
      tokenizer: TextTokenizer;
      keeper: () => CommitmentKeeper;
      /** model.safetensors of flat parameters, as this tab saves them */
      safetensorsOf(flat: Float32Array): Promise<Uint8Array>;
    },
  ) {}

  async handle(request: VerifyRequest): Promise<VerifyReply> {
    switch (request.op) {
      case 'answer':
        return { op: 'answer', response: this.deps.keeper().answer(request.challenge) };
      case 'weights': {
        const flat = this.deps.keeper().weightsFor(request.hash);
        if (!flat) return { op: 'weights', version: null };
        const bytes = await this.deps.safetensorsOf(flat);
        return { op: 'weights', version: { bytes: new Uint8Array(bytes).buffer, params: request.hash } };
      }
      case 'check':
        return { op: 'check', verdict: await this.check(request.batch, request.challenge, request.response, new Uint8Array(request.weights)) };
      case 'exclude':
        throw new Error('exclude is the worker transport\'s (WorkerHost handles it)');
      default:
        throw new Error(`unknown verify op ${(request satisfies never as { op: string }).op}`);
    }
  }

  private async check(batch: RolloutBatch, challenge: Challenge, response: ChallengeResponse | null, weights: Uint8Array): Promise<Verdict> {
    const scorer = await this.scorerFor(weights);
    if ('reason' in scorer) return { ok: false, reasons: [scorer.reason], checkedTokens: 0, maxLogprobDelta: 0, maxCdfOvershoot: 0 };
    return checkPublishedBatch({ batch, challenge, response, scorer: scorer.scorer, scorerWeightsHash: scorer.hash, tokenizer: this.deps.tokenizer });
  }

  /** the weights are read against this swarm's config: another architecture is a failed check, with the loader's reason */
  private async scorerFor(bytes: Uint8Array): Promise<{ scorer: LogitsScorer; hash: string } | { reason: string }> {
    let flat: Float32Array;
    try {
      flat = (await loadHfModel(memoryFolder(new Map([['config.json', this.deps.configBytes], ['model.safetensors', bytes]])))).flat;
    } catch (error) {
      return { reason: `the named weights do not load as this swarm's model: ${(error as Error).message.slice(0, 200)}` };
    }
    const hash = await weightsHash(flat);
    let scorer = this.scorers.get(hash);
    if (!scorer) {
      scorer = createCpuLogitsScorer(this.deps.config, flat);
      this.scorers.set(hash, scorer);
      for (const [k, s] of this.scorers) {
        if (this.scorers.size <= SCORERS_KEPT) break;
        s.dispose();
        this.scorers.delete(k);
      }
    } else {
      this.scorers.delete(hash);
      this.scorers.set(hash, scorer);
    }
    return { scorer, hash };
  }

  dispose(): void {
    for (const s of this.scorers.values()) s.dispose();
    this.scorers.clear();
  }
}
