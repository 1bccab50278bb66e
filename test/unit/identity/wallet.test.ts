import { describe, expect, it } from 'vitest';
import { UserRejectedRequestError } from 'viem';
import { dedupeWallets, isUserRejection } from '../../../src/identity/wallet.ts';

describe('wallet list', () => {
  const generic = { id: 'injected', name: 'Injected' };
  const announced = { id: 'io.metamask', name: 'MetaMask', icon: 'data:x' };

  it('lists each announced wallet once and hides the generic window.ethereum entry behind them', () => {
    const list = dedupeWallets([generic, announced, { ...announced, id: 'io.metamask' }, { id: 'x', name: 'Rabby', rdns: 'IO.METAMASK' }], true);
    expect(list).toEqual([{ id: 'io.metamask', name: 'MetaMask', rdns: 'io.metamask', icon: 'data:x' }]);
  });

  it('falls back to window.ethereum when nothing announced itself, and to nothing without it', () => {
    expect(dedupeWallets([generic], true)).toEqual([{ id: 'injected', name: 'Browser wallet' }]);
    expect(dedupeWallets([generic], false)).toEqual([]);
  });

  it('tells a user rejection from a failure', () => {
    expect(isUserRejection(new UserRejectedRequestError(new Error('no')))).toBe(true);
    expect(isUserRejection({ code: 4001 })).toBe(true);
    expect(isUserRejection(new Error('network down'))).toBe(false);
    expect(isUserRejection(null)).toBe(false);
  });
});
