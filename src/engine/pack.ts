// Training sequences that share a prompt, packed into one row (the CPU engine's forwardLogprobs): GRPO
// scores G completions of each question, so most of a micro-batch's tokens are the same prompt G times
// over (60% of them in the default swarm, scripts/bench/cpu-engine.ts). A packed row holds the prompt but
// its last token once, then one branch per sequence: that last prompt token again, then the completion.
// Segment ids in the key mask keep the branches apart: 1 = shared (every later query sees it), 2 + i =
// branch i (seen by its own queries only), 0 = padding. A branch's query attends exactly the keys it
// attended unpacked, in the same order, with the same values, so the forward (and every logprob) is the
// same bit for bit; the gradients sum the shared prompt's contributions in another order (f32 rounding).
import type { TrainSequence } from './api.ts';

export const SEGMENT_SHARED = 1;
export const SEGMENT_FIRST_BRANCH = 2;

export interface PackedRow {
  tokens: number[];
  positions: number[];
  /** per token: SEGMENT_SHARED or SEGMENT_FIRST_BRANCH + branch index */
  segments: number[];
}

export interface PackedBatch {
  rows: PackedRow[];
  /** per input sequence, in order: its packed row, where its scored run starts in that row, its length */
  runs: { row: number; start: number; count: number }[];
}

/**
 * Rows grouped by identical prompt (tokens before completionStart), in order of first appearance. A row
 * grows no longer than maxRowLength (default 4 × the batch's longest sequence): attention costs the square
 * of a row's length, so many branches of one prompt go to several rows rather than one long one.
 */
export function packByPrompt(batch: readonly TrainSequence[], maxRowLength = 4 * Math.max(0, ...batch.map((s) => s.tokens.length))): PackedBatch {
  const rowOf = new Map<string, number>();
  const rows: PackedRow[] = [];
  const branches: number[] = [];
  const runs: PackedBatch['runs'] = [];
  for (const seq of batch) {
    const P = seq.completionStart;
    const key = seq.tokens.slice(0, P).join(',');
    let r = rowOf.get(key);
    if (r !== undefined && rows[r].tokens.length + seq.tokens.length - P + 1 > maxRowLength) r = undefined;
    if (r === undefined) {
      r = rows.length;
      rowOf.set(key, r);
      rows.push({ tokens: seq.tokens.slice(0, P - 1), positions: Array.from({ length: P - 1 }, (_, t) => t), segments: new Array<number>(P - 1).fill(SEGMENT_SHARED) });
      branches.push(0);
    }
    const row = rows[r];
    const segment = SEGMENT_FIRST_BRANCH + branches[r]++;
    const start = row.tokens.length;
    for (let t = P - 1; t < seq.tokens.length; t++) {
      row.tokens.push(seq.tokens[t]);
      row.positions.push(t);
      row.segments.push(segment);
    }
    runs.push({ row: r, start, count: seq.tokens.length - P });
  }
  return { rows, runs };
}

/** whether packing saves rows: some prompt is shared (the packed rows are then shorter in all) */
export function packingSaves(batch: readonly TrainSequence[], packed: PackedBatch): boolean {
  return packed.rows.length < batch.length;
}
