// Helpers for the app specs: open app pages in their own browser contexts (own storage, own peer id) and
// read what they show.
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

export interface AppPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
  dialogs: string[];
}

export async function openApp(browser: Browser, path = './', context?: BrowserContext): Promise<AppPage> {
  const ctx = context ?? (await browser.newContext({ permissions: ['camera', 'microphone'] }));
  const page = await ctx.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // an alert() from injected markup would show up here (and be dismissed so the page does not hang)
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(path);
  return { page, context: ctx, errors, dialogs };
}

export async function peerIdOf(app: AppPage): Promise<string> {
  await expect(app.page.getByTestId('peer-id')).toContainText(/12D3KooW|16Uiu2HA/, { timeout: 30_000 });
  return (await app.page.getByTestId('peer-id').textContent())!.trim();
}

export async function closeAll(pages: { context: BrowserContext }[]): Promise<void> {
  await Promise.all(pages.map((p) => p.context.close().catch(() => undefined)));
}
