// onnxruntime-web (the runtime transformers.js uses in browsers) in Node, from node_modules only: its wasm
// files are read from the package's dist folder, single-threaded (no worker threads or downloads). With
// `forTransformers`, transformers.js is pointed at it too; that must happen before transformers.js is
// first imported (it picks its runtime at import time).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as ort from 'onnxruntime-web';

export function ortWebNode(forTransformers = false): typeof ort {
  const require = createRequire(import.meta.url);
  ort.env.wasm.wasmPaths = `${dirname(require.resolve('onnxruntime-web'))}/`;
  ort.env.wasm.numThreads = 1;
  if (forTransformers) (globalThis as Record<symbol, unknown>)[Symbol.for('onnxruntime')] = ort;
  return ort;
}
