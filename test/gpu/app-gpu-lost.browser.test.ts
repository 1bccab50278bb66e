// A lost GPU in the middle of a round, in Chromium: the round fails with GpuDeviceLostError, the worker
// host says so, reloads the model on the CPU engine from the last checkpoint and keeps contributing. The
// device is lost for real: the test keeps a handle on every device the page requests (observing
// GPUAdapter.requestDevice, nothing is faked) and destroys the engine's one while it samples.
import { describe, expect, it } from 'vitest';
import { initWeights, tinyConfig, unpackWeights } from '../../src/engine/index.ts';
import { serializeSafetensors } from '../../src/engine/safetensors.ts';
import { createContributor } from '../../src/worker/contributor.ts';
import { createInThreadWorker } from '../../src/worker/in-thread.ts';
import { openCheckpointStore } from '../../src/worker/persist.ts';
import type { LoadOptions, WorkerEvent } from '../../src/worker/protocol.ts';

const config = tinyConfig({ vocab_size: 384, hidden_size: 32, intermediate_size: 64, max_position_embeddings: 128 });
const files: Record<string, Uint8Array> = {
  'config.json': new TextEncoder().encode(JSON.stringify(config)),
  'model.safetensors': serializeSafetensors(unpackWeights(config, initWeights(config, 7))),
};
const testFetch: typeof fetch = async (input, init) => {
  const url = new URL(String(input instanceof Request ? input.url : input));
  const name = url.pathname.split('/').pop()!;
  if (files[name]) return new Response(files[name].slice(), { headers: { 'content-length': String(files[name].length) } });
  return fetch(input, init);
};

const devices: GPUDevice[] = [];
const requestDevice = GPUAdapter.prototype.requestDevice;
GPUAdapter.prototype.requestDevice = async function (this: GPUAdapter, descriptor?: GPUDeviceDescriptor) {
  const device = await requestDevice.call(this, descriptor);
  devices.push(device);
  return device;
};

describe('the GPU lost mid-round', () => {
  it('fails the round with GpuDeviceLostError and carries on on the CPU from the last checkpoint', async () => {
    const api = createInThreadWorker({
      probe: async () => ({ webgpu: true, adapter: 'test', reason: null }),
      createContributor: (options, onProgress) => createContributor(options, onProgress, { fetchFn: testFetch }),
      openStore: (key) => openCheckpointStore(key),
    });
    const events: WorkerEvent[] = [];
    api.onEvent((e) => events.push(e));
    const until = async (pred: () => boolean, ms: number, what: string) => {
      const end = Date.now() + ms;
      while (!pred()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.filter((e) => e.kind !== 'progress' && e.kind !== 'publish')).slice(0, 2000)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const options: LoadOptions = {
      modelUrl: `${location.origin}/models/default/`, swarmId: `gpu-lost-${Date.now()}`, peerId: '12D3KooWtest', backend: 'webgpu', resume: true,
    };
    const loaded = await api.load(options);
    expect(loaded.backend).toBe('webgpu');
    const device = devices.at(-1)!;
    await api.start({});
    // one round on the GPU, checkpointed; then lose the device while the next round samples
    await until(() => events.some((e) => e.kind === 'saved'), 90_000, 'a first checkpoint');
    const savedRound = (events.find((e) => e.kind === 'saved') as { round: number }).round;
    await until(() => events.some((e) => e.kind === 'stage' && e.round > savedRound && e.stage !== 'starting'), 60_000, 'the next round');
    device.destroy();

    await until(() => events.some((e) => e.kind === 'phase' && e.phase === 'error'), 60_000, 'the failed round');
    const failed = events.find((e) => e.kind === 'phase' && e.phase === 'error') as { detail: string };
    expect(failed.detail).toMatch(/^GpuDeviceLostError/);
    await until(() => events.some((e) => e.kind === 'warning' && /GPU was lost/.test(e.message)), 10_000, 'the warning');
    // back on the CPU: from the saved round on, more rounds complete
    await until(() => events.filter((e) => e.kind === 'saved').length >= 2, 120_000, 'a round on the CPU');
    const after = events.slice(events.findIndex((e) => e.kind === 'warning' && /GPU was lost/.test(e.message)));
    const stats = after.flatMap((e) => (e.kind === 'stats' ? [e.stats] : []));
    expect(stats.length).toBeGreaterThan(0);
    expect(stats[0].round).toBeGreaterThan(savedRound);
    expect(after.some((e) => e.kind === 'phase' && e.phase === 'ready')).toBe(true);
    await api.stop();
    await api.reset();
    api.terminate();
  });
});
