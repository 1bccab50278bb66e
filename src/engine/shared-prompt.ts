// Teacher-forced logits for rows that share prompts (GRPO: G completions of each question), the verifier's
// whole-batch check. The padded forward runs every row's prompt again and pads every row to the longest, so
// it costs about as much as the sampling it checks. Here each distinct prompt is run once (its per-layer
// k/v kept, as a KV cache), and the completions then run packed, without padding, as one (M, C) batch
// through every projection and MLP: only attention needs rows, and it gets them by copying the prompt's
// k/v in front of each completion's own (a (rows, T) batch for the backend's causal attention; prompt slots
// carry zero queries whose outputs are dropped). Completion token 0 is predicted by the prompt's last
// position, so its logits come from the prompt pass, once per group.
//
// Same math as modelForward row by row; the results agree to float rounding (the CPU reference sums in
// the same order whatever the batch, see test/unit/engine/shared-prompt.test.ts).

import type { ModelConfig } from './api.ts';
import type { Ops, View } from './ops.ts';
import { headDim } from './config.ts';
import { headActLayout, intLayout, layerActLayout } from './layout.ts';
import { carveActs, carver, dimsOf, linear, modelForward, queryKeyValue, type RunParams } from './model.ts';

export interface SharedPromptRow {
  /** index into the prompts */
  prompt: number;
  /** completion tokens; logits are returned for each (row t predicts tokens[t]) */
  tokens: number[];
}

/**
 * Per row, logits (tokens.length x V, row-major) predicting its completion tokens after prompts[row.prompt].
 * Prompts and tokens are checked by the caller (in vocabulary, lengths within the context).
 */
