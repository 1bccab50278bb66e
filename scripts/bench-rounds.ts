// `npm run bench:rounds -- [--seconds 60] [--round-ms N] [--json FILE] [--solo-out FILE] [--screenshot PNG] [--no-build]`
// A lone tab with the swarm's default model, in headless Chromium on SwiftShader's WebGPU, contributing
// through the real app and engine worker (the dashboard a person sees), with the local swarm's served
// config (round length included). After the first round (model download and kernel compilation are not
// counted) it watches the dashboard for `--seconds`: optimizer steps per minute, rounds per minute, and the
// held-out accuracy points the tab measured. Prints the figures; --json writes them, and --solo-out writes
// the held-out curve in the form the conference screen shows as "a lone tab" (public/solo-heldout.json).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { DEFAULT_ROUND_MS } from '../src/swarm/config.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/setup/chromium.ts';
import { startLocalSwarm } from './lib/services.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'round-ms': { type: 'string', default: String(DEFAULT_ROUND_MS) },
    json: { type: 'string' },
    'solo-out': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    screenshot: { type: 'string' },
    'app-port': { type: 'string', default: '19240' },
    'relay-port': { type: 'string', default: '19241' },
  },
});
const seconds = Number(values.seconds);
const roundMs = Number(values['round-ms']);
if (!(seconds >= 10 && seconds <= 1800)) throw new Error('--seconds must be from 10 to 1800');

interface Reading {
  atS: number;
  steps: number;
  round: number | null;
}

async function read(page: Page, t0: number): Promise<Reading> {
  const [steps, round] = await Promise.all([page.getByTestId('optimizer-steps').textContent(), page.getByTestId('round').textContent()]);
  const r = Number(round);
  return { atS: (Date.now() - t0) / 1000, steps: Number(steps), round: Number.isFinite(r) ? r : null };
}

/** the "this tab" column of the held-out chart's table */
async function heldOut(page: Page): Promise<{ round: number; accuracy: number }[]> {
  const rows = await page.getByTestId('heldout-chart-table').locator('tbody tr').all();
  const out: { round: number; accuracy: number }[] = [];
  for (const row of rows) {
    const cells = await row.locator('td').allTextContents();
    if (cells[1] !== undefined && cells[1] !== '—') out.push({ round: Number(cells[0]), accuracy: Number(cells[1]) });
  }
  return out;
}

let dist = join(repo, 'dist');
let built: string | null = null;
if (!values['no-build']) {
  built = mkdtempSync(join(tmpdir(), 'tabswarm-bench-rounds-'));
  dist = built;
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn', '--outDir', built, '--emptyOutDir'], { cwd: repo, stdio: 'inherit' });
}
const swarm = await startLocalSwarm({
  appPort: Number(values['app-port']), relayPort: Number(values['relay-port']), swarmId: 'bench-rounds', chain: false, roundMs, distDir: dist,
});
const profile = mkdtempSync(join(tmpdir(), 'tabswarm-bench-rounds-profile-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, permissions: ['camera', 'microphone'] });
try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  await page.goto(swarm.appUrl);
  await page.getByTestId('contribute').click({ timeout: 60_000 });
  await page.getByTestId('contributing').waitFor({ timeout: 120_000 });
  const backend = (await page.getByTestId('contributing').textContent())?.includes('WebGPU') ? 'webgpu' : 'cpu';
  const loadT0 = Date.now();
  while ((await read(page, loadT0)).steps < 1 && Date.now() - loadT0 < 180_000) await sleep(200);
  const t0 = Date.now();
  const first = await read(page, t0);
  const readings: Reading[] = [first];
  while (Date.now() - t0 < seconds * 1000) {
    await sleep(1000);
    readings.push(await read(page, t0));
  }
  const last = await read(page, t0);
  const minutes = last.atS / 60;
  const steps = last.steps - first.steps;
  const rounds = last.round !== null && first.round !== null ? last.round - first.round : null;
  const curve = await heldOut(page);
  const result = {
    command: `npm run bench:rounds -- --seconds ${seconds} --round-ms ${roundMs}`,
    browser: 'headless Chromium, SwiftShader WebGPU (engine worker)',
    backend,
    roundMs,
    seconds: last.atS,
    optimizerSteps: steps,
    stepsPerMinute: steps / minutes,
    roundsPerMinute: rounds === null ? null : rounds / minutes,
    heldOut: curve,
    when: new Date().toISOString(),
  };
  console.log(`backend ${backend}, round ${roundMs} ms: ${steps} optimizer steps in ${last.atS.toFixed(1)} s = ${result.stepsPerMinute.toFixed(1)} steps/min` +
    (rounds === null ? '' : `, ${rounds} rounds = ${result.roundsPerMinute!.toFixed(1)} rounds/min`));
  console.log(`held-out accuracy (this tab): ${curve.map((p) => `r${p.round} ${(100 * p.accuracy).toFixed(0)}%`).join(', ') || 'none yet'}`);
  if (values.screenshot) await page.screenshot({ path: values.screenshot, fullPage: true });
  if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
  if (values['solo-out']) {
    const solo = { label: 'a lone tab (no peers), default model, SwiftShader', command: result.command, measured: result.when, points: curve };
    writeFileSync(values['solo-out'], `${JSON.stringify(solo, null, 2)}\n`);
  }
} finally {
  await context.close();
  await swarm.stop();
  rmSync(profile, { recursive: true, force: true });
  if (built) rmSync(built, { recursive: true, force: true });
}
