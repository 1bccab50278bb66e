// The identity side of binding renewal, against a real anvil chain and real signatures: the burner re-signs
// silently, a browser wallet is asked (and the tab says why), a refusal returns null with a message and leaves
// the tab running. Only the key store (IndexedDB, absent in Node) and the wallet's UI (wagmi) are stand-ins.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import type { SwarmConfig } from '../../../src/swarm/config.ts';
import type { SignedPeerBindingWire } from '../../../src/identity/binding.ts';
import { verifyPeerBinding } from '../../../src/identity/binding.ts';
import { DEV_KEYS } from '../../../scripts/lib/chain.ts';
import { newPeer, startChainFixture, SWARM, type ChainFixture } from './fixture.ts';

const stand = vi.hoisted(() => ({
  refuse: false,
  asked: 0,
  burnerKey: '' as `0x${string}`,
  walletKey: '' as `0x${string}`,
  /** what the page shows at the moment the wallet pops up */
  onAsk: null as (() => void) | null,
}));

vi.mock('../../../src/identity/burner.ts', () => ({
  loadBurner: async () => privateKeyToAccount(stand.burnerKey),
  loadOrCreateBurner: async () => privateKeyToAccount(stand.burnerKey),
  exportBurnerKey: async () => stand.burnerKey,
  forgetBurner: async () => undefined,
}));

vi.mock('../../../src/identity/wallet.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/identity/wallet.ts')>();
  class StandInWallet {
    constructor(readonly chain: unknown) {}
    wallets() {
      return [{ id: 'stand-in', name: 'Stand-in wallet' }];
    }
    onWallets() {
      return () => undefined;
    }
    async connect() {
      return privateKeyToAccount(stand.walletKey).address;
    }
    async signBinding(typed: Parameters<ReturnType<typeof privateKeyToAccount>['signTypedData']>[0]) {
      stand.asked++;
      stand.onAsk?.();
      if (stand.refuse) throw new real.WalletError('The wallet refused to sign the binding.', true);
      return privateKeyToAccount(stand.walletKey).signTypedData(typed);
    }
    async disconnect() {}
  }
  return { ...real, WalletConnection: StandInWallet };
});

const { IdentityState } = await import('../../../src/app/identity/identity.svelte.ts');

let fx: ChainFixture;
const swarmBase: SwarmConfig = { swarmId: SWARM, relayAddrs: [], local: true, roundMs: 20_000, genesisMs: 0, taskMix: {}, modelId: 'tabswarm-tiny' };

beforeAll(async () => {
  fx = await startChainFixture(1);
  stand.burnerKey = DEV_KEYS.user1;
  stand.walletKey = DEV_KEYS.user2;
}, 60_000);
afterAll(async () => {
  await fx?.stop();
});

async function started() {
  const peer = await newPeer();
  const handed: { signed: SignedPeerBindingWire; renew: () => Promise<SignedPeerBindingWire | null> }[] = [];
  const identity = new IdentityState({ pollMs: 60_000, onBinding: (signed, renew) => handed.push({ signed, renew }) });
  await identity.start({ ...swarmBase, chain: { chainId: fx.chain.chainId, rpcUrl: fx.chain.rpcUrl, coordinator: fx.coordinator } } as SwarmConfig, peer.key);
  const expected = { swarmId: SWARM, chainId: fx.chain.chainId, verifyingContract: fx.coordinator };
  return { identity, handed, peer, verify: (s: SignedPeerBindingWire) => verifyPeerBinding(s, { expected, now: Math.floor(Date.now() / 1000) }) };
}

describe('binding renewal from the identity side', () => {
  it('hands a renew callback with each binding; the burner re-signs silently with a valid, later binding', async () => {
    const { identity, handed, peer, verify } = await started();
    try {
      await identity.useBurner();
      await identity.sign();
      expect(identity.snapshot.error).toBeNull();
      expect(handed).toHaveLength(1);
      expect(await verify(handed[0].signed)).toMatchObject({ ok: true });

      await new Promise((r) => setTimeout(r, 1_100));
      const asked = stand.asked;
      const renewed = await handed[0].renew();
      expect(renewed).not.toBeNull();
      expect(stand.asked).toBe(asked);
      expect(renewed!.binding).toMatchObject({ peerId: peer.peerId, account: privateKeyToAccount(DEV_KEYS.user1).address });
      expect(BigInt(renewed!.binding.deadline)).toBeGreaterThan(BigInt(handed[0].signed.binding.deadline));
      expect(await verify(renewed!)).toMatchObject({ ok: true });
      expect(identity.snapshot.renewal).toMatchObject({ state: 'renewed' });

      // disconnected: nobody may re-sign, the binding is left to lapse
      await identity.disconnect();
      expect(await handed[0].renew()).toBeNull();
    } finally {
      identity.stop();
    }
  });

  it('a browser wallet is asked, with a notice; a refusal returns null, says the tab keeps running, and loses nothing', async () => {
    const { identity, handed, verify } = await started();
    try {
      await identity.connect('stand-in');
      stand.refuse = false;
      await identity.sign();
      expect(handed).toHaveLength(1);
      const first = handed[0].signed;

      // the notice is up while the wallet is asked, so the pop-up does not come out of nowhere
      const notices: unknown[] = [];
      stand.onAsk = () => notices.push(identity.snapshot.renewal);
      const askedBefore = stand.asked;
      const renewed = await handed[0].renew();
      expect(stand.asked).toBe(askedBefore + 1);
      expect(notices).toEqual([{ state: 'asking', message: expect.stringMatching(/wallet asks you to sign it again/) }]);
      expect(await verify(renewed!)).toMatchObject({ ok: true });
      expect(identity.snapshot.renewal).toMatchObject({ state: 'renewed' });

      stand.refuse = true;
      expect(await handed[0].renew()).toBeNull();
      expect(identity.snapshot.renewal).toMatchObject({ state: 'declined', message: expect.stringMatching(/declined.*keeps training.*unbound/) });
      // the signed binding on show is still the last good one, and no error stops the tab
      expect(identity.snapshot.signed?.binding.deadline).toBe(renewed!.binding.deadline);
      expect(identity.snapshot.error).toBeNull();
      expect(first.binding.account).toBe(renewed!.binding.account);
    } finally {
      stand.refuse = false;
      stand.onAsk = null;
      identity.stop();
    }
  });
});
