// The exported folder in the library users already run: a random Qwen3 of the real architecture with the
// real Qwen3 tokenizer, trained one step by our engine, exported (onnx/model.onnx + config + tokenizer),
// then opened by transformers.js (on onnxruntime-web, as in a browser) from local files: greedy
// generation through pipeline('text-generation') and model.generate gives the engine's tokens.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ortWebNode } from '../../../scripts/lib/ort-web-node.ts';
import { writeRandomQwen3 } from '../../../scripts/model/random-chat-model.ts';
import { createCpuEngine } from '../../../src/engine/cpu/index.ts';
import { loadHfModel } from '../../../src/engine/hf.ts';
import { dirSink, dirSource } from '../../../src/engine/hf-node.ts';
import { exportOnnxFolder } from '../../../src/engine/onnx/export.ts';

// transformers.js picks its runtime when first imported: onnxruntime-web before the dynamic import below.
// With a runtime handed in that way it lists no devices of its own, so device 'auto' (= that list, empty)
// leaves the choice to onnxruntime-web: its wasm backend, as in a browser without WebGPU.
ortWebNode(true);

let root: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'onnx-tjs-'));
  await writeRandomQwen3(join(root, 'hf'), { hidden: 32, layers: 2, seed: 7, std: 0.1 });
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('transformers.js opens the export', () => {
  it('pipeline("text-generation") and generate() give the engine\'s greedy tokens after a training step', async () => {
    const model = await loadHfModel(dirSource(join(root, 'hf')));
    const engine = createCpuEngine(model.config, model.flat);
    // one AdamW step, so the export is of trained weights, not the initial ones
    engine.zeroGrads();
    const lp = await engine.forwardLogprobs([{ tokens: [151644, 872, 198, 3838, 374, 220, 17, 10, 17, 30], completionStart: 3 }]);
    await engine.backwardLogprobs(lp.map((r) => r.map(() => -1)));
    await engine.optimizerStep({ lr: 1e-2, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0, maxGradNorm: 1 });
    const trained = await engine.exportWeights();
    const files = new Map(['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'].map((n) => [n, new Uint8Array(readFileSync(join(root, 'hf', n)))]));
    await exportOnnxFolder(dirSink(join(root, 'qwen3-onnx')), model.config, trained, { rawConfig: model.rawConfig, files });

    const { AutoModelForCausalLM, AutoTokenizer, env, pipeline } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = `${root}/`;
    const tokenizer = await AutoTokenizer.from_pretrained('qwen3-onnx');
    const text = 'What is 2+2? Answer:';
    const promptIds = Array.from(tokenizer.encode(text)) as number[];
    const steps = 8;
    const ours = (await engine.sample([promptIds], { maxNewTokens: steps, temperature: 0, seed: 0, stopTokens: [] })).tokens[0];
    expect(new Set(ours).size).toBeGreaterThan(1);

    const lm = await AutoModelForCausalLM.from_pretrained('qwen3-onnx', { dtype: 'fp32', device: 'auto' });
    const out = (await lm.generate({
      input_ids: tokenizer(text).input_ids, max_new_tokens: steps, min_new_tokens: steps, do_sample: false,
    } as Parameters<typeof lm.generate>[0])) as { tolist(): bigint[][] };
    const theirs = out.tolist()[0].map(Number).slice(promptIds.length);
    expect(theirs).toEqual(ours);

    const generator = await pipeline('text-generation', 'qwen3-onnx', { dtype: 'fp32', device: 'auto' });
    const [result] = (await generator(text, { max_new_tokens: steps, min_new_tokens: steps, do_sample: false, return_full_text: false })) as { generated_text: string }[];
    expect(result.generated_text).toBe(tokenizer.decode(ours, { skip_special_tokens: true }));
    engine.dispose();
  }, 120_000);
});
