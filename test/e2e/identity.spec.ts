// Identity end to end: pages with an injected test wallet connect, sign the dual-signed binding and register
// (own transaction and relayed), other pages see it on chain, coordinator-submitted rewards reach the leaderboard,
// a rejecting wallet leaves the tab running unregistered, and forged bindings are refused.
import { expect, test, type Browser, type Page } from '@playwright/test';
import { createPublicClient, http, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { installTestWallet, type TestWalletOptions } from './wallet/test-wallet.ts';
import { DEV_KEYS } from '../../scripts/lib/chain.ts';
import { swarmChain } from '../../src/identity/chain.ts';
import { encodeSignedBinding, signPeerBinding, verifyPeerBinding } from '../../src/identity/binding.ts';
import { CoordinatorServiceClient, CoordinatorServiceError, readNonce, rewardToUnits, signRewardReport } from '../../src/identity/coordinator.ts';

const chain = JSON.parse(process.env.TABSWARM_E2E_CHAIN ?? 'null') as { chainId: number; rpcUrl: string; coordinator: Address; coordinatorService: string } | null;
const client = chain ? createPublicClient({ chain: swarmChain(chain), transport: http(chain.rpcUrl) }) : null;

async function openPage(browser: Browser, wallet?: Omit<TestWalletOptions, 'rpcUrl' | 'chainId'>) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const installed = wallet ? await installTestWallet(page, { ...wallet, rpcUrl: chain!.rpcUrl, chainId: chain!.chainId }) : null;
  await page.goto('./');
  await expect(page.getByTestId('identity-peer-id')).toContainText('16Uiu2HA');
  return { page, context, errors, wallet: installed, peerId: (await page.getByTestId('identity-peer-id').textContent())!.trim() };
}

async function connectAndSign(page: Page, address: Address) {
  await expect(page.getByTestId('connect-wallet')).toHaveCount(1);
  await page.getByTestId('connect-wallet').click();
  await expect(page.getByTestId('identity-account')).toHaveText(address);
  await page.getByTestId('sign-binding').click();
  await expect(page.getByTestId('binding-signed')).toBeVisible();
}

test.beforeAll(() => {
  expect(chain, 'global setup must start the local chain (TABSWARM_E2E_CHAIN)').not.toBeNull();
});

test('a wallet connects (adding the chain), signs, registers with its own transaction; another page sees the binding', async ({ browser }) => {
  const user = privateKeyToAccount(DEV_KEYS.user1);
  const a = await openPage(browser, { privateKey: DEV_KEYS.user1, startChainId: 1 });
  // window.ethereum and its EIP-6963 announcement are one wallet, listed once.
  await expect(a.page.getByTestId('connect-wallet')).toHaveAttribute('data-wallet', 'org.tabswarm.testwallet');
  await connectAndSign(a.page, user.address);
  expect(a.wallet!.calls).toContain('wallet_addEthereumChain');
  expect(a.wallet!.calls).toContain('eth_signTypedData_v4');
  await a.page.getByTestId('register-own').click();
  await expect(a.page.getByTestId('identity-registered')).toBeVisible();
  await expect(a.page.getByTestId('identity-chain-status')).toContainText('your transaction');
  expect(a.wallet!.calls).toContain('eth_sendTransaction');
  // A reload keeps the peer key, so the tab is still registered before any wallet is connected.
  await a.page.reload();
  await expect(a.page.getByTestId('identity-peer-id')).toHaveText(a.peerId);
  await expect(a.page.getByTestId('identity-registered')).toBeVisible();

  const b = await openPage(browser);
  await expect(b.page.getByTestId('no-wallet')).toBeVisible();
  const row = b.page.locator(`[data-testid="leaderboard-row"][data-peer-id="${a.peerId}"]`);
  await expect(row).toHaveAttribute('data-account', user.address);
  expect([...a.errors, ...b.errors]).toEqual([]);
  await Promise.all([a.context.close(), b.context.close()]);
});

test('a burner wallet registers through the gasless relayer, is labelled and exportable', async ({ browser }) => {
  const a = await openPage(browser);
  await a.page.getByTestId('use-burner').click();
  await expect(a.page.getByTestId('burner-badge')).toBeVisible();
  await expect(a.page.getByTestId('burner-note')).toContainText('never sent anywhere');
  const burner = (await a.page.getByTestId('identity-account').textContent())!.trim() as Address;
  await a.page.getByTestId('sign-binding').click();
  await expect(a.page.getByTestId('register-own')).toBeDisabled();
  await a.page.getByTestId('register-relayed').click();
  await expect(a.page.getByTestId('identity-registered')).toBeVisible();
  await expect(a.page.getByTestId('identity-chain-status')).toContainText('relayed');
  expect(await client!.getBalance({ address: burner })).toBe(0n);
  await a.page.getByTestId('export-burner').click();
  const key = await a.page.getByTestId('burner-key').inputValue();
  expect(privateKeyToAccount(key as `0x${string}`).address).toBe(burner);
  expect(a.errors).toEqual([]);
  await a.context.close();
});

