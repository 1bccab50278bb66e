// Runs a rogue (test/e2e/network/rogue-peer.ts unless told) as its own Node process and collects its JSON event lines (one object
// a line on stdout; anything else is ignored). Its stderr is shown only with ROGUE_DEBUG set.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** `script`: the rogue to run, relative to the repository (rogue-peer.ts; weights-rogue.ts serves wrecked weights) */
export function spawnRogue(args: readonly string[], events: Record<string, unknown>[], script = 'test/e2e/network/rogue-peer.ts'): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    ['--experimental-websocket', '--no-warnings=ExperimentalWarning', '--import', './scripts/register.mjs', script, ...args],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr!.on('data', (d: Buffer) => process.env.ROGUE_DEBUG && process.stderr.write(d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not an event line
    }
  });
  return { child, exited: new Promise((resolve) => child.once('exit', resolve)) };
}
