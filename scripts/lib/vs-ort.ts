// What bench:vs-ort measures, shared by its Node run and its Chromium page: the same prompts, the same timing
// (generate(1) vs generate(N+1), median of R after a warm-up) and the same row shape.

export interface VsOrtRow {
  model: string;
  engine: string;
  B: number;
  promptLen: number;
  newTokens: number;
  prefillTokPerS: number;
  /** null when timing noise swamped the decode steps (the N+1-token run was not slower than the 1-token run) */
  decodeTokPerS: number | null;
  /** why an engine could not run here (e.g. ort's webgpu EP on this adapter); its figures are then 0 / null */
  error?: string;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** times generate(1) and generate(N+1) R times after a warm-up; returns tok/s */
export async function measure(generate: (n: number) => Promise<void>, B: number, P: number, N: number, reps: number): Promise<{ prefill: number; decode: number | null }> {
  await generate(2);
  const t1: number[] = [], tN: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    await generate(1);
    t1.push(performance.now() - t);
    t = performance.now();
    await generate(N + 1);
    tN.push(performance.now() - t);
  }
  const one = median(t1) / 1000, all = median(tN) / 1000;
  return { prefill: (B * P) / one, decode: all > one ? (B * N) / (all - one) : null };
}

/** B prompts of P ids, fixed and different per row */
export function benchPrompts(B: number, P: number, vocab: number): number[][] {
  return Array.from({ length: B }, (_, b) => Array.from({ length: P }, (_, t) => (7 + 13 * t + 31 * b) % vocab));
}

/** each of our engines against each transformers.js run of the same model */
export function vsOrtRatios(rows: VsOrtRow[]): { model: string; engine: string; versus: string; decodeRatio: number | null; prefillRatio: number | null }[] {
  return [...new Set(rows.map((r) => r.model))].flatMap((model) => {
    const theirs = rows.filter((r) => r.model === model && r.engine.startsWith('transformers.js') && !r.error);
    return rows.filter((r) => r.model === model && r.engine.startsWith('tabswarm') && !r.error).flatMap((r) => theirs.map((o) => ({
      model, engine: r.engine, versus: o.engine,
      decodeRatio: r.decodeTokPerS !== null && o.decodeTokPerS !== null ? r.decodeTokPerS / o.decodeTokPerS : null,
      prefillRatio: r.prefillTokPerS / o.prefillTokPerS,
    })));
  });
}
