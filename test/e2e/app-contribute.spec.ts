// Landing -> one click (from the keyboard) -> the default model trains on SwiftShader's WebGPU in the engine
// worker -> a round completes and the reward plot shows it; a reload resumes from the checkpoint with the same
// weights; the widget example page contributes too. Screenshots land in the test output folder.
import { expect, test, type Page } from '@playwright/test';
import { closeAll, openApp, type AppPage } from './app/pages.ts';

const ROUND_TIMEOUT = 120_000;

/** the "this tab" column of the held-out chart's table: one accuracy per evaluation */
async function heldOutPoints(page: Page): Promise<number[]> {
  const cells = await page.getByTestId('heldout-chart-table').locator('tbody tr td:nth-child(2)').allTextContents();
  return cells.filter((c) => c !== '—').map(Number);
}

async function roundsPlotted(page: Page): Promise<number> {
  return Number(await page.getByTestId('reward-chart').getAttribute('data-points'));
}

/** the "this tab" column of the reward chart's table: one number per completed round */
async function ownRewards(page: Page): Promise<number[]> {
  const cells = await page.getByTestId('reward-chart-table').locator('tbody tr td:nth-child(2)').allTextContents();
  return cells.filter((c) => c !== '—').map(Number);
}

test('one click contributes: a round completes, the plot shows it, and a reload resumes with the same weights', async ({ browser }, testInfo) => {
  test.setTimeout(300_000);
  const opened: AppPage[] = [];
  try {
    const app = await openApp(browser);
    opened.push(app);
    const { page } = app;
    await expect(page.getByTestId('contribute')).toBeEnabled({ timeout: 60_000 });
    await expect(page.getByTestId('memory-estimate')).toHaveText(/^Needs about \d+ MiB of memory; this tab allows [\d.]+ (MiB|GiB)\.$/);
    await page.screenshot({ path: testInfo.outputPath('landing.png'), fullPage: true });

    // keyboard only: Tab to the button, Enter to press it
    for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) !== 'contribute'; i++) {
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await expect(page.getByTestId('contributing')).toContainText('WebGPU', { timeout: 60_000 });
    await expect(page.getByTestId('weights-digest')).toHaveText(/^[0-9a-f]{8}$/);

    await expect.poll(() => ownRewards(page), { timeout: ROUND_TIMEOUT, intervals: [1_000] }).not.toEqual([]);
    expect(await roundsPlotted(page)).toBeGreaterThanOrEqual(1);
    expect((await ownRewards(page)).every((r) => Number.isFinite(r) && r >= 0)).toBe(true);
    await expect(page.getByTestId('saved-round')).toContainText(/Saved after round \d+/, { timeout: 30_000 });
    await expect(page.getByTestId('tokens-per-s')).toHaveText(/^\d+$/);
    await expect(page.getByTestId('own-samples').locator('li').first()).toContainText(/reward \d/);
    // held-out accuracy: the start line is measured before the first round, so the curve has a point by now
    await expect.poll(() => heldOutPoints(page), { timeout: 30_000, intervals: [1_000] }).not.toEqual([]);
    expect((await heldOutPoints(page)).every((a) => Number.isFinite(a) && a >= 0 && a <= 1)).toBe(true);
    await expect(page.getByTestId('heldout-chart')).toContainText('Held-out accuracy');
    await expect(page.getByTestId('heldout-accuracy')).toHaveText(/^\d+%$/);
    await expect(page.getByTestId('optimizer-steps')).toHaveText(/^\d+$/);
    await page.screenshot({ path: testInfo.outputPath('dashboard.png'), fullPage: true });

    const savedRound = Number((await page.getByTestId('saved-round').textContent())!.match(/round (\d+)/)![1]);
    const digest = (await page.getByTestId('weights-digest').textContent())!.trim();

    await page.reload();
    // no click: the tab was contributing, so it goes on from its checkpoint
    await expect(page.getByTestId('contributing')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('saved-round')).toContainText(`Saved after round ${savedRound};`);
    await expect(page.getByTestId('round')).toHaveText(String(savedRound));
    await expect(page.getByTestId('weights-digest')).toHaveText(digest);
    // and training continues with the next rounds
    await expect.poll(() => ownRewards(page), { timeout: ROUND_TIMEOUT, intervals: [1_000] }).not.toEqual([]);
    const after = Number((await page.getByTestId('round').textContent())!.trim());
    expect(after).toBeGreaterThan(savedRound);

    // the improved model downloads as a Hugging Face folder (one file each where no folder picker exists)
    await page.evaluate(() => Object.defineProperty(window, 'showDirectoryPicker', { value: undefined, configurable: true }));
    const downloads: string[] = [];
    page.on('download', (d) => downloads.push(d.suggestedFilename()));
    await page.getByTestId('download-model').click();
    await expect
      .poll(() => [...downloads].sort(), { timeout: 30_000 })
      .toEqual(expect.arrayContaining(['tabswarm-tiny-config.json', 'tabswarm-tiny-model.safetensors', 'tabswarm-tiny-tokenizer.json', 'tabswarm-tiny-tokenizer_config.json']));
    // alone, the swarm model is this tab's own (the mean of one model), and it says so
    await page.getByTestId('download-swarm-model').click();
    await expect(page.getByTestId('swarm-model-status')).toContainText('the mean of 1 model', { timeout: 30_000 });
    await expect.poll(() => downloads.filter((d) => d.startsWith('tabswarm-tiny-swarm-')).sort(), { timeout: 30_000 })
      .toEqual(expect.arrayContaining(['tabswarm-tiny-swarm-config.json', 'tabswarm-tiny-swarm-model.safetensors']));

    // hiding the tab pauses training (the default setting) and showing it resumes
    const setHidden = (hidden: boolean) =>
      page.evaluate((h) => {
        Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
        document.dispatchEvent(new Event('visibilitychange'));
      }, hidden);
    await setHidden(true);
    await expect(page.getByTestId('resume')).toBeVisible();
    await setHidden(false);
    await expect(page.getByTestId('pause')).toBeVisible();

    // phone width, dark scheme: still usable (no horizontal scroll) and captured
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: testInfo.outputPath('dashboard-phone-dark.png'), fullPage: true });
    expect(app.errors).toEqual([]);
  } finally {
    await closeAll(opened);
  }
});

test('the widget example page contributes from its embedded <tabswarm-widget>', async ({ browser }, testInfo) => {
  test.setTimeout(240_000);
  const opened: AppPage[] = [];
  try {
    const host = await openApp(browser, './widget-example.html');
    opened.push(host);
    const { page } = host;
    // the widget's card runs in an iframe on the app's origin (src/widget/tabswarm-widget.svelte.ts)
    const card = page.frameLocator('tabswarm-widget iframe');
    const button = card.getByTestId('widget-contribute');
    await expect(button).toBeEnabled({ timeout: 60_000 });
    // the host page styles every button hot pink; the widget's frame keeps its own look
    expect(await button.evaluate((b) => getComputedStyle(b).backgroundColor)).not.toBe('rgb(255, 105, 180)');
    await button.click();
    await expect(card.getByTestId('widget-numbers')).toContainText(/round \d+ · reward [\d.]+ · [1-9]\d* rounds? done/, { timeout: ROUND_TIMEOUT });
    await expect(button).toHaveText('Pause');
    await page.locator('tabswarm-widget').screenshot({ path: testInfo.outputPath('widget.png') });
    await page.screenshot({ path: testInfo.outputPath('widget-page.png'), fullPage: true });
    expect(host.errors).toEqual([]);
  } finally {
    await closeAll(opened);
  }
});
