// The worker's contributor path on a real chat architecture: a random Qwen3 (real architecture, real Qwen3
// tokenizer with its chat template, Qwen3's generation_config) served as an HF folder, loaded through
// createContributor, runs a whole round (templated prompts, sampling, scoring, GRPO step) and exports a
// folder that carries the tokenizer. The app round with this model (LoRA, from a stand-in hub) is test/e2e/app-qwen3.spec.ts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRandomQwen3 } from '../../../scripts/model/random-chat-model.ts';
import { SoloTransport } from '../../../src/rl/bus.ts';
import { createContributor } from '../../../src/worker/contributor.ts';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'contrib-qwen3-'));
  await writeRandomQwen3(join(dir, 'qwen3'), { hidden: 32, layers: 2, seed: 5 });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** the folder on disk as an HTTP server would answer */
const folderFetch: typeof fetch = async (input) => {
  const name = new URL(String(input instanceof Request ? input.url : input)).pathname.split('/').pop()!;
  try {
    return new Response(readFileSync(join(dir, 'qwen3', name)));
  } catch {
    return new Response('not found', { status: 404 });
  }
};

describe('contributor with a random Qwen3 and its real tokenizer', () => {
  it('loads, runs a round through the chat template and exports the folder', async () => {
    const c = await createContributor(
      { modelUrl: 'http://127.0.0.1:19601/models/qwen3/', swarmId: 'qwen3-unit', peerId: 'me', backend: 'cpu', resume: false },
      () => undefined, { fetchFn: folderFetch, cache: 'never' },
    );
    expect(c.backend).toBe('cpu');
    expect(c.modelId).toMatch(/^qwen3-32x2-/);
    const stats = await c.runRound(0, new SoloTransport('me'), new AbortController().signal);
    expect(stats.round).toBe(0);
    expect(stats.localRollouts).toBe(16);
    expect(stats.tokens).toBeGreaterThan(0);
    const names = (await c.exportModel()).map((f) => f.name).sort();
    expect(names).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']));
    c.dispose();
  }, 180_000);
});
