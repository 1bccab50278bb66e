// The meta-model: the elementwise (optionally weighted) mean of several models' flat parameters. Weights of
// one model family share one layout, so averaging them is averaging arrays.

/** Elementwise mean of `models` (weighted by `weights` when given); throws on a length mismatch. */
export function averageParameters(models: readonly Float32Array[], weights?: readonly number[]): Float32Array {
  if (models.length === 0) throw new RangeError('averageParameters needs at least one model');
  const n = models[0].length;
  for (const [i, m] of models.entries()) {
    if (m.length !== n) throw new RangeError(`model ${i} has ${m.length} parameters, model 0 has ${n}`);
  }
  if (weights !== undefined && weights.length !== models.length) throw new RangeError(`${weights.length} weights for ${models.length} models`);
  const w = weights ?? models.map(() => 1);
  if (!w.every((x) => Number.isFinite(x) && x >= 0)) throw new RangeError('weights must be finite and non-negative');
  const total = w.reduce((s, x) => s + x, 0);
  if (!(total > 0)) throw new RangeError('weights must not all be zero');
  // accumulate in f64 so the mean of many models does not drift with their order
  const sum = new Float64Array(n);
  models.forEach((m, k) => {
    const share = w[k] / total;
    if (share !== 0) for (let i = 0; i < n; i++) sum[i] += share * m[i];
  });
  return Float32Array.from(sum);
}
