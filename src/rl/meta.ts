// The meta-model: an elementwise (optionally weighted) mean of several peers' flat parameter vectors.
// Pure, so the app's "download the swarm model" and the experiment's averaging arm share it. Models of
// one architecture have one flat layout (engine/layout.ts), so the mean is taken index by index. A model that
// counts (weight > 0) with a NaN or an infinity is refused by index: a peer's broken file never enters a mean.

export class MetaModelError extends Error {
  override name = 'MetaModelError';
}

export function averageParameters(models: readonly Float32Array[], weights?: readonly number[]): Float32Array {
  if (models.length === 0) throw new MetaModelError('no models to average');
  const n = models[0].length;
  models.forEach((m, i) => {
    if (m.length !== n) throw new MetaModelError(`model ${i} has ${m.length} parameters, model 0 has ${n}`);
  });
  if (weights !== undefined) {
    if (weights.length !== models.length) throw new MetaModelError(`${weights.length} weights for ${models.length} models`);
    if (weights.some((w) => !Number.isFinite(w) || w < 0)) throw new MetaModelError('weights must be finite and non-negative');
  }
  const w = weights ?? models.map(() => 1);
  const total = w.reduce((s, x) => s + x, 0);
  if (!(total > 0)) throw new MetaModelError('weights sum to zero');
  // accumulate in float64: summing many float32 models in float32 loses low bits of the mean
  const acc = new Float64Array(n);
  models.forEach((m, k) => {
    const wk = w[k] / total;
    if (wk === 0) return;
    for (let i = 0; i < n; i++) {
      const x = m[i];
      // x - x is NaN for NaN and ±Infinity: one such value would make the mean's every use of it non-finite
      if (x - x !== 0) throw new MetaModelError(`model ${k} has a non-finite value (${x}) at parameter ${i}`);
      acc[i] += wk * x;
    }
  });
  return Float32Array.from(acc);
}
