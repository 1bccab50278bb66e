// The CPU reference: every op of ops.ts in plain TypeScript over Float32Arrays. It is the numerical ground
// truth the WebGPU kernels are tested against and the fallback when a tab has no WebGPU. Every op checks its
// views against the dims it is given (ShapeError), so a wrong shape fails loudly here before it can corrupt
// a neighbouring tensor in a shared flat buffer.

import { TOKEN_NON_FINITE, type AdamWParams, type AttentionDims, type MatmulOptions, type Ops, type SamplerParams, type View } from '../ops.ts';
import { EngineStateError, ShapeError, TokenRangeError } from '../errors.ts';
import { chooseToken } from '../sampling.ts';
import { checkAttentionBackwardArgs, checkAttentionDecodeArgs, checkAttentionForwardArgs, checkHalfMatmulArgs, checkRopeArgs, dims, need } from '../checks.ts';
import { unpackHalves } from '../half.ts';
import { matmulInto } from './matmul.ts';
import { attentionBackwardCpu, attentionDecodeCpu, attentionForwardCpu } from './attention.ts';

type F = Float32Array;
type I = Int32Array;
type VF = View<F>;
type VI = View<I>;

function ropeInvFreq(D: number, theta: number): Float32Array {
  // Computed in f32 as Hugging Face does (inv_freq is a float32 tensor), so positions far out agree.
  const inv = new Float32Array(D / 2);
  for (let i = 0; i < D / 2; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / D);
  return inv;
}

/** sign = 1 rotates forward; sign = -1 applies the inverse rotation (the backward of a rotation). */
function rope(x: VF, positions: VI, B: number, T: number, Hn: number, D: number, theta: number, sign: number): void {
  const half = D / 2;
  const inv = ropeInvFreq(D, theta);
  const cos = new Float64Array(half);
  const sin = new Float64Array(half);
  const buf = x.buffer;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const pos = positions.buffer[positions.offset + b * T + t];
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(pos * inv[i]);
        cos[i] = Math.cos(angle);
        sin[i] = sign * Math.sin(angle);
      }
      for (let h = 0; h < Hn; h++) {
        const r = x.offset + ((b * T + t) * Hn + h) * D;
        for (let i = 0; i < half; i++) {
          const x1 = buf[r + i];
          const x2 = buf[r + i + half];
          buf[r + i] = x1 * cos[i] - x2 * sin[i];
          buf[r + i + half] = x2 * cos[i] + x1 * sin[i];
        }
      }
    }
  }
}

export class CpuOps implements Ops<F, I> {
  readonly backend = 'cpu' as const;

  // ---- memory -------------------------------------------------------------------------------------------
  allocF32(length: number, _label: string): VF {
    dims('allocF32', { length });
    return { buffer: new Float32Array(length), offset: 0, length };
  }
  allocI32(length: number, _label: string): VI {
    dims('allocI32', { length });
    return { buffer: new Int32Array(length), offset: 0, length };
  }
  writeF32(dst: VF, data: Float32Array): void {
    need('writeF32', 'dst', dst, data.length);
    dst.buffer.set(data, dst.offset);
  }
  writeI32(dst: VI, data: Int32Array): void {
    need('writeI32', 'dst', dst, data.length);
    dst.buffer.set(data, dst.offset);
  }
  async readF32(src: VF): Promise<Float32Array> {
    return src.buffer.slice(src.offset, src.offset + src.length);
  }
  async readI32(src: VI): Promise<Int32Array> {
    return src.buffer.slice(src.offset, src.offset + src.length);
  }
  view<T extends F | I>(parent: View<T>, offset: number, length: number): View<T> {
    dims('view', { offset, length });
    if (offset + length > parent.length) {
      throw new ShapeError(`view: [${offset}, +${length}) exceeds its parent of ${parent.length} elements`);
    }
    return { buffer: parent.buffer, offset: parent.offset + offset, length };
  }
  zero(dst: VF): void {
    dst.buffer.fill(0, dst.offset, dst.offset + dst.length);
  }
  copy(dst: VF, src: VF): void {
    need('copy', 'dst', dst, src.length);
    dst.buffer.set(src.buffer.subarray(src.offset, src.offset + src.length), dst.offset);
  }
  flush(): void {}
  free(_v: VF | VI): void {
    // Garbage-collected; nothing to release.
  }

