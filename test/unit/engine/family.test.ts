// Which kernel family an adapter gets: CPU-backed adapters (by name or the browser's fallback flag) the
// 'cpu' family, everything else the 'gpu' family.
import { describe, expect, it } from 'vitest';
import { chooseKernelFamily, isKernelFamily } from '../../../src/engine/gpu/family.ts';
import type { GpuInfo } from '../../../src/engine/device.ts';

const info = (vendor: string, architecture: string, description = '', isFallbackAdapter = false): GpuInfo => ({
  vendor, architecture, device: '', description, label: `${vendor} ${architecture}`, isFallbackAdapter,
});

describe('kernel family by adapter', () => {
  it('CPU-backed adapters get the cpu family', () => {
    expect(chooseKernelFamily(info('google', 'swiftshader', 'SwiftShader driver 5.0.0'))).toBe('cpu');
    expect(chooseKernelFamily(info('mesa', '', 'llvmpipe (LLVM 15.0.6, 256 bits)'))).toBe('cpu');
    expect(chooseKernelFamily(info('microsoft', '', 'Microsoft Basic Render Driver'))).toBe('cpu');
    // whatever its name, an adapter the browser flags as a fallback
    expect(chooseKernelFamily(info('nvidia', 'ampere', '', true))).toBe('cpu');
  });

  it('real GPUs get the gpu family', () => {
    expect(chooseKernelFamily(info('nvidia', 'hopper'))).toBe('gpu');
    expect(chooseKernelFamily(info('apple', 'metal-3'))).toBe('gpu');
    expect(chooseKernelFamily(info('intel', 'gen-12lp'))).toBe('gpu');
    expect(chooseKernelFamily(info('', ''))).toBe('gpu');
  });

  it('names the two families and nothing else', () => {
    expect(['gpu', 'cpu'].every(isKernelFamily)).toBe(true);
    expect(['GPU', 'auto', '', null, 1].some(isKernelFamily)).toBe(false);
  });
});
