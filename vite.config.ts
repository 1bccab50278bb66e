import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
import { svelte, vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { playwright } from '@vitest/browser-playwright';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/setup/chromium.ts';

const GPU_TESTS = 'test/gpu/**/*.test.ts';
const repo = fileURLToPath(new URL('.', import.meta.url));

// The app's pages live in src/app; tests and everything else resolve from the repository root.

export default defineConfig({
  plugins: [svelte({ configFile: false, preprocess: vitePreprocess() })],
  root: `${repo}src/app`,
  publicDir: `${repo}public`,
  base: './',
  build: {
    target: 'es2022',
    outDir: `${repo}dist`,
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 4096,
    // the app, plus the swarm lab (network diagnostics page driven by the e2e tests)
    rolldownOptions: {
      input: {
        main: `${repo}src/app/index.html`,
        lab: `${repo}src/app/lab.html`,
        // the embeddable <tabswarm-widget> at a stable URL (dist/tabswarm-widget.js), and a page embedding it
        'tabswarm-widget': `${repo}src/widget/tabswarm-widget.svelte.ts`,
        'widget-example': `${repo}src/app/widget-example.html`,
        // the inside of the widget: an iframe on the app's origin, so an embedding site cannot reach the tab's keys
        'widget-frame': `${repo}src/app/widget-frame.html`,
      },
      output: { entryFileNames: (chunk) => (chunk.name === 'tabswarm-widget' ? '[name].js' : 'assets/[name]-[hash].js') },
    },
  },
  worker: { format: 'es' },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  test: {
    projects: [
      {
        extends: true,
        root: repo,
        test: {
          name: 'unit',
          environment: 'node',
          // The machine is shared and noisy: a slow moment must not fail a correct test.
          testTimeout: 60_000,
          hookTimeout: 60_000,
          include: ['test/unit/**/*.test.ts'],
          setupFiles: ['test/setup/node.ts'],
        },
      },
      {
        extends: true,
        root: repo,
        test: {
          name: 'gpu-node',
          environment: 'node',
          include: [GPU_TESTS],
          exclude: ['test/gpu/**/*.browser.test.ts'],
          setupFiles: ['test/setup/node.ts', 'test/setup/gpu-node.ts'],
          pool: 'forks',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        root: repo,
        test: {
          name: 'browser',
          include: [GPU_TESTS],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
