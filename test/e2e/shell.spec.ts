import { chromium, expect, test } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../setup/chromium.ts';

test('two pages load the shell, find the SwiftShader adapter and show distinct peer ids', async ({ browser }) => {
  const contexts = await Promise.all([browser.newContext(), browser.newContext()]);
  const pages = await Promise.all(contexts.map((c) => c.newPage()));
  const errors: string[] = [];
  for (const page of pages) page.on('pageerror', (e) => errors.push(e.message));
  await Promise.all(pages.map((p) => p.goto('./')));

  const peerIds: string[] = [];
  for (const page of pages) {
    await expect(page.getByRole('heading', { name: 'tabswarm' })).toBeVisible();
    await expect(page.getByTestId('gpu-status')).toContainText('available');
    await expect(page.getByTestId('gpu-adapter')).not.toBeEmpty();
    await expect(page.getByTestId('peer-id')).toContainText(/16Uiu2HA[1-9A-HJ-NP-Za-km-z]{45}/);
    await expect(page.getByTestId('relay-status')).toHaveText('connected');
    await expect(page.getByTestId('swarm-id')).toHaveText('e2e');
    peerIds.push((await page.getByTestId('peer-id').textContent())!.trim());
  }
  expect(peerIds[0]).not.toBe(peerIds[1]);
  expect(errors).toEqual([]);
  await Promise.all(contexts.map((c) => c.close()));
});

test('a browser without WebGPU says so and falls back to the CPU', async ({ baseURL }) => {
  // A separate Chromium without the WebGPU flags: navigator.gpu offers no adapter, as on many machines.
  const args = CHROMIUM_ARGS.filter((a) => !/webgpu|Vulkan|swiftshader/i.test(a)).concat('--disable-gpu');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args });
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  await page.goto(baseURL!);
  await expect(page.getByTestId('gpu-status')).toContainText('no WebGPU, CPU fallback');
  await expect(page.getByTestId('peer-id')).toContainText('16Uiu2HA');
  await browser.close();
});
