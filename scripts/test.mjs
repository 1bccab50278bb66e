#!/usr/bin/env node
// `npm test`: every tier, one after another, then one line for the whole run.
//   unit      vitest in Node
//   gpu-node  vitest in Node on Dawn (npm `webgpu`) over the SwiftShader Vulkan driver
//   browser   vitest browser mode in headless Chromium (page and dedicated worker)
//   e2e       Playwright: several Chromium pages against the built app and a relay process
// Usage: npm test [-- --tier unit,gpu-node]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ensureSystemDeps } from './system-deps.mjs';

const repo = fileURLToPath(new URL('../', import.meta.url));
const out = `${repo}test-results`;
const TIERS = ['unit', 'gpu-node', 'browser', 'e2e'];

const tierArg = process.argv.indexOf('--tier');
const selected = tierArg > 0 ? process.argv[tierArg + 1].split(',') : TIERS;
for (const t of selected) {
  if (!TIERS.includes(t)) {
    console.error(`unknown tier "${t}"; tiers are ${TIERS.join(', ')}`);
    process.exit(2);
  }
}

if (selected.some((t) => t !== 'unit')) ensureSystemDeps();
mkdirSync(out, { recursive: true });

function run(cmd, args, env = {}) {
  const result = spawnSync(cmd, args, { cwd: repo, stdio: 'inherit', env: { ...process.env, ...env } });
  return result.status ?? 1;
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function vitestTier(name) {
  const file = `${out}/${name}.json`;
  rmSync(file, { force: true });
  const code = run(process.execPath, [
    'node_modules/vitest/vitest.mjs', 'run', '--project', name,
    '--reporter=default', '--reporter=json', `--outputFile.json=${file}`,
  ]);
  const report = readJson(file);
  if (!report) return { code, passed: 0, failed: 1, skipped: 0, note: 'no report written' };
  const failures = [];
  for (const f of report.testResults ?? []) {
    const where = f.name.replace(repo, '');
    if (f.status === 'failed' && !(f.assertionResults ?? []).some((t) => t.status === 'failed')) failures.push({ where, title: '(file)', message: f.message ?? '' });
    for (const t of f.assertionResults ?? []) {
      if (t.status === 'failed') failures.push({ where, title: t.fullName ?? t.title, message: (t.failureMessages ?? []).join('\n') });
    }
  }
  return {
    code,
    failures,
    passed: report.numPassedTests,
    failed: report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0) + (code !== 0 && report.numFailedTests === 0 ? 1 : 0),
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

function e2eTier() {
  const file = `${out}/e2e.json`;
  rmSync(file, { force: true });
  const code = run(process.execPath, ['node_modules/@playwright/test/cli.js', 'test', '-c', 'test/e2e/playwright.config.ts', '--reporter=list,json'], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: file,
  });
  const report = readJson(file);
  if (!report) return { code, passed: 0, failed: 1, skipped: 0, note: 'no report written' };
  const s = report.stats;
  const failures = [];
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        if (test.status !== 'unexpected') continue;
        const last = test.results?.at(-1);
        failures.push({ where: `${spec.file}:${spec.line}`, title: spec.title, message: last?.error?.message ?? last?.errors?.map((e) => e.message).join('\n') ?? '' });
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of report.suites ?? []) walk(suite);
  return {
    code,
    failures,
    passed: s.expected + s.flaky,
    failed: s.unexpected + (code !== 0 && s.unexpected === 0 ? 1 : 0),
    skipped: s.skipped,
  };
}

const results = [];
for (const tier of selected) {
  console.log(`\n━━━ tier ${tier} ━━━`);
  const started = Date.now();
  const r = tier === 'e2e' ? e2eTier() : vitestTier(tier);
  results.push({ tier, ...r, seconds: Math.round((Date.now() - started) / 1000) });
}

console.log('\n━━━ summary ━━━');
let passed = 0;
let failed = 0;
let skipped = 0;
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  skipped += r.skipped;
  if (r.passed === 0 && r.failed === 0) failed += 1; // a tier that ran nothing is a failure
  const status = r.failed === 0 && r.passed > 0 ? 'ok  ' : 'FAIL';
  console.log(`${status} ${r.tier.padEnd(9)} ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (${r.seconds} s)${r.note ? ` — ${r.note}` : ''}`);
}
// the failures again, short, so the tail of a CI log names them
const strip = (text) => text.replace(/\x1b\[[0-9;]*m/g, '');
for (const r of results) {
  for (const f of (r.failures ?? []).slice(0, 10)) {
    console.log(`FAILED [${r.tier}] ${f.where} › ${f.title}`);
    console.log(strip(f.message).split('\n').slice(0, 6).map((l) => `    ${l.slice(0, 300)}`).join('\n'));
  }
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && existsSync(out) ? 0 : 1);
