// Node entry hook: `?raw` imports and TypeScript through tsx, then the Node 20 polyfills before any
// application module. Use as `node --experimental-websocket --import ./scripts/register.mjs some/entry.ts`.
import { register as registerHooks } from 'node:module';
import { register } from 'tsx/esm/api';

registerHooks('./raw-loader.mjs', import.meta.url);
register();
await import('../src/node-polyfills.ts');