  // ---- layers -------------------------------------------------------------------------------------------
  matmulHalfWeights(out: VF, x: VF, w: VI, M: number, N: number, K: number, options: { accumulate?: boolean } = {}): void {
    checkHalfMatmulArgs(out, x, w, M, N, K);
    // the reference widens the very halves the GPU reads, then runs its own f32 matmul
    const wide = unpackHalves(w.buffer, w.offset, (N * K) / 2);
    matmulInto(out.buffer, out.offset, x.buffer, x.offset, wide, 0, M, N, K, false, true, options.accumulate === true);
  }
  matmulHalfWeightsBackward(dx: VF, dy: VF, w: VI, M: number, N: number, K: number, options: { accumulate?: boolean } = {}): void {
    checkHalfMatmulArgs(dx, dy, w, M, N, K, true);
    // dx (M,K) = dy (M,N) W (N,K): the very call an f32 weight's input gradient makes, on the widened halves
    const wide = unpackHalves(w.buffer, w.offset, (N * K) / 2);
    matmulInto(dx.buffer, dx.offset, dy.buffer, dy.offset, wide, 0, M, K, N, false, false, options.accumulate === true);
  }
  matmul(out: VF, a: VF, b: VF, M: number, N: number, K: number, options: MatmulOptions = {}): void {
    dims('matmul', { M, N, K });
    need('matmul', 'out', out, M * N);
    need('matmul', 'a', a, M * K);
    need('matmul', 'b', b, K * N);
    matmulInto(out.buffer, out.offset, a.buffer, a.offset, b.buffer, b.offset, M, N, K,
      options.transA ?? false, options.transB ?? false, options.accumulate ?? false);
  }

  addBias(out: VF, bias: VF, M: number, N: number): void {
    dims('addBias', { M, N });
    need('addBias', 'out', out, M * N);
    need('addBias', 'bias', bias, N);
    const o = out.buffer, bb = bias.buffer;
    for (let i = 0; i < M; i++) {
      const r = out.offset + i * N;
      for (let j = 0; j < N; j++) o[r + j] += bb[bias.offset + j];
    }
  }

