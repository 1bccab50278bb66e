import '../../src/node-polyfills.ts';
