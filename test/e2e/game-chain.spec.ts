// The swarm game paced by the chain, with its winners on the chain: the test deploys a coordinator of its own
// on the local chain (it alone is the stage manager, so no timer moves the counter behind its back), three app
// pages with funded test wallets register their peer ids and contribute. The test advances the stage counter
// by transactions; the pages' stages follow it (they joined after round 0's answer, so they sit round 0 out
// and play from round 1), peers' game messages cross under the chain's rounds (three students a question),
// each page sends submitWinners for a round its votes decided, and the leaderboard's Wins column counts them.
// The conference screen shows the chain's round and stage.
import { expect, test } from '@playwright/test';
import { createPublicClient, createTestClient, createWalletClient, http, parseEther, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { deployCoordinator } from '../../scripts/lib/chain.ts';
import { swarmCoordinatorAbi } from '../../src/identity/generated/SwarmCoordinator.ts';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { installTestWallet } from './wallet/test-wallet.ts';
import { closeAll, openApp, type AppPage } from './app/pages.ts';

const chain = JSON.parse(process.env.TABSWARM_E2E_CHAIN ?? 'null') as { chainId: number; rpcUrl: string; coordinator: Address } | null;
const STAGES = ['answer', 'critique', 'resolve'] as const;

test('the chain\'s stage counter paces three pages\' game, and their winners reach the leaderboard\'s Wins column', async ({ browser, baseURL }) => {
  test.setTimeout(300_000);
  expect(chain, 'global setup must start the local chain (TABSWARM_E2E_CHAIN)').not.toBeNull();
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const anvil = createTestClient({ mode: 'anvil', transport: http(chain!.rpcUrl) });
  const client = createPublicClient({ transport: http(chain!.rpcUrl) });
  // a stage manager of this test's own (the served coordinator's service advances its own contract on a timer)
  const managerKey = generatePrivateKey();
  const manager = privateKeyToAccount(managerKey);
  await anvil.setBalance({ address: manager.address, value: parseEther('10') });
  const swarmId = 'e2e-game-paced';
  const coordinator = await deployCoordinator({ rpcUrl: chain!.rpcUrl, chainId: chain!.chainId, swarmId, stagesPerRound: 1, deployerKey: managerKey, stageManager: manager.address });
  const wallet = createWalletClient({ account: manager, transport: http(chain!.rpcUrl) });
  let counter = 0;
  const advance = async () => {
    const hash = await wallet.writeContract({ address: coordinator, abi: swarmCoordinatorAbi, functionName: 'advanceStage', args: [], chain: null });
    await client.waitForTransactionReceipt({ hash, pollingInterval: 50 });
    counter++;
  };
  const { chain: _served, ...rest } = served;
  const param = encodeSwarmConfigParam({ ...rest, swarmId, mode: 'game', roundMs: 12_000, chain: { chainId: chain!.chainId, rpcUrl: chain!.rpcUrl, coordinator } });
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
    const players = [...opened];
    const screen = await openApp(browser, `./?mode=screen&swarm=${param}`);
    opened.push(screen);
    for (const { page } of players) {
      await page.getByTestId('connect-wallet').click();
      await page.getByTestId('sign-binding').click();
      await expect(page.getByTestId('binding-signed')).toBeVisible({ timeout: 30_000 });
      await page.getByTestId('register-own').click();
      await expect(page.getByTestId('identity-registered')).toBeVisible({ timeout: 30_000 });
    }
    // round 0's answer stage closes before anyone plays: the pages join late and play from round 1
    await advance();
    for (const { page } of players) await expect(page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    for (const { page } of players) await page.getByTestId('contribute').click();
    for (const { page } of players) {
      await expect(page.getByTestId('game-pace')).toHaveText('stages: coordinator contract', { timeout: 60_000 });
      await expect(page.getByTestId('game-stage')).toHaveText(/waiting for the next round's answer stage/);
    }
    await advance(); // resolve of round 0: still sat out
    await new Promise((r) => setTimeout(r, 3_000));
    for (const { page } of players) await expect(page.getByTestId('game-stage')).toHaveText(/waiting for the next round's answer stage/);
    // rounds 1 and 2, and round 3 up to its critique (round 2's winners are read there): each stage is
    // advanced once every page has played the one before, and every page shows the chain's position
    while (counter < 10) {
      await advance();
      const round = Math.floor(counter / 3);
      const stage = STAGES[counter % 3];
      for (const { page } of players) await expect(page.getByTestId('game-stage')).toHaveText(`Round ${round}: ${stage}`, { timeout: 60_000 });
      if (round === 1 && stage === 'critique') {
        // the answers crossed under the chain's rounds (far behind the clock's): every page a student
        for (const { page } of players) await expect(page.getByTestId('game-students').first().locator('li')).toHaveCount(3);
        await expect(screen.page.getByTestId('screen-game-chain')).toHaveText(/^On chain: (critique|resolve) of round 1 \(coordinator round [45], stage 0\)$/, { timeout: 10_000 });
      }
    }
    // each page voted on chain for a decided round's winners
    for (const { page } of players) await expect(page.getByTestId('identity-winners')).toContainText(/Voted for round \d+'s winners on chain/, { timeout: 60_000 });
    // and the Wins column shows them: some registered peer has wins, on every page
    for (const { page } of players) {
      await expect
        .poll(async () => Math.max(0, ...(await page.getByTestId('leaderboard-wins').allTextContents()).map(Number)), { timeout: 30_000 })
        .toBeGreaterThan(0);
    }
    expect(opened.flatMap((a) => a.errors)).toEqual([]);
  } finally {
    await closeAll(opened);
  }
});
