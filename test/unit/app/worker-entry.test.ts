// workerEntry: a same-origin worker script starts directly; one on another origin starts from a blob: module
// that imports it (the embedded widget's case).
import { describe, expect, it } from 'vitest';
import { workerEntry } from '../../../src/worker/client.ts';

describe('workerEntry', () => {
  it('starts a same-origin script by its URL', () => {
    expect(workerEntry('http://app.test:5173/assets/engine.worker-x.js', 'http://app.test:5173')).toEqual({
      url: 'http://app.test:5173/assets/engine.worker-x.js',
    });
  });

  it('imports a script on another origin (another port counts) from a module source', () => {
    const entry = workerEntry('http://127.0.0.1:5273/assets/engine.worker-x.js', 'http://127.0.0.1:8080');
    expect(entry).toEqual({ source: 'import "http://127.0.0.1:5273/assets/engine.worker-x.js";\n' });
  });

  it('quotes a URL that would otherwise end the string literal', () => {
    const entry = workerEntry('https://cdn.test/a"b.js', 'https://site.test');
    expect('source' in entry && entry.source).toBe('import "https://cdn.test/a%22b.js";\n');
  });

  it('rejects a relative URL with a named error', () => {
    expect(() => workerEntry('assets/engine.worker.js', 'https://site.test')).toThrow(/must be absolute, got "assets\/engine.worker.js"/);
  });
});
