// Which game winners go on chain: only registered ones, at most 32, once per coordinator round, and only
// from a wallet that can pay; every refusal says why.
import { describe, expect, it } from 'vitest';
import { MAX_CHAIN_WINNERS, planWinners } from '../../../src/app/identity/winners.ts';

const base = { winners: ['a', 'b', 'a'], registered: new Set(['a', 'c']), chainRound: 3n, lastVoted: null, canPay: true };

describe('planWinners', () => {
  it('keeps registered winners once each, for the current chain round', () => {
    expect(planWinners(base)).toEqual({ ok: true, round: 3n, winners: ['a'] });
    const many = Array.from({ length: 40 }, (_, i) => `p${i}`);
    const plan = planWinners({ ...base, winners: many, registered: new Set(many) });
    expect(plan.ok && plan.winners.length).toBe(MAX_CHAIN_WINNERS);
  });

  it('refuses with a reason: no funds, unknown round, a second vote, nobody registered', () => {
    expect(planWinners({ ...base, canPay: false })).toMatchObject({ ok: false, reason: expect.stringContaining('burner') });
    expect(planWinners({ ...base, chainRound: null })).toMatchObject({ ok: false, reason: expect.stringContaining('not known') });
    expect(planWinners({ ...base, lastVoted: 3n })).toMatchObject({ ok: false, reason: 'already voted in chain round 3' });
    expect(planWinners({ ...base, lastVoted: 2n }).ok).toBe(true);
    expect(planWinners({ ...base, winners: ['b'] })).toMatchObject({ ok: false, reason: expect.stringContaining('registered') });
  });
});
