// Before/after timing of one SAPO experiment job on this machine, interleaved: the job script
// (experiment-job.ts) runs alternately in a baseline checkout and in this tree, in fresh processes, so both
// see the same machine load; the report is the per-pair time ratio (baseline / this), its median and range,
// and whether both trees printed the same results (the speed-ups are meant not to change any).
//   git archive <commit> | tar -x -C /tmp/base && ln -s $PWD/node_modules /tmp/base/node_modules
//   cp scripts/bench/experiment-job.ts /tmp/base/scripts/bench/
//   npm run bench:job-ratio -- --baseline /tmp/base --pairs 3 --json ratio.json [-- job args: --rounds 5 ...]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a, positionals } = parseArgs({
  options: { baseline: { type: 'string' }, pairs: { type: 'string', default: '3' }, json: { type: 'string' } },
  allowPositionals: true,
});
if (!a.baseline) throw new Error('--baseline DIR (a checkout of the commit to compare with) is required');
const baseline = resolve(a.baseline);
const here = resolve('.');
for (const dir of [baseline, here]) {
  if (!existsSync(join(dir, 'scripts/bench/experiment-job.ts'))) throw new Error(`${dir} has no scripts/bench/experiment-job.ts (copy it there)`);
}
const pairs = Number(a.pairs);
if (!Number.isInteger(pairs) || pairs < 1) throw new Error(`--pairs must be an integer >= 1, got ${a.pairs}`);
const jobArgs = positionals.length ? positionals : ['--rounds', '5', '--peers', '3'];

interface JobOut { seconds: number; roundSeconds: number; evalSeconds: number; figures: Record<string, number> }
function runIn(dir: string): JobOut {
  const out = join('/tmp', `tabswarm-job-${process.pid}.json`);
  execFileSync(process.execPath, ['--experimental-websocket', '--no-warnings=ExperimentalWarning', '--import', './scripts/register.mjs',
    'scripts/bench/experiment-job.ts', ...jobArgs, '--json', out], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(readFileSync(out, 'utf8')) as JobOut;
}

const rows: { baseline: JobOut; current: JobOut; ratio: number; roundRatio: number; sameResults: boolean }[] = [];
for (let p = 0; p < pairs; p++) {
  // alternate which goes first, so a load trend does not favour one side
  const [first, second] = p % 2 === 0 ? [baseline, here] : [here, baseline];
  const r1 = runIn(first), r2 = runIn(second);
  const [b, c] = first === baseline ? [r1, r2] : [r2, r1];
  const sameResults = JSON.stringify(b.figures) === JSON.stringify(c.figures);
  rows.push({ baseline: b, current: c, ratio: b.seconds / c.seconds, roundRatio: b.roundSeconds / c.roundSeconds, sameResults });
  console.log(`pair ${p + 1}: baseline ${b.seconds.toFixed(2)} s, this tree ${c.seconds.toFixed(2)} s, ratio ${(b.seconds / c.seconds).toFixed(3)} (rounds only ${(b.roundSeconds / c.roundSeconds).toFixed(3)}); results ${sameResults ? 'identical' : 'DIFFER'}`);
}
const ratios = rows.map((r) => r.ratio).sort((x, y) => x - y);
const median = ratios[Math.floor(ratios.length / 2)];
console.log(`job ${jobArgs.join(' ')}: speed-up median ${median.toFixed(3)}× (range ${ratios[0].toFixed(3)}–${ratios[ratios.length - 1].toFixed(3)}) over ${pairs} interleaved pairs; results identical in ${rows.filter((r) => r.sameResults).length}/${pairs}`);
if (a.json) writeFileSync(a.json, JSON.stringify({ jobArgs, baseline, pairs: rows, medianRatio: median }, null, 1));
