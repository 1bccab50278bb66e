// The rogue's "model-free perfect answers" mode (rogue-peer.ts --model-free): no model runs. Each round it
// writes the answer key of its own tasks (derivable from the task seed) in the right format for half of each
// group and a wrong answer for the other half (so the groups carry signal and would reach J), commits to those
// tokens with the real weights' logprobs (teacher-forced on the swarm's public starting model, the strongest
// cheat: the logprob check passes, only the seeded sampler can give it away), names those weights, serves
// them over the weight protocol and answers every challenge. Honest verifiers must fail it on the sampler.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../src/engine/config.ts';
import { loadHfModel, memoryFolder, type FileSource } from '../../../src/engine/hf.ts';
import { createCpuLogitsScorer } from '../../../src/engine/logits.ts';
import { completionText, decodeCompletion, encodeCompletion, encodePrompt, stopTokens } from '../../../src/rl/format.ts';
import { roundTaskRefs } from '../../../src/rl/round-tasks.ts';
import { generateTask, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import type { RolloutBatch } from '../../../src/rl/transport.ts';
import { teacherForcedLogprobs } from '../../../src/rl/verify/adversary.ts';
import { CommitmentKeeper } from '../../../src/rl/verify/keeper.ts';
import type { SwarmConfig } from '../../../src/swarm/config.ts';
import type { Swarm } from '../../../src/swarm/swarm.ts';
import { transportOver } from '../../../src/swarm/transport.ts';
import { serveChallenges } from '../../../src/swarm/verify.ts';
import { modelFamily, serveWeights, sha256Hex } from '../../../src/swarm/weights.ts';
import { tokenizerFrom } from '../../../src/worker/contributor.ts';
import { runnerConfigFor } from '../../../src/worker/plan.ts';

const modelDir = fileURLToPath(new URL('../../../public/models/default/', import.meta.url));

export async function runModelFree(swarm: Swarm, config: SwarmConfig, seconds: number, emit: (e: object) => void): Promise<Record<string, number>> {
  const source: FileSource = { read: (name) => readFile(modelDir + name).then((b) => new Uint8Array(b), () => null) };
  const modelConfig = parseConfig(JSON.parse(new TextDecoder().decode((await source.read('config.json'))!)));
  const model = await loadHfModel(source);
  const tokenizer = await tokenizerFrom(source, modelConfig.vocab_size);
  const scorer = createCpuLogitsScorer(modelConfig, model.flat);
  const keeper = new CommitmentKeeper();
  const hash = await keeper.remember(model.flat);
  const bytes = (await source.read('model.safetensors'))!;
  const served = { bytes, hash: await sha256Hex(bytes), params: hash };
  await serveWeights(swarm.node, { family: modelFamily(modelConfig), current: async () => served, byHash: async (h) => (h === hash || h === served.hash ? served : null) });
  const counts = { published: 0, challenged: 0 };
  await serveChallenges(swarm.node, { answer: async (c) => (counts.challenged++, keeper.answer(c)) });
  const shape = runnerConfigFor({ modelUrl: '', swarmId: config.swarmId, peerId: swarm.peerId, backend: 'cpu', resume: false, taskMix: config.taskMix });
  const transport = transportOver(swarm);
  const end = Date.now() + seconds * 1000;
  let last = -1;
  while (Date.now() < end) {
    const round = swarm.clock.currentRound();
    if (round !== last) {
      last = round;
      const refs = roundTaskRefs(config.swarmId, round, swarm.peerId, shape.tasks, shape.questions);
      const prompts: number[][] = [], tokens: number[][] = [];
      for (const ref of refs) {
        const task = generateTask(ref);
        for (let j = 0; j < shape.completions; j++) {
          prompts.push(encodePrompt(tokenizer, task));
          tokens.push(encodeCompletion(tokenizer, completionText(j % 2 === 0 ? task.answer : `${task.answer}9`)).slice(0, shape.sampling.maxNewTokens));
        }
      }
      const logprobs = await teacherForcedLogprobs(scorer, prompts, tokens);
      const s = shape.sampling;
      const committed = await keeper.commit({
        swarmId: config.swarmId, round, peerId: swarm.peerId, weightsHash: hash, tokens, logprobs,
        settings: { temperature: s.temperature, topP: s.topP, topK: s.topK, maxNewTokens: s.maxNewTokens, stopTokens: stopTokens(tokenizer) },
      });
      const batch: RolloutBatch = {
        v: 1, swarmId: config.swarmId, round, peerId: swarm.peerId, sampling: committed.commitment,
        rollouts: refs.map((task, q) => ({
          task,
          completions: tokens.slice(q * shape.completions, (q + 1) * shape.completions).map((t) => {
            const text = decodeCompletion(tokenizer, t);
            return { text, reward: scoreCompletion(generateTask(task), text).reward };
          }),
        })),
      };
      await transport.publishRollouts(batch).then(() => counts.published++, (e: Error) => emit({ publishError: e.message }));
      emit({ round, counts });
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  scorer.dispose();
  return counts;
}