test('a wallet that refuses to sign leaves a clear message and the tab running, unregistered', async ({ browser }) => {
  const user = privateKeyToAccount(DEV_KEYS.user2);
  const a = await openPage(browser, { privateKey: DEV_KEYS.user2, reject: true });
  await a.page.getByTestId('connect-wallet').click();
  await expect(a.page.getByTestId('identity-account')).toHaveText(user.address);
  await a.page.getByTestId('sign-binding').click();
  await expect(a.page.getByTestId('identity-error')).toContainText('declined to sign');
  await expect(a.page.getByTestId('identity-error')).toContainText('keeps training, unregistered');
  await expect(a.page.getByTestId('identity-unregistered')).toBeVisible();
  // The rest of the tab is untouched: still on the swarm, and the buttons work again.
  await expect(a.page.getByTestId('peer-id')).toContainText('16Uiu2HA');
  await expect(a.page.getByTestId('sign-binding')).toBeEnabled();
  expect(a.errors).toEqual([]);
  await a.context.close();
});

test("the relayer and the peers' verifier refuse a bad peer signature and someone else's peer id", async ({ browser }) => {
  const a = await openPage(browser);
  const mallory = privateKeyToAccount(DEV_KEYS.user3);
  const malloryKey = await generateKeyPair('Ed25519');
  const domain = { chainId: chain!.chainId, verifyingContract: chain!.coordinator };
  const nonce = await readNonce(client! as never, chain!.coordinator, mallory.address);
  const base = { account: mallory.address, swarmId: 'e2e', nonce, deadline: BigInt(Math.floor(Date.now() / 1000) + 600) };
  const own = await signPeerBinding({ binding: { ...base, peerId: peerIdFromPrivateKey(malloryKey).toString() }, domain, wallet: mallory, peerKey: malloryKey });
  // Mallory names the page's peer id; she can sign with her wallet but not with the page's peer key.
  const walletSignature = await mallory.signTypedData({
    domain: { name: 'tabswarm SwarmCoordinator', version: '1', ...domain },
    types: { PeerBinding: [{ name: 'account', type: 'address' }, { name: 'peerId', type: 'string' }, { name: 'swarmId', type: 'string' }, { name: 'nonce', type: 'uint256' }, { name: 'deadline', type: 'uint256' }] },
    primaryType: 'PeerBinding',
    message: { ...base, peerId: a.peerId },
  });
  const stolen = { binding: { ...base, peerId: a.peerId }, domain, walletSignature, peerSignature: own.peerSignature };
  const garbled = { ...own, peerSignature: `0x${'ab'.repeat(64)}` as const };
  const service = new CoordinatorServiceClient(chain!.coordinatorService);
  for (const forged of [stolen, garbled]) {
    expect((await verifyPeerBinding(encodeSignedBinding(forged))).ok).toBe(false);
    const refused = await service.register(encodeSignedBinding(forged)).then(
      () => null,
      (e: CoordinatorServiceError) => e,
    );
    expect(refused).toMatchObject({ status: 400, message: expect.stringMatching(/peer signature/) });
  }
  await expect(a.page.locator(`[data-testid="leaderboard-row"][data-peer-id="${a.peerId}"]`)).toHaveCount(0);
  await a.context.close();
});

test('rewards submitted by the coordinator show on every page’s leaderboard', async ({ browser }) => {
  const viewer = await openPage(browser);
  // A headless peer (Node) registers through the relayer and reports a reward signed by its peer key.
  const owner = privateKeyToAccount(DEV_KEYS.deployer);
  const key = await generateKeyPair('secp256k1');
  const peerId = peerIdFromPrivateKey(key).toString();
  const domain = { chainId: chain!.chainId, verifyingContract: chain!.coordinator };
  const nonce = await readNonce(client! as never, chain!.coordinator, owner.address);
  const signed = await signPeerBinding({ binding: { account: owner.address, peerId, swarmId: 'e2e', nonce, deadline: BigInt(Math.floor(Date.now() / 1000) + 600) }, domain, wallet: owner, peerKey: key });
  const service = new CoordinatorServiceClient(chain!.coordinatorService);
  await service.register(encodeSignedBinding(signed));
  const { round, stage } = await service.health();
  await service.reportReward(await signRewardReport({ peerId, round: BigInt(round), stage: BigInt(stage), reward: rewardToUnits(1.25) }, { chainId: chain!.chainId, coordinator: chain!.coordinator }, key));
  const row = viewer.page.locator(`[data-testid="leaderboard-row"][data-peer-id="${peerId}"]`);
  await expect(row.getByTestId('leaderboard-reward')).toHaveText('1.250');
  await expect(row).toHaveAttribute('data-account', owner.address);
  expect(viewer.errors).toEqual([]);
  await viewer.context.close();
});

test('each open tab of one browser gets its own peer key, and a reload keeps it', async ({ browser }) => {
  const context = await browser.newContext();
  const [one, two] = [await context.newPage(), await context.newPage()];
  const peerIdOf = async (page: Page) => {
    await expect(page.getByTestId('identity-peer-id')).toContainText('16Uiu2HA');
    return (await page.getByTestId('identity-peer-id').textContent())!.trim();
  };
  await one.goto('./');
  const first = await peerIdOf(one);
  await two.goto('./');
  const second = await peerIdOf(two);
  expect(second).not.toBe(first);
  await one.reload();
  expect(await peerIdOf(one)).toBe(first);
  await context.close();
});
