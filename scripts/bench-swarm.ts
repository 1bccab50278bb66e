// `npm run bench:swarm -- [--json FILE] [--pages 2,4,8] [--node-peers 4] [--seconds 10] [--interval-ms 500]`
// For each page count: a relay, the built app's swarm lab in that many headless Chromium pages (each its
// own context), time from page open to first direct WebRTC link and to a full mesh, then every page
// publishes a rollouts message each interval: one-way gossip latency p50/p95 (pages share this machine's
// clock), loss and rollouts per second delivered; meanwhile the pages take turns to ping (one ping in the
// swarm per second) and every other page echoes: round trip p50/p95 on the pinger's clock, over every echo
// and over each ping's first. Then the same load on N headless Node peers. The app is built fresh into a
// temporary folder each run, so the pages never run a stale dist/.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { assertWebSocket } from '../src/node-polyfills.ts';
import { startRelay } from '../relay/relay.ts';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../src/swarm/config.ts';
import { summarizeLoad, type LoadSummary, type ProbeStats } from '../src/swarm/probe.ts';
import type { LabSnapshot } from '../src/app/lab/lab.svelte.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/setup/chromium.ts';
import { serveStatic } from './lib/static-server.ts';
import { describeLoad, runNodeLoad, type NodeLoadResult } from './lib/swarm-load.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function usage(message: string): never {
  console.error(`bench:swarm: ${message}\nusage: npm run bench:swarm -- [--json FILE] [--pages 2,4,8] [--node-peers 4] [--seconds 10] [--interval-ms 500]`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      json: { type: 'string' },
      pages: { type: 'string', default: '2,4,8' },
      'node-peers': { type: 'string', default: '4' },
      seconds: { type: 'string', default: '10' },
      'interval-ms': { type: 'string', default: '500' },
    },
  }));
} catch (error) {
  usage((error as Error).message);
}
const pageCounts = values.pages.split(',').filter(Boolean).map(Number);
const nodePeers = Number(values['node-peers']);
const seconds = Number(values.seconds);
const intervalMs = Number(values['interval-ms']);
if (!pageCounts.every((n) => Number.isInteger(n) && n >= 2 && n <= 12)) usage('--pages takes page counts from 2 to 12, comma-separated');
if (!(Number.isInteger(nodePeers) && nodePeers >= 0 && nodePeers <= 24)) usage('--node-peers must be 0 (skip) or 2..24');
if (!(seconds >= 2 && seconds <= 120)) usage('--seconds must be from 2 to 120');
// 2 rollouts/s + 1 echo/s + pings + the lab's heartbeats stay inside the per-peer rate limit (4/s)
if (!(intervalMs >= 500 && intervalMs <= 10_000)) usage('--interval-ms must be from 500 (with echoes and heartbeats, the per-peer rate limit) to 10000');
assertWebSocket();

interface PagesResult extends LoadSummary {
  /** median over pages: navigation start to the page's first direct WebRTC link */
  firstDirectMsP50: number | null;
  firstDirectMsMax: number | null;
  /** first page opened to every page linked directly to every other */
  meshMs: number | null;
}

type LabHandle = {
  snapshot(): LabSnapshot;
  startProbe(intervalMs: number): void;
  resetProbe(sinceMs: number): void;
  pauseProbe(untilMs: number): void;
  readProbe(): ProbeStats | null;
};
/** calls one method of the page's `window.__lab` (the swarm lab's test handle) */
function lab<K extends keyof LabHandle>(page: Page, method: K, arg?: number): Promise<ReturnType<LabHandle[K]>> {
  return page.evaluate(
    ([m, a]) => (window as unknown as { __lab: Record<string, (x?: number) => unknown> }).__lab[m](a),
    [method, arg] as const,
  ) as Promise<ReturnType<LabHandle[K]>>;
}

