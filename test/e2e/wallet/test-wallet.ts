// An injected test wallet for Playwright pages: an init script installs `window.ethereum` and announces it by
// EIP-6963; each request crosses to Node, where a viem local account signs and everything else is forwarded
// to the local chain's RPC. Test-only: the keys are anvil's public dev keys.
import type { Page } from '@playwright/test';
import { createWalletClient, http, numberToHex, type Address, type Hex, type TypedDataDefinition } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { swarmChain } from '../../../src/identity/chain.ts';

export interface TestWalletOptions {
  privateKey: Hex;
  rpcUrl: string;
  chainId: number;
  /** the chain the wallet starts on; a different id makes the app switch (and add) the swarm's chain */
  startChainId?: number;
  /** answer every signature and transaction request with EIP-1193 error 4001 (user rejected) */
  reject?: boolean;
  name?: string;
  rdns?: string;
}

export interface TestWallet {
  address: Address;
  /** every method the page asked for, in order */
  calls: string[];
}

type RpcReply = { result: unknown } | { error: { code: number; message: string } };

/** JSON typed data has uint values as strings; viem wants bigints for integer fields. */
function reviveTypedData(json: string): TypedDataDefinition {
  const data = JSON.parse(json) as { domain: Record<string, unknown>; types: Record<string, { name: string; type: string }[]>; primaryType: string; message: Record<string, unknown> };
  const { EIP712Domain: _domainType, ...types } = data.types;
  const message = Object.fromEntries(
    Object.entries(data.message).map(([k, v]) => {
      const type = types[data.primaryType]?.find((f) => f.name === k)?.type ?? '';
      return [k, /^u?int\d*$/.test(type) ? BigInt(v as string) : v];
    }),
  );
  const domain = { ...data.domain, ...(data.domain.chainId !== undefined ? { chainId: Number(data.domain.chainId) } : {}) };
  return { domain, types, primaryType: data.primaryType, message } as unknown as TypedDataDefinition;
}

export async function installTestWallet(page: Page, options: TestWalletOptions): Promise<TestWallet> {
  const account = privateKeyToAccount(options.privateKey);
  const wallet = createWalletClient({ account, chain: swarmChain(options), transport: http(options.rpcUrl) });
  const known = new Set([options.startChainId ?? options.chainId]);
  let chainId = options.startChainId ?? options.chainId;
  const calls: string[] = [];
  const rejected = (): RpcReply => ({ error: { code: 4001, message: 'User rejected the request.' } });

  async function handle(method: string, params: unknown[]): Promise<RpcReply> {
    calls.push(method);
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return { result: [account.address] };
      case 'eth_chainId':
        return { result: numberToHex(chainId) };
      case 'wallet_switchEthereumChain': {
        const wanted = Number((params[0] as { chainId: string }).chainId);
        if (!known.has(wanted)) return { error: { code: 4902, message: `Unrecognized chain ID ${wanted}. Try adding the chain using wallet_addEthereumChain first.` } };
        chainId = wanted;
        return { result: null };
      }
      case 'wallet_addEthereumChain': {
        const added = params[0] as { chainId: string; rpcUrls?: string[] };
        if (!added.rpcUrls?.length) return { error: { code: -32602, message: 'rpcUrls required' } };
        known.add(Number(added.chainId));
        chainId = Number(added.chainId);
        return { result: null };
      }
      case 'eth_signTypedData_v4':
        if (options.reject) return rejected();
        return { result: await account.signTypedData(reviveTypedData(params[1] as string)) };
      case 'personal_sign':
        if (options.reject) return rejected();
        return { result: await account.signMessage({ message: { raw: params[0] as Hex } }) };
      case 'eth_sendTransaction': {
        if (options.reject) return rejected();
        if (chainId !== options.chainId) return { error: { code: 4901, message: `wallet is on chain ${chainId}, not ${options.chainId}` } };
        const tx = params[0] as { to: Address; data?: Hex; value?: Hex; gas?: Hex };
        return { result: await wallet.sendTransaction({ to: tx.to, data: tx.data, value: tx.value ? BigInt(tx.value) : undefined, gas: tx.gas ? BigInt(tx.gas) : undefined }) };
      }
      default: {
        const res = await fetch(options.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
        const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
        return body.error ? { error: body.error } : { result: body.result };
      }
    }
  }

  await page.exposeFunction('__tabswarmTestWallet', async (method: string, paramsJson: string) => {
    try {
      return JSON.stringify(await handle(method, JSON.parse(paramsJson) as unknown[]));
    } catch (error) {
      return JSON.stringify({ error: { code: -32603, message: (error as Error).message.split('\n')[0] } });
    }
  });
  await page.addInitScript(
    ({ name, rdns, uuid }) => {
      const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
      const emit = (event: string, value: unknown) => listeners.get(event)?.forEach((fn) => fn(value));
      const bridge = (window as unknown as { __tabswarmTestWallet: (m: string, p: string) => Promise<string> }).__tabswarmTestWallet;
      const provider = {
        isTabswarmTestWallet: true,
        async request({ method, params }: { method: string; params?: unknown[] }) {
          const reply = JSON.parse(await bridge(method, JSON.stringify(params ?? []))) as { result?: unknown; error?: { code: number; message: string } };
          if (reply.error) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
          if (method === 'wallet_switchEthereumChain' || method === 'wallet_addEthereumChain') {
            emit('chainChanged', (params?.[0] as { chainId: string }).chainId);
          }
          return reply.result;
        },
        on(event: string, fn: (...args: unknown[]) => void) {
          if (!listeners.has(event)) listeners.set(event, new Set());
          listeners.get(event)!.add(fn);
          return provider;
        },
        removeListener(event: string, fn: (...args: unknown[]) => void) {
          listeners.get(event)?.delete(fn);
          return provider;
        },
      };
      (window as unknown as { ethereum: unknown }).ethereum = provider;
      const icon = 'data:image/svg+xml,<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1" fill="teal"/></svg>';
      const announce = () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info: { uuid, name, icon, rdns }, provider }) }));
      window.addEventListener('eip6963:requestProvider', announce);
      announce();
    },
    { name: options.name ?? 'tabswarm test wallet', rdns: options.rdns ?? 'org.tabswarm.testwallet', uuid: crypto.randomUUID() },
  );
  return { address: account.address, calls };
}
