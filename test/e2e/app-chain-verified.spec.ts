// Verified rewards with a real tab: a contributing app page (CPU backend) registers a burner through the gasless
// relayer of a coordinator that follows the swarm (`relay/coordinator.ts --follow`, its own anvil). The tab
// reports each round's reward for the (round, stage) its swarm round maps to; the coordinator re-scores the tab's
// gossiped rollouts itself, finds the reports agree, and records its own re-scored values on chain. Outcomes only.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { createPublicClient, http, parseEventLogs } from 'viem';
import { deployCoordinator, DEV_KEYS, startAnvil, type LocalChain } from '../../scripts/lib/chain.ts';
import { swarmCoordinatorAbi } from '../../src/identity/generated/SwarmCoordinator.ts';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { closeAll, openApp, peerIdOf, type AppPage } from './app/pages.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

test('a tab earns on chain exactly what the coordinator re-scored from its gossip, and its reports agree', async ({ browser, baseURL }) => {
  test.setTimeout(600_000);
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = served;
  const swarmId = `e2e-chain-${Date.now()}`;
  let anvil: LocalChain | null = null;
  let child: ChildProcess | null = null;
  const apps: AppPage[] = [];
  const output: string[] = [];
  try {
    anvil = await startAnvil({ port: 0 });
    const coordinator = await deployCoordinator({ rpcUrl: anvil.rpcUrl, swarmId, stagesPerRound: 1 });
    const gossip = { ...rest, swarmId };
    child = spawn(
      process.execPath,
      ['--experimental-websocket', '--no-warnings=ExperimentalWarning', '--import', './scripts/register.mjs', 'relay/coordinator.ts',
        '--rpc', anvil.rpcUrl, '--contract', coordinator, '--swarm', swarmId, '--port', '0', '--follow', JSON.stringify(gossip)],
      { cwd: repo, env: { ...process.env, TABSWARM_COORDINATOR_KEY: DEV_KEYS.coordinator }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr!.on('data', (d: Buffer) => output.push(d.toString().trim()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the coordinator did not start within 90 s:\n${output.join('\n')}`)), 90_000);
      createInterface({ input: child!.stdout! }).on('line', (line) => {
        try {
          const event = JSON.parse(line) as { coordinator?: { url: string } };
          if (event.coordinator) {
            clearTimeout(timer);
            resolve(event.coordinator.url);
          }
        } catch {
          // not an event line
        }
      });
    });
    const health = async () => (await (await fetch(`${url}/health`)).json()) as { mapping?: { baseSwarmRound: number }; agreedReports?: number };
    expect((await health()).mapping, 'the coordinator runs in verified mode').toBeTruthy();

    const config = { ...gossip, chain: { chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, coordinator, coordinatorService: url } };
    const app = await openApp(browser, `./?backend=cpu&swarm=${encodeSwarmConfigParam(config)}`);
    apps.push(app);
    const peerId = await peerIdOf(app);
    await app.page.getByTestId('use-burner').click();
    await app.page.getByTestId('sign-binding').click();
    await app.page.getByTestId('register-relayed').click();
    await expect(app.page.getByTestId('identity-registered'), 'the burner registers through the relayer').toBeVisible({ timeout: 60_000 });
    await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 120_000 });
    await app.page.getByTestId('contribute').click();

    const client = createPublicClient({ transport: http(anvil.rpcUrl) });
    const recorded = async () =>
      parseEventLogs({ abi: swarmCoordinatorAbi, eventName: 'RewardSubmitted', logs: await client.getLogs({ address: coordinator, fromBlock: 0n }) }).filter((l) => l.args.peerId === peerId);
    await expect.poll(async () => (await recorded()).length, { message: `rewards of ${peerId} on chain; coordinator said:\n${output.slice(-20).join('\n')}`, timeout: 360_000, intervals: [2_000] }).toBeGreaterThanOrEqual(2);
    await expect.poll(async () => (await health()).agreedReports ?? 0, { message: "the tab's own reports agree with the re-score", timeout: 60_000, intervals: [1_000] }).toBeGreaterThan(0);
    const { refusals } = (await (await fetch(`${url}/refusals`)).json()) as { refusals: { peerId: string; reason: string }[] };
    const disagreements = refusals.filter((r) => r.peerId === peerId && /re-score to|claimed reward/.test(r.reason));
    expect(disagreements, 'no report or batch of the honest tab disagrees with the re-score').toEqual([]);
    for (const l of await recorded()) expect(l.args.reward, 'every recorded reward is within the honest range').toBeLessThanOrEqual(1100n);
    expect(app.errors, 'no page errors').toEqual([]);
  } finally {
    await closeAll(apps);
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await anvil?.stop();
  }
});
