// Helpers for the network specs: open swarm-lab pages in their own browser contexts and read their state.
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { encodeSwarmConfigParam, parseSwarmConfig, type SwarmConfig } from '../../../src/swarm/config.ts';
import type { LabSnapshot } from '../../../src/app/lab/lab.svelte.ts';

export interface LabPage {
  page: Page;
  context: BrowserContext;
  peerId: string;
  errors: string[];
  logs: string[];
}

export function labConfig(swarmId: string, relayAddrs: string[], roundMs: number): SwarmConfig {
  return parseSwarmConfig({ swarmId, relayAddrs, local: true, lab: true, roundMs, genesisMs: 0 });
}

export function e2eRelayAddrs(): string[] {
  const raw = process.env.TABSWARM_E2E_RELAY;
  if (!raw) throw new Error('TABSWARM_E2E_RELAY is not set: run through the e2e global setup');
  return JSON.parse(raw) as string[];
}

export async function openLab(browser: Browser, config: SwarmConfig, extra: Record<string, string> = {}): Promise<LabPage> {
  // WebRTC on a loopback-only host gathers no candidates without these permissions
  const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
  const page = await context.newPage();
  const errors: string[] = [];
  const logs: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => logs.push(m.text()));
  const params = new URLSearchParams({ swarm: encodeSwarmConfigParam(config), ...extra });
  await page.goto(`./lab.html?${params}`);
  await expect(page.getByTestId('lab-phase')).toHaveText(/ready|error/, { timeout: 30_000 });
  // a page that failed to start says why: name it rather than time out on the phase
  if ((await page.getByTestId('lab-phase').textContent()) === 'error') throw new Error(`lab page failed: ${await page.getByTestId('lab-error').textContent()}`);
  const peerId = (await page.getByTestId('lab-peer-id').textContent())!.trim();
  return { page, context, peerId, errors, logs };
}

export function snapshot(lab: LabPage): Promise<LabSnapshot> {
  return lab.page.evaluate(() => (window as unknown as { __lab: { snapshot(): LabSnapshot } }).__lab.snapshot());
}

/** peers this page has an open direct (WebRTC) connection with */
export async function directPeers(lab: LabPage): Promise<string[]> {
  const s = await snapshot(lab);
  return [...new Set(s.links.filter((l) => l.direct).map((l) => l.peerId))];
}

/** waits until every page has a direct link to every other page */
export async function expectFullMesh(labs: LabPage[], timeout = 60_000): Promise<void> {
  await expect
    .poll(
      async () => {
        const missing: string[] = [];
        for (const lab of labs) {
          const direct = await directPeers(lab);
          for (const other of labs) if (other !== lab && !direct.includes(other.peerId)) missing.push(`${lab.peerId.slice(-6)}->${other.peerId.slice(-6)}`);
        }
        return missing;
      },
      { timeout, intervals: [500] },
    )
    .toEqual([]);
}

/** rounds (after `fromRound`) in which this page got rollouts from every one of `peers` */
export async function fullRounds(lab: LabPage, peers: string[], fromRound = 0): Promise<number[]> {
  const s = await snapshot(lab);
  return s.rounds.filter((r) => r.round >= fromRound && peers.every((p) => r.from.includes(p))).map((r) => r.round);
}

export async function closeAll(labs: LabPage[]): Promise<void> {
  await Promise.all(labs.map((l) => l.context.close().catch(() => undefined)));
}
