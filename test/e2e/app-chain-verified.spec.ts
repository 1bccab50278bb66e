// Verified rewards with real tabs: contributing app pages (CPU backend) register burners through the gasless
// relayer of a coordinator that follows the swarm (`relay/coordinator.ts --follow`, its own anvil). A tab reports
// each round's reward for the (round, stage) its swarm round maps to; the coordinator re-scores the tab's gossiped
// rollouts itself, finds the reports agree, and records its own re-scored values on chain. Two tabs also attest
// each other's rewards (k-of-n, quorum 1 here), which the service relays to the contract. Outcomes only.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect, test, type Browser } from '@playwright/test';
import { createPublicClient, createWalletClient, http, parseEventLogs, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { deployCoordinator, DEV_KEYS, startAnvil, type LocalChain } from '../../scripts/lib/chain.ts';
import { swarmChain } from '../../src/identity/chain.ts';
import { swarmCoordinatorAbi } from '../../src/identity/generated/SwarmCoordinator.ts';
import { encodeSwarmConfigParam, parseSwarmConfig } from '../../src/swarm/config.ts';
import { closeAll, openApp, peerIdOf, type AppPage } from './app/pages.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

interface Health {
  mapping?: { baseSwarmRound: number };
  agreedReports?: number;
  attested?: { sent: number; recorded: number };
}

/** Its own anvil and a coordinator CLI in verified mode following a fresh swarm on the shared relay. */
async function verifiedSwarm(baseURL: string, output: string[]) {
  const served = parseSwarmConfig(await (await fetch(new URL('swarm.json', baseURL))).json());
  const { chain: _chain, ...rest } = served;
  const swarmId = `e2e-chain-${Date.now()}`;
  const anvil = await startAnvil({ port: 0 });
  let child: ChildProcess | null = null;
  const stop = async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await anvil.stop();
  };
  try {
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
    const config = { ...gossip, chain: { chainId: anvil.chainId, rpcUrl: anvil.rpcUrl, coordinator, coordinatorService: url } };
    const health = async () => (await (await fetch(`${url}/health`)).json()) as Health;
    return { anvil, coordinator, url, param: encodeSwarmConfigParam(config), health, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A contributing page with a burner registered through the relayer. */
async function burnerTab(browser: Browser, param: string): Promise<AppPage & { peerId: string }> {
  const app = await openApp(browser, `./?backend=cpu&swarm=${param}`);
  const peerId = await peerIdOf(app);
  await app.page.getByTestId('use-burner').click();
  await app.page.getByTestId('sign-binding').click();
  await app.page.getByTestId('register-relayed').click();
  await expect(app.page.getByTestId('identity-registered'), 'the burner registers through the relayer').toBeVisible({ timeout: 60_000 });
  await expect(app.page.getByTestId('contribute')).toBeEnabled({ timeout: 120_000 });
  await app.page.getByTestId('contribute').click();
  return { ...app, peerId };
}

async function recordedFor(rpcUrl: string, coordinator: Address, peerId: string) {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const logs = await client.getLogs({ address: coordinator, fromBlock: 0n });
  return parseEventLogs({ abi: swarmCoordinatorAbi, eventName: 'RewardSubmitted', logs }).filter((l) => l.args.peerId === peerId);
}

test('a tab earns on chain exactly what the coordinator re-scored from its gossip, and its reports agree', async ({ browser, baseURL }) => {
  test.setTimeout(600_000);
  const output: string[] = [];
  const swarm = await verifiedSwarm(baseURL!, output);
  const apps: AppPage[] = [];
  try {
    expect((await swarm.health()).mapping, 'the coordinator runs in verified mode').toBeTruthy();
    const app = await burnerTab(browser, swarm.param);
    apps.push(app);
    const { peerId } = app;
    const recorded = () => recordedFor(swarm.anvil.rpcUrl, swarm.coordinator, peerId);
    await expect.poll(async () => (await recorded()).length, { message: `rewards of ${peerId} on chain; coordinator said:\n${output.slice(-20).join('\n')}`, timeout: 360_000, intervals: [2_000] }).toBeGreaterThanOrEqual(2);
    await expect.poll(async () => (await swarm.health()).agreedReports ?? 0, { message: "the tab's own reports agree with the re-score", timeout: 60_000, intervals: [1_000] }).toBeGreaterThan(0);
    const { refusals } = (await (await fetch(`${swarm.url}/refusals`)).json()) as { refusals: { peerId: string; reason: string }[] };
    const disagreements = refusals.filter((r) => r.peerId === peerId && /re-score to|claimed reward/.test(r.reason));
    expect(disagreements, 'no report or batch of the honest tab disagrees with the re-score').toEqual([]);
    for (const l of await recorded()) expect(l.args.reward, 'every recorded reward is within the honest range').toBeLessThanOrEqual(1100n);
    expect(app.errors, 'no page errors').toEqual([]);
  } finally {
    await closeAll(apps);
    await swarm.stop();
  }
});

test('two burner tabs attest each other and the service relays the attestations to the contract', async ({ browser, baseURL }) => {
  test.setTimeout(600_000);
  const output: string[] = [];
  const swarm = await verifiedSwarm(baseURL!, output);
  const apps: (AppPage & { peerId: string })[] = [];
  try {
    // two tabs, so each has one peer to vouch for: the owner lowers the quorum to one attester
    const owner = createWalletClient({ account: privateKeyToAccount(DEV_KEYS.deployer), chain: swarmChain(swarm.anvil), transport: http(swarm.anvil.rpcUrl) });
    const client = createPublicClient({ transport: http(swarm.anvil.rpcUrl) });
    await client.waitForTransactionReceipt({ hash: await owner.writeContract({ address: swarm.coordinator, abi: swarmCoordinatorAbi, functionName: 'setAttestationQuorum', args: [1n] }) });
    apps.push(await burnerTab(browser, swarm.param), await burnerTab(browser, swarm.param));
    await expect.poll(async () => (await swarm.health()).attested?.sent ?? 0, { message: `attestations relayed; coordinator said:\n${output.slice(-20).join('\n')}`, timeout: 360_000, intervals: [2_000] }).toBeGreaterThan(0);
    for (const app of apps) {
      await expect.poll(async () => (await recordedFor(swarm.anvil.rpcUrl, swarm.coordinator, app.peerId)).length, { message: `rewards of ${app.peerId} on chain`, timeout: 120_000, intervals: [2_000] }).toBeGreaterThan(0);
      expect(app.errors, 'no page errors').toEqual([]);
    }
  } finally {
    await closeAll(apps);
    await swarm.stop();
  }
});
