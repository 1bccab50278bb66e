// Node entry hook: TypeScript through tsx, then the Node 20 polyfills before any application module.
// Use as `node --experimental-websocket --import ./scripts/register.mjs some/entry.ts`.
import { register } from 'tsx/esm/api';

register();
await import('../src/node-polyfills.ts');