async function benchPages(browser: Browser, appUrl: string, count: number): Promise<PagesResult> {
  const swarmId = `bench-${count}-${Date.now().toString(36)}`;
  const relay = await startRelay({ port: 0, healthPort: null, swarmId });
  const config = parseSwarmConfig({ swarmId, relayAddrs: relay.multiaddrs, local: true, lab: true, roundMs: 10_000, genesisMs: 0 });
  const contexts = await Promise.all(Array.from({ length: count }, () => browser.newContext({ permissions: ['camera', 'microphone'] })));
  try {
    const pages = await Promise.all(contexts.map((c) => c.newPage()));
    const url = `${appUrl}lab.html?${new URLSearchParams({ swarm: encodeSwarmConfigParam(config), rounds: '0', skew: '0' })}`;
    const opened = Date.now();
    await Promise.all(pages.map((p) => p.goto(url, { timeout: 120_000 })));
    // a loaded machine starts 8 Chromium pages slowly; give them time rather than fail the run
    const peerIds = await Promise.all(
      pages.map((p) => p.waitForFunction(() => (window as unknown as { __lab?: LabHandle }).__lab?.snapshot().peerId, undefined, { timeout: 120_000 }).then((h) => h.jsonValue() as Promise<string>)),
    );
    let meshMs: number | null = null;
    const deadline = Date.now() + 30_000 + 8_000 * count;
    while (Date.now() < deadline) {
      const snaps = await Promise.all(pages.map((p) => lab(p, 'snapshot')));
      const complete = snaps.every((s, i) => peerIds.every((id, j) => i === j || s.links.some((l) => l.direct && l.peerId === id)));
      if (complete) {
        meshMs = Date.now() - opened;
        break;
      }
      await sleep(250);
    }
    console.error(meshMs === null ? `${count} pages: mesh incomplete, measuring anyway` : `${count} pages fully meshed in ${meshMs} ms`);
    const firstDirect = (await Promise.all(pages.map((p) => lab(p, 'snapshot').then((s) => s.firstDirectMs)))).filter((x): x is number => x !== null).sort((a, b) => a - b);
    await sleep(2_000);
    await Promise.all(pages.map((p) => lab(p, 'startProbe', intervalMs)));
    await sleep(1_000);
    const windowStart = Date.now();
    await Promise.all(pages.map((p) => lab(p, 'resetProbe', windowStart)));
    await sleep(seconds * 1000);
    const windowEnd = Date.now();
    await Promise.all(pages.map((p) => lab(p, 'pauseProbe', windowEnd)));
    await sleep(2_000);
    const stats = (await Promise.all(pages.map((p) => lab(p, 'readProbe')))).filter((s): s is ProbeStats => s !== null);
    return {
      ...summarizeLoad(stats, (windowEnd - windowStart) / 1000),
      firstDirectMsP50: firstDirect.length ? firstDirect[firstDirect.length >> 1] : null,
      firstDirectMsMax: firstDirect.length ? firstDirect[firstDirect.length - 1] : null,
      meshMs,
    };
  } finally {
    await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
    await relay.stop();
  }
}

const distDir = mkdtempSync(join(tmpdir(), 'tabswarm-bench-dist-'));
process.on('exit', () => rmSync(distDir, { recursive: true, force: true }));
console.error(`building the app into ${distDir}`);
execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn', '--outDir', distDir, '--emptyOutDir'], { cwd: repo, stdio: 'inherit' });
const app = await serveStatic(distDir, { port: 0, swarmConfig: {} });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
const results: { pages: Record<string, PagesResult>; nodePeers: NodeLoadResult | null; intervalMs: number; seconds: number; machine: string } = {
  pages: {},
  nodePeers: null,
  intervalMs,
  seconds,
  machine: `${process.platform} ${process.arch}, Node ${process.versions.node}, ${(await import('node:os')).cpus().length} cores`,
};
try {
  for (const count of pageCounts) {
    const r = await benchPages(browser, app.url, count);
    results.pages[count] = r;
    console.error(`${count} pages: first direct p50 ${r.firstDirectMsP50} ms, mesh ${r.meshMs} ms; ${describeLoad(r)}`);
  }
} finally {
  await browser.close();
  await app.close();
}
if (nodePeers >= 2) {
  results.nodePeers = await runNodeLoad({ peers: nodePeers, seconds, intervalMs });
  const r = results.nodePeers;
  console.error(`${nodePeers} Node peers: mesh ${r.meshMs} ms; ${describeLoad(r)}`);
}
console.log(JSON.stringify({ benchSwarm: results }));
if (values.json) writeFileSync(values.json, JSON.stringify({ benchSwarm: results }, null, 2));
process.exit(0);
