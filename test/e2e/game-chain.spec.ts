// The swarm game's winners on the local chain: three app pages with funded test wallets register their peer
// ids, play a game swarm (the served chain, mode "game"), and each sends submitWinners for the round its votes
// decided; the leaderboard's Wins column counts them on every page.
import { expect, test } from '@playwright/test';
import { createTestClient, http, parseEther, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { installTestWallet } from './wallet/test-wallet.ts';
import { closeAll, type AppPage } from './app/pages.ts';

const chain = JSON.parse(process.env.TABSWARM_E2E_CHAIN ?? 'null') as { chainId: number; rpcUrl: string; coordinator: Address } | null;

test('three registered pages play the game and their winners reach the leaderboard\'s Wins column', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  expect(chain, 'global setup must start the local chain (TABSWARM_E2E_CHAIN)').not.toBeNull();
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  // the coordinator was deployed for the served swarm id: a binding names it, so the game keeps it
  const param = encodeSwarmConfigParam({ ...served, mode: 'game', roundMs: 12_000 });
  const anvil = createTestClient({ mode: 'anvil', transport: http(chain!.rpcUrl) });
  const opened: AppPage[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      // fresh funded accounts: other specs' bindings on this chain stay theirs
      const privateKey = generatePrivateKey();
      await anvil.setBalance({ address: privateKeyToAccount(privateKey).address, value: parseEther('10') });
      const context = await browser.newContext({ permissions: ['camera', 'microphone'] });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await installTestWallet(page, { privateKey, rpcUrl: chain!.rpcUrl, chainId: chain!.chainId });
      await page.goto(`./?backend=cpu&swarm=${param}`);
      opened.push({ page, context, errors, dialogs: [] });
    }
    for (const { page } of opened) {
      await page.getByTestId('connect-wallet').click();
      await page.getByTestId('sign-binding').click();
      await expect(page.getByTestId('binding-signed')).toBeVisible({ timeout: 30_000 });
      await page.getByTestId('register-own').click();
      await expect(page.getByTestId('identity-registered')).toBeVisible({ timeout: 30_000 });
    }
    for (const { page } of opened) await expect(page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    for (const { page } of opened) await page.getByTestId('contribute').click();
    // each page voted on chain for a decided round's winners
    for (const { page } of opened) await expect(page.getByTestId('identity-winners')).toContainText(/Voted for round \d+'s winners on chain/, { timeout: 150_000 });
    // and the Wins column shows them: some registered peer has wins, on every page
    for (const { page } of opened) {
      await expect
        .poll(async () => Math.max(0, ...(await page.getByTestId('leaderboard-wins').allTextContents()).map(Number)), { timeout: 30_000 })
        .toBeGreaterThan(0);
    }
    expect(opened.flatMap((a) => a.errors)).toEqual([]);
  } finally {
    await closeAll(opened);
  }
});