  biasBackward(dBias: VF, dOut: VF, M: number, N: number): void {
    dims('biasBackward', { M, N });
    need('biasBackward', 'dBias', dBias, N);
    need('biasBackward', 'dOut', dOut, M * N);
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let i = 0; i < M; i++) s += dOut.buffer[dOut.offset + i * N + j];
      dBias.buffer[dBias.offset + j] += s;
    }
  }

  embeddingForward(out: VF, tokens: VI, table: VF, N: number, C: number): void {
    dims('embeddingForward', { N, C });
    need('embeddingForward', 'out', out, N * C);
    need('embeddingForward', 'tokens', tokens, N);
    const V = Math.floor(table.length / C);
    for (let n = 0; n < N; n++) {
      const tok = tokens.buffer[tokens.offset + n];
      if (!(tok >= 0 && tok < V)) throw new TokenRangeError(`embeddingForward: token ${tok} at ${n} is outside [0, ${V})`);
      const src = table.offset + tok * C;
      out.buffer.set(table.buffer.subarray(src, src + C), out.offset + n * C);
    }
  }

  embeddingBackward(dTable: VF, dOut: VF, tokens: VI, N: number, C: number, V: number): void {
    dims('embeddingBackward', { N, C, V });
    need('embeddingBackward', 'dTable', dTable, V * C);
    need('embeddingBackward', 'dOut', dOut, N * C);
    need('embeddingBackward', 'tokens', tokens, N);
    for (let n = 0; n < N; n++) {
      const tok = tokens.buffer[tokens.offset + n];
      if (!(tok >= 0 && tok < V)) throw new TokenRangeError(`embeddingBackward: token ${tok} at ${n} is outside [0, ${V})`);
      const dst = dTable.offset + tok * C;
      const src = dOut.offset + n * C;
      for (let c = 0; c < C; c++) dTable.buffer[dst + c] += dOut.buffer[src + c];
    }
  }

  rmsnormForward(out: VF, rstd: VF, x: VF, weight: VF, N: number, C: number, eps: number): void {
    dims('rmsnormForward', { N, C });
    need('rmsnormForward', 'out', out, N * C);
    need('rmsnormForward', 'rstd', rstd, N);
    need('rmsnormForward', 'x', x, N * C);
    need('rmsnormForward', 'weight', weight, C);
    const xb = x.buffer, ob = out.buffer, wb = weight.buffer;
    for (let n = 0; n < N; n++) {
      const r = x.offset + n * C;
      let ss = 0;
      for (let c = 0; c < C; c++) ss += xb[r + c] * xb[r + c];
      const rs = 1 / Math.sqrt(ss / C + eps);
      rstd.buffer[rstd.offset + n] = rs;
      const ro = out.offset + n * C;
      for (let c = 0; c < C; c++) ob[ro + c] = xb[r + c] * rs * wb[weight.offset + c];
    }
  }

  rmsnormBackward(dx: VF, dWeight: VF, dOut: VF, x: VF, weight: VF, rstd: VF, N: number, C: number): void {
    dims('rmsnormBackward', { N, C });
    for (const [name, v] of [['dx', dx], ['dOut', dOut], ['x', x]] as const) need('rmsnormBackward', name, v, N * C);
    need('rmsnormBackward', 'dWeight', dWeight, C);
    need('rmsnormBackward', 'weight', weight, C);
    need('rmsnormBackward', 'rstd', rstd, N);
    const xb = x.buffer, gb = dOut.buffer, wb = weight.buffer, dxb = dx.buffer, dwb = dWeight.buffer;
    for (let n = 0; n < N; n++) {
      const rx = x.offset + n * C, rg = dOut.offset + n * C, rd = dx.offset + n * C;
      const rs = rstd.buffer[rstd.offset + n];
      // y = xhat * w with xhat = x * rstd: dx = rstd * (dxhat - xhat * mean(dxhat * xhat))
      let dot = 0;
      for (let c = 0; c < C; c++) {
        const xhat = xb[rx + c] * rs;
        const g = gb[rg + c];
        dwb[dWeight.offset + c] += g * xhat;
        dot += g * wb[weight.offset + c] * xhat;
      }
      const mean = dot / C;
      for (let c = 0; c < C; c++) {
        const xhat = xb[rx + c] * rs;
        dxb[rd + c] += rs * (gb[rg + c] * wb[weight.offset + c] - xhat * mean);
      }
    }
  }

  ropeForward(x: VF, positions: VI, B: number, T: number, Hn: number, D: number, theta: number): void {
    checkRopeArgs('ropeForward', x, positions, B, T, Hn, D);
    rope(x, positions, B, T, Hn, D, theta, 1);
  }

  ropeBackward(dx: VF, positions: VI, B: number, T: number, Hn: number, D: number, theta: number): void {
    checkRopeArgs('ropeBackward', dx, positions, B, T, Hn, D);
    rope(dx, positions, B, T, Hn, D, theta, -1);
  }

  /** the reference keeps the (B,H,T,T) probabilities */
  attentionStateSize({ B, H, T }: AttentionDims): number {
    return B * H * T * T;
  }
  attentionForward(out: VF, att: VF, q: VF, k: VF, v: VF, keyMask: VF, d: AttentionDims): void {
    checkAttentionForwardArgs(out, att, q, k, v, keyMask, d, this.attentionStateSize(d));
    attentionForwardCpu(out.buffer, out.offset, att.buffer, att.offset, q.buffer, q.offset, k.buffer, k.offset,
      v.buffer, v.offset, keyMask.buffer, keyMask.offset, d);
  }

  attentionBackward(dq: VF, dk: VF, dv: VF, dOut: VF, att: VF, q: VF, k: VF, v: VF, d: AttentionDims): void {
    checkAttentionBackwardArgs(dq, dk, dv, dOut, att, q, k, v, d, this.attentionStateSize(d));
    attentionBackwardCpu(dq.buffer, dq.offset, dk.buffer, dk.offset, dv.buffer, dv.offset, dOut.buffer, dOut.offset,
      att.buffer, att.offset, q.buffer, q.offset, k.buffer, k.offset, v.buffer, v.offset, d);
  }

  attentionDecode(out: VF, q: VF, kCache: VF, vCache: VF, keyMask: VF, B: number, S: number, H: number, Hkv: number, D: number): void {
    checkAttentionDecodeArgs(out, q, kCache, vCache, keyMask, B, S, H, Hkv, D);
    attentionDecodeCpu(out.buffer, out.offset, q.buffer, q.offset, kCache.buffer, kCache.offset, vCache.buffer, vCache.offset,
      keyMask.buffer, keyMask.offset, B, S, H, Hkv, D);
  }

  cacheWrite(cache: VF, kv: VF, pos: VI, B: number, S: number, Hkv: number, D: number): void {
    dims('cacheWrite', { B, S, Hkv, D });
    need('cacheWrite', 'cache', cache, B * S * Hkv * D);
    need('cacheWrite', 'kv', kv, B * Hkv * D);
    need('cacheWrite', 'pos', pos, B);
    const row = Hkv * D;
    for (let b = 0; b < B; b++) {
      const p = pos.buffer[pos.offset + b];
      if (!(p >= 0 && p < S)) throw new ShapeError(`cacheWrite: position ${p} of row ${b} is outside the cache [0, ${S})`);
      const src = kv.offset + b * row;
      cache.buffer.set(kv.buffer.subarray(src, src + row), cache.offset + (b * S + p) * row);
    }
  }

  swigluForward(out: VF, gate: VF, up: VF, N: number, I: number): void {
    dims('swigluForward', { N, I });
    for (const [name, x] of [['out', out], ['gate', gate], ['up', up]] as const) need('swigluForward', name, x, N * I);
    const n = N * I;
    for (let i = 0; i < n; i++) {
      const g = gate.buffer[gate.offset + i];
      out.buffer[out.offset + i] = (g / (1 + Math.exp(-g))) * up.buffer[up.offset + i];
    }
  }

  swigluBackward(dGate: VF, dUp: VF, dOut: VF, gate: VF, up: VF, N: number, I: number): void {
    dims('swigluBackward', { N, I });
    for (const [name, x] of [['dGate', dGate], ['dUp', dUp], ['dOut', dOut], ['gate', gate], ['up', up]] as const) {
      need('swigluBackward', name, x, N * I);
    }
    const n = N * I;
    for (let i = 0; i < n; i++) {
      const g = gate.buffer[gate.offset + i];
      const go = dOut.buffer[dOut.offset + i];
      const sig = 1 / (1 + Math.exp(-g));
      dUp.buffer[dUp.offset + i] = go * g * sig;
      // d silu(g) / dg = sig * (1 + g * (1 - sig))
      dGate.buffer[dGate.offset + i] = go * up.buffer[up.offset + i] * sig * (1 + g * (1 - sig));
    }
  }

  add(out: VF, a: VF, b: VF, n: number): void {
    dims('add', { n });
    for (const [name, x] of [['out', out], ['a', a], ['b', b]] as const) need('add', name, x, n);
    for (let i = 0; i < n; i++) out.buffer[out.offset + i] = a.buffer[a.offset + i] + b.buffer[b.offset + i];
  }

  accumulate(out: VF, a: VF, n: number): void {
    dims('accumulate', { n });
    need('accumulate', 'out', out, n);
    need('accumulate', 'a', a, n);
    for (let i = 0; i < n; i++) out.buffer[out.offset + i] += a.buffer[a.offset + i];
  }

  // ---- objective ----------------------------------------------------------------------------------------
  logprobsForward(logprobs: VF, lse: VF, logits: VF, targets: VI, N: number, V: number): void {
    dims('logprobsForward', { N, V });
    need('logprobsForward', 'logprobs', logprobs, N);
    need('logprobsForward', 'lse', lse, N);
    need('logprobsForward', 'logits', logits, N * V);
    need('logprobsForward', 'targets', targets, N);
    const lb = logits.buffer;
    for (let n = 0; n < N; n++) {
      const r = logits.offset + n * V;
      const target = targets.buffer[targets.offset + n];
      if (!(target >= 0 && target < V)) throw new TokenRangeError(`logprobsForward: target ${target} at ${n} is outside [0, ${V})`);
      let max = -Infinity;
      for (let j = 0; j < V; j++) if (lb[r + j] > max) max = lb[r + j];
      let sum = 0;
      for (let j = 0; j < V; j++) sum += Math.exp(lb[r + j] - max);
      const l = max + Math.log(sum);
      lse.buffer[lse.offset + n] = l;
      logprobs.buffer[logprobs.offset + n] = lb[r + target] - l;
    }
  }

  logprobsBackward(dLogits: VF, dLogprobs: VF, logits: VF, lse: VF, targets: VI, N: number, V: number): void {
    dims('logprobsBackward', { N, V });
    need('logprobsBackward', 'dLogits', dLogits, N * V);
    need('logprobsBackward', 'dLogprobs', dLogprobs, N);
    need('logprobsBackward', 'logits', logits, N * V);
    need('logprobsBackward', 'lse', lse, N);
    need('logprobsBackward', 'targets', targets, N);
    const lb = logits.buffer, db = dLogits.buffer;
    for (let n = 0; n < N; n++) {
      const r = logits.offset + n * V;
      const rd = dLogits.offset + n * V;
      const g = dLogprobs.buffer[dLogprobs.offset + n];
      const l = lse.buffer[lse.offset + n];
      const target = targets.buffer[targets.offset + n];
      if (!(target >= 0 && target < V)) throw new TokenRangeError(`logprobsBackward: target ${target} at ${n} is outside [0, ${V})`);
      for (let j = 0; j < V; j++) db[rd + j] = -g * Math.exp(lb[r + j] - l);
      db[rd + target] += g;
    }
  }

  // ---- optimizer ----------------------------------------------------------------------------------------
  sumSquares(out: VF, x: VF, n: number): void {
    dims('sumSquares', { n });
    need('sumSquares', 'out', out, 1);
    need('sumSquares', 'x', x, n);
    let s = 0;
    for (let i = 0; i < n; i++) {
      const g = x.buffer[x.offset + i];
      s += g * g;
    }
    out.buffer[out.offset] = s;
  }

  sampleTokens(choice: VF, next: VI, logits: VF, draws: VI, B: number, V: number, o: SamplerParams): void {
    dims('sampleTokens', { B, V });
    need('sampleTokens', 'choice', choice, 2 * B);
    need('sampleTokens', 'next', next, B);
    need('sampleTokens', 'logits', logits, B * V);
    need('sampleTokens', 'draws', draws, B);
    for (let b = 0; b < B; b++) {
      const u = (draws.buffer[draws.offset + b] >>> 0) / 4294967296;
      let token = TOKEN_NON_FINITE, logprob = 0;
      try {
        ({ token, logprob } = chooseToken(logits.buffer, logits.offset + b * V, V, o, () => u));
      } catch (e) {
        if (!(e instanceof EngineStateError)) throw e;
      }
      choice.buffer[choice.offset + 2 * b] = token;
      choice.buffer[choice.offset + 2 * b + 1] = logprob;
      next.buffer[next.offset + b] = token;
    }
  }

  adamw(params: VF, grads: VF, m: VF, v: VF, decay: VI, n: number, ranges: number, p: AdamWParams): void {
    dims('adamw', { n, ranges, step: p.step });
    for (const [name, x] of [['params', params], ['grads', grads], ['m', m], ['v', v]] as const) need('adamw', name, x, n);
    need('adamw', 'decay', decay, 2 * ranges);
    if (p.step < 1) throw new ShapeError(`adamw: step must be >= 1 (bias correction), got ${p.step}`);
    const db = decay.buffer, d0 = decay.offset;
    for (let r = 0; r < ranges; r++) {
      const start = db[d0 + 2 * r], end = db[d0 + 2 * r + 1];
      if (!(start < end && end <= n && (r === 0 || start >= db[d0 + 2 * r - 1]))) {
        throw new ShapeError(`adamw: decay range ${r} [${start}, ${end}) is empty, out of [0, ${n}) or out of order`);
      }
    }
    const bc1 = 1 - Math.pow(p.beta1, p.step);
    const bc2 = 1 - Math.pow(p.beta2, p.step);
    const pb = params.buffer, gb = grads.buffer, mb = m.buffer, vb = v.buffer;
    let r = 0; // the range that may hold i: ranges are sorted and i only grows
    for (let i = 0; i < n; i++) {
      while (r < ranges && db[d0 + 2 * r + 1] <= i) r++;
      const decays = r < ranges && i >= db[d0 + 2 * r] ? 1 : 0;
      const g = gb[grads.offset + i] * p.gradScale;
      const mi = p.beta1 * mb[m.offset + i] + (1 - p.beta1) * g;
      const vi = p.beta2 * vb[v.offset + i] + (1 - p.beta2) * g * g;
      mb[m.offset + i] = mi;
      vb[v.offset + i] = vi;
      // decoupled decay first, as torch.optim.AdamW does
      let w = pb[params.offset + i];
      w -= p.lr * p.weightDecay * decays * w;
      w -= (p.lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + p.eps);
      pb[params.offset + i] = w;
    }
  }
}
