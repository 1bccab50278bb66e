// Runs `scripts/peer.ts` (the headless Node peer) as a child process and collects its JSON-line events.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { encodeSwarmConfigParam, type SwarmConfig } from '../../../src/swarm/config.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

export interface NodePeer {
  process: ChildProcess;
  peerId: Promise<string>;
  events: Record<string, unknown>[];
  stop(): Promise<void>;
}

export function startNodePeer(config: SwarmConfig, seconds = 120, extraArgs: string[] = []): NodePeer {
  const child = spawn(
    process.execPath,
    ['--experimental-websocket', '--no-warnings=ExperimentalWarning', '--import', './scripts/register.mjs', 'scripts/peer.ts', '--config', encodeSwarmConfigParam(config), '--seconds', String(seconds), ...extraArgs],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const events: Record<string, unknown>[] = [];
  let resolvePeer!: (id: string) => void;
  const peerId = new Promise<string>((resolve, reject) => {
    resolvePeer = resolve;
    child.once('exit', (code) => reject(new Error(`node peer exited with code ${code}`)));
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const event = JSON.parse(line) as Record<string, unknown>;
      events.push(event);
      if (event.peer) resolvePeer((event.peer as { peerId: string }).peerId);
    } catch {
      // not an event line
    }
  });
  child.stderr!.on('data', () => undefined);
  return {
    process: child,
    peerId,
    events,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
