// Seeded random weights for a config: what tests, benchmarks and from-scratch pretraining start from.
// Matrices ~ N(0, 0.02) as in GPT-2/Llama initialisation, residual output projections scaled by
// 1/sqrt(2 * layers) so the residual stream does not grow with depth, norm gains 1, biases 0.

import type { ModelConfig } from './api.ts';
import { paramLayout } from './layout.ts';
import { createRng, gaussian } from './sampling.ts';

/** The flat parameter buffer (paramLayout order) for a config, deterministic in seed. */
export function initWeights(config: ModelConfig, seed: number, std = 0.02): Float32Array {
  const layout = paramLayout(config);
  const flat = new Float32Array(layout.size);
  const rand = createRng(seed);
  const residualStd = std / Math.sqrt(2 * config.num_hidden_layers);
  for (const t of layout.tensors) {
    if (t.name.endsWith('norm.weight')) {
      flat.fill(1, t.offset, t.offset + t.length);
    } else if (t.shape.length === 2) {
      const s = t.name.endsWith('o_proj.weight') || t.name.endsWith('down_proj.weight') ? residualStd : std;
      for (let i = 0; i < t.length; i++) flat[t.offset + i] = gaussian(rand) * s;
    }
  }
  return flat;
}
