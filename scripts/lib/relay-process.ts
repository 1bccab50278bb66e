// Runs the relay as a child process (so tests can kill and restart it) and reads its addresses.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

export interface RelayProcess {
  multiaddrs: string[];
  health: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface RelayProcessOptions {
  port: number;
  host?: string;
  swarmId?: string;
  /** keeps the relay's peer id across restarts (tests that kill and restart it pass the same file) */
  keyFile?: string;
}

export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const child = spawn(
    process.execPath,
    [
      '--experimental-websocket',
      '--no-warnings=ExperimentalWarning',
      '--import',
      './scripts/register.mjs',
      'relay/main.ts',
      '--port',
      String(options.port),
      '--host',
      options.host ?? '127.0.0.1',
      '--swarm',
      options.swarmId ?? 'local',
      ...(options.keyFile ? ['--key-file', options.keyFile] : []),
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  const info = await new Promise<{ multiaddrs: string[]; health: string | null }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('relay did not report its address within 30 s')), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`relay exited with code ${code} before starting`));
    });
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { relay?: { multiaddrs: string[]; health: string | null } };
        if (parsed.relay) {
          clearTimeout(timer);
          resolve(parsed.relay);
        }
      } catch {
        // not our JSON line; ignore
      }
    });
  });
  return {
    ...info,
    process: child,
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
