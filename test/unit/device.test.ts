import { describe, expect, it } from 'vitest';
import { formatCompileMessages, requestGpu } from '../../src/engine/device.ts';
import { matmulCpu } from '../../src/engine/cpu/matmul.ts';

describe('device module without WebGPU', () => {
  it('returns null when there is no navigator.gpu', async () => {
    expect(await requestGpu({ gpu: undefined })).toBeNull();
  });

  it('returns null when the adapter request yields nothing', async () => {
    const gpu = { requestAdapter: async () => null } as unknown as GPU;
    expect(await requestGpu({ gpu })).toBeNull();
  });

  it('formats compile errors with the offending source line marked', () => {
    const source = 'fn a() {}\nfn b() { let x = ; }\nfn c() {}';
    const text = formatCompileMessages(source, [
      { type: 'error', lineNum: 2, linePos: 18, message: 'expected expression', offset: 0, length: 1 } as GPUCompilationMessage,
    ]);
    expect(text).toContain('error at 2:18: expected expression');
    expect(text).toMatch(/>\s+2 \| fn b\(\) \{ let x = ; \}/);
  });
});

describe('CPU matmul reference', () => {
  it('multiplies a hand-checked 2x3 by 3x2', () => {
    const out = new Float32Array(4);
    matmulCpu(out, Float32Array.of(1, 2, 3, 4, 5, 6), Float32Array.of(7, 8, 9, 10, 11, 12), 2, 2, 3);
    expect([...out]).toEqual([58, 64, 139, 154]);
  });
});
