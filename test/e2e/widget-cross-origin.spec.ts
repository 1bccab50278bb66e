// The widget embedded in another site: a host page on its own origin (a second server on another port) loads
// <baseURL>tabswarm-widget.js, and one click on the widget contributes a round. The card runs in an iframe on the
// app's origin, so the host page's scripts cannot reach the tab's keys or storage: asserted from the host's side.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { closeAll, openApp, type AppPage } from './app/pages.ts';

const ROUND_TIMEOUT = 120_000;

function hostPage(appBase: string): string {
  const script = new URL('tabswarm-widget.js', appBase).href;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Someone else's site</title></head>
<body><h1>A site on another origin</h1>
<script type="module" src="${script}"></script>
<tabswarm-widget></tabswarm-widget></body></html>`;
}

async function serveHost(html: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

test('the widget embedded in a page on another origin contributes a round', async ({ browser, baseURL }, testInfo) => {
  test.setTimeout(240_000);
  const appBase = baseURL!;
  const host = await serveHost(hostPage(appBase));
  const opened: AppPage[] = [];
  const console: string[] = [];
  const failed: string[] = [];
  try {
    expect(new URL(host.url).origin).not.toBe(new URL(appBase).origin);
    const app = await openApp(browser, host.url);
    opened.push(app);
    const { page } = app;
    page.on('console', (m) => {
      if (m.type() === 'error') console.push(m.text());
    });
    // a request CORS blocks fails outright (an absent optional model file is a plain 404 response, not this)
    page.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
    const card = page.frameLocator('tabswarm-widget iframe');
    const button = card.getByTestId('widget-contribute');
    await expect(button).toBeEnabled({ timeout: 60_000 });
    await button.click();
    await expect(card.getByTestId('widget-numbers')).toContainText(/round \d+ · reward [\d.]+ · [1-9]\d* rounds? done/, { timeout: ROUND_TIMEOUT });
    await expect(button).toHaveText('Pause');
    await expect(card.getByTestId('widget-status')).not.toContainText('Could not');

    // The card, its worker and its keys live on the app's origin…
    const frame = page.frames().find((f) => f.url().includes('widget-frame.html'));
    expect(frame && new URL(frame.url()).origin).toBe(new URL(appBase).origin);
    const databases = () => indexedDB.databases().then((list) => list.map((d) => d.name));
    expect(await frame!.evaluate(databases)).toContain('tabswarm-identity');
    const stored = await frame!.evaluate(
      () =>
        new Promise<{ names: string[]; peerKeyIsBytes: boolean; peerKeySealed: boolean; wrapKeyExtractable: boolean | null }>((resolve, reject) => {
          const open = indexedDB.open('tabswarm-identity');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const store = open.result.transaction('keys').objectStore('keys');
            const names = store.getAllKeys();
            const peerKey = store.get('peer-key-0');
            const wrapKey = store.get('wrap-key');
            wrapKey.onsuccess = () =>
              resolve({
                names: names.result.map(String),
                peerKeyIsBytes: peerKey.result instanceof Uint8Array,
                peerKeySealed: peerKey.result?.v === 1 && peerKey.result?.data instanceof ArrayBuffer,
                wrapKeyExtractable: wrapKey.result instanceof CryptoKey ? wrapKey.result.extractable : null,
              });
          };
        }),
    );
    // the peer key is at rest only as ciphertext, under a wrapping key no script can export (key-vault.ts)
    expect(stored).toEqual({ names: expect.arrayContaining(['peer-key-0', 'wrap-key']), peerKeyIsBytes: false, peerKeySealed: true, wrapKeyExtractable: false });
    // …where the host page's scripts cannot reach them: not the frame's document, not its storage, not its globals.
    const reach = await page.evaluate(async () => {
      const iframe = document.querySelector('tabswarm-widget')!.shadowRoot!.querySelector('iframe')!;
      const tryRead = (read: () => unknown) => {
        try {
          return `read: ${String(read())}`;
        } catch (error) {
          return (error as Error).name;
        }
      };
      return {
        contentDocument: iframe.contentDocument === null ? 'null' : 'readable',
        document: tryRead(() => iframe.contentWindow!.document),
        storage: tryRead(() => iframe.contentWindow!.localStorage),
        indexedDB: tryRead(() => (iframe.contentWindow as unknown as { indexedDB: IDBFactory }).indexedDB),
        hostDatabases: (await indexedDB.databases()).map((d) => d.name),
      };
    });
    expect(reach).toEqual({ contentDocument: 'null', document: 'SecurityError', storage: 'SecurityError', indexedDB: 'SecurityError', hostDatabases: [] });
    await page.locator('tabswarm-widget').screenshot({ path: testInfo.outputPath('widget-cross-origin.png') });
    await page.screenshot({ path: testInfo.outputPath('widget-cross-origin-page.png'), fullPage: true });
    expect(app.errors).toEqual([]);
    // a CORS or worker failure shows up even when the widget copes with it
    expect(console.filter((m) => /CORS|cross-origin|SecurityError/i.test(m))).toEqual([]);
    expect(failed).toEqual([]);
  } finally {
    await closeAll(opened);
    await host.close();
  }
});
