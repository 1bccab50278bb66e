// An ONNX export with external data (how a model over one protobuf's 2 GiB leaves the tab: onnx/model.onnx plus
// model.onnx_data, _1, ...) opened by transformers.js in Chromium, as a user's page would: the folder is served
// from memory through transformers.js' own `env.fetch` hook and onnxruntime-web's wasm comes from the local
// node_modules (nothing from a CDN). A small model is forced into several data files; transformers.js must
// fetch every one of them and generate the engine's greedy tokens. Runs in the browser tier only (Node's
// transformers.js hands onnxruntime file paths, not bytes).
import { describe, expect, it } from 'vitest';
import { createCpuEngine, initWeights, tinyConfig, unpackWeights } from '../../src/engine/index.ts';
import { memoryFolder } from '../../src/engine/hf.ts';
import { exportOnnxFolder } from '../../src/engine/onnx/export.ts';

describe('transformers.js in Chromium opens an external-data export', () => {
  it('fetches every data file and generates the engine\'s greedy tokens', async () => {
    const config = tinyConfig({
      model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], vocab_size: 96, hidden_size: 32, intermediate_size: 64,
      num_attention_heads: 4, num_key_value_heads: 2, head_dim: 8, num_hidden_layers: 2, rope_theta: 1000000, max_position_embeddings: 128,
    });
    const flat = initWeights(config, 11, 0.15);
    const folder = memoryFolder();
    await exportOnnxFolder(folder, config, unpackWeights(config, flat), { externalData: { external: true, chunkBytes: 16 * 1024 } });
    const dataFiles = [...folder.files.keys()].filter((n) => n.startsWith('onnx/model.onnx_data'));
    expect(dataFiles.length).toBeGreaterThan(2);

    const { AutoModelForCausalLM, Tensor, env } = await import('@huggingface/transformers');
    const fetched: string[] = [];
    env.allowLocalModels = false;
    env.allowRemoteModels = true;
    env.useBrowserCache = false;
    env.remoteHost = 'https://hub.invalid/';
    // the hub, from memory; same-origin files (onnxruntime's wasm, which transformers.js pre-loads through
    // this hook too) from the test server; anything else is a 404, never a download
    env.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input instanceof Request ? input.url : input));
      if (url.origin === location.origin) return fetch(input, init);
      const m = /\/resolve\/main\/(.+)$/.exec(url.pathname);
      const bytes = m && url.host === 'hub.invalid' ? folder.files.get(m[1]) : undefined;
      if (m) fetched.push(m[1]);
      return bytes ? new Response(bytes.slice(), { headers: { 'content-length': String(bytes.length) } }) : new Response('not found', { status: 404 });
    }) as typeof fetch;
    const ortDist = new URL('/node_modules/onnxruntime-web/dist/', location.origin).toString();
    const wasm = (env.backends.onnx as { wasm: { wasmPaths: unknown; numThreads: number } }).wasm;
    wasm.wasmPaths = { mjs: `${ortDist}ort-wasm-simd-threaded.asyncify.mjs`, wasm: `${ortDist}ort-wasm-simd-threaded.asyncify.wasm` };
    wasm.numThreads = 1;

    const lm = await AutoModelForCausalLM.from_pretrained('tabswarm/external', { dtype: 'fp32', device: 'wasm' });
    expect(fetched).toEqual(expect.arrayContaining(['config.json', 'onnx/model.onnx', ...dataFiles]));

    const prompt = [1, 17, 42, 5, 63];
    const steps = 8;
    const ours = (await createCpuEngine(config, flat).sample([prompt], { maxNewTokens: steps, temperature: 0, seed: 0, stopTokens: [] })).tokens[0];
    expect(new Set(ours).size).toBeGreaterThan(1);
    const input = new Tensor('int64', BigInt64Array.from(prompt.map(BigInt)), [1, prompt.length]);
    const out = (await lm.generate({ input_ids: input, max_new_tokens: steps, min_new_tokens: steps, do_sample: false } as Parameters<typeof lm.generate>[0])) as { tolist(): bigint[][] };
    expect(out.tolist()[0].map(Number).slice(prompt.length)).toEqual(ours);
  });
});