export async function sharedPromptLogits<F, I>(
  ops: Ops<F, I>, config: ModelConfig, P: RunParams<F, I>, prompts: number[][], rows: SharedPromptRow[],
): Promise<Float32Array[]> {
  const V = config.vocab_size, C = config.hidden_size, L = config.num_hidden_layers, I = config.intermediate_size;
  const D = headDim(config), H = config.num_attention_heads, Hkv = config.num_key_value_heads;
  const HD = H * D, KD = Hkv * D, eps = config.rms_norm_eps, theta = config.rope_theta;
  const bufs: (View<F> | View<I>)[] = [];
  const f32 = (n: number, label: string) => {
    const v = ops.allocF32(Math.max(1, n), label);
    bufs.push(v);
    return v;
  };
  const i32 = (n: number, label: string) => {
    const v = ops.allocI32(Math.max(1, n), label);
    bufs.push(v);
    return v;
  };
  try {
    // 1. each prompt once, right-padded (positions from 0, as in the sampler's prefill); keep every layer's k/v
    const Bu = prompts.length, Tp = Math.max(...prompts.map((p) => p.length));
    const preShape = { B: Bu, T: Tp, Ns: Bu };
    const attState = (d: Parameters<Ops<F, I>['attentionStateSize']>[0]) => ops.attentionStateSize(d);
    const preL = layerActLayout(config, preShape, 0, attState), preH = headActLayout(config, preShape), preI = intLayout(preShape);
    const preA = carveActs(ops, [f32(preL.size, 'shared.prefill.layer')], preL, f32(preH.size, 'shared.prefill.head'), preH, L);
    const getPre = carver(ops, i32(preI.size, 'shared.prefill.ints'), preI);
    const preInts = { tokens: getPre('tokens'), positions: getPre('positions'), targets: getPre('targets') };
    const kS = Array.from({ length: L }, (_, l) => f32(Bu * Tp * KD, `shared.promptK.${l}`));
    const vS = Array.from({ length: L }, (_, l) => f32(Bu * Tp * KD, `shared.promptV.${l}`));
    {
      const tokens = new Int32Array(Bu * Tp), positions = new Int32Array(Bu * Tp), mask = new Float32Array(Bu * Tp);
      prompts.forEach((p, u) => {
        for (let t = 0; t < p.length; t++) {
          tokens[u * Tp + t] = p[t];
          positions[u * Tp + t] = t;
          mask[u * Tp + t] = 1;
        }
      });
      ops.writeI32(preInts.tokens, tokens);
      ops.writeI32(preInts.positions, positions);
      ops.writeF32(preA.mask, mask);
    }
    modelForward(ops, config, P, preA, preInts, preShape, prompts.map((p, u) => ({ row: u * Tp + p.length - 1, count: 1 })), {
      logprobs: false,
      onKV: (l, k, v) => {
        ops.copy(kS[l], ops.view(k, 0, Bu * Tp * KD));
        ops.copy(vS[l], ops.view(v, 0, Bu * Tp * KD));
      },
    });
    ops.flush();
    const first = await ops.readF32(ops.view(preA.logits, 0, Bu * V));

    // 2. the completions packed: row b feeds tokens[0 .. n-2] at positions len(prompt) + j
    const packed = rows.map((r) => ({ m: Math.max(0, r.tokens.length - 1), p: prompts[r.prompt].length, u: r.prompt, o: 0 }));
    let M = 0;
    for (const r of packed) {
      r.o = M;
      M += r.m;
    }
    let rest: Float32Array = new Float32Array(0);
    if (M > 0) {
      const shape = { B: 1, T: M, Ns: M };
      // attention runs on the padded copies below; this layer buffer's own `att` is never used
      const lL = layerActLayout(config, shape, 0, () => 1), hL = headActLayout(config, shape), iL = intLayout(shape);
      const A = carveActs(ops, [f32(lL.size, 'shared.layer')], lL, f32(hL.size, 'shared.head'), hL, L);
      const a = A.layers[0];
      const getI = carver(ops, i32(iL.size, 'shared.ints'), iL);
      const ints = { tokens: getI('tokens'), positions: getI('positions'), targets: getI('targets') };
      const live = packed.filter((r) => r.m > 0);
      const Bc = live.length, Tf = Math.max(...live.map((r) => r.p + r.m));
      const att = { B: Bc, T: Tf, H, Hkv, D };
      const qF = f32(Bc * Tf * HD, 'shared.att.q'), kF = f32(Bc * Tf * KD, 'shared.att.k'), vF = f32(Bc * Tf * KD, 'shared.att.v');
      const oF = f32(Bc * Tf * HD, 'shared.att.out'), sF = f32(ops.attentionStateSize(att), 'shared.att.state'), mF = f32(Bc * Tf, 'shared.att.mask');
      {
        const tokens = new Int32Array(M), positions = new Int32Array(M), mask = new Float32Array(Bc * Tf);
        packed.forEach((r, b) => {
          for (let j = 0; j < r.m; j++) {
            tokens[r.o + j] = rows[b].tokens[j];
            positions[r.o + j] = r.p + j;
          }
        });
        live.forEach((r, c) => mask.fill(1, c * Tf, c * Tf + r.p + r.m));
        ops.writeI32(ints.tokens, tokens);
        ops.writeI32(ints.positions, positions);
        ops.writeF32(mF, mask);
      }
      ops.embeddingForward(a.x, ints.tokens, P.embed, M, C);
      for (let l = 0; l < L; l++) {
        const p = P.layers[l];
        ops.rmsnormForward(a.ln1, a.rstd1, a.x, p.ln1, M, C, eps);
        queryKeyValue(ops, p, a, ints.positions, 1, M, C, dimsOf(config, 1, M), eps, theta);
        live.forEach((r, c) => {
          const at = c * Tf;
          ops.copy(ops.view(kF, at * KD, r.p * KD), ops.view(kS[l], r.u * Tp * KD, r.p * KD));
          ops.copy(ops.view(vF, at * KD, r.p * KD), ops.view(vS[l], r.u * Tp * KD, r.p * KD));
          ops.copy(ops.view(kF, (at + r.p) * KD, r.m * KD), ops.view(a.k, r.o * KD, r.m * KD));
          ops.copy(ops.view(vF, (at + r.p) * KD, r.m * KD), ops.view(a.v, r.o * KD, r.m * KD));
          ops.copy(ops.view(qF, (at + r.p) * HD, r.m * HD), ops.view(a.q, r.o * HD, r.m * HD));
        });
        ops.attentionForward(oF, sF, qF, kF, vF, mF, att);
        live.forEach((r, c) => ops.copy(ops.view(a.attOut, r.o * HD, r.m * HD), ops.view(oF, (c * Tf + r.p) * HD, r.m * HD)));
        linear(ops, A.tmp, a.attOut, p.o, undefined, M, C, HD);
        ops.add(a.r, a.x, A.tmp, M * C);
        ops.rmsnormForward(a.ln2, a.rstd2, a.r, p.ln2, M, C, eps);
        linear(ops, a.gate, a.ln2, p.gate, undefined, M, I, C);
        linear(ops, a.up, a.ln2, p.up, undefined, M, I, C);
        ops.swigluForward(a.act, a.gate, a.up, M, I);
        linear(ops, A.tmp, a.act, p.down, undefined, M, C, I);
        ops.add(l + 1 < L ? a.x : A.xFinal, a.r, A.tmp, M * C);
      }
      ops.rmsnormForward(A.lnf, A.rstdf, A.xFinal, P.norm, M, C, eps);
      linear(ops, A.logits, A.lnf, P.lmHead, undefined, M, V, C);
      ops.flush();
      rest = await ops.readF32(ops.view(A.logits, 0, M * V));
    }
    return rows.map((r, b) => {
      const n = r.tokens.length, { u, o, m } = packed[b];
      const out = new Float32Array(n * V);
      if (n === 0) return out;
      out.set(first.subarray(u * V, (u + 1) * V), 0);
      out.set(rest.subarray(o * V, (o + m) * V), V);
      return out;
    });
  } finally {
    for (const v of bufs) ops.free(v);
  }
}
