// Which of a game round's winners go on chain, and when. The contract takes one submitWinners per voter
// account per (chain) round, at most MAX_WINNERS distinct registered peer ids, and reverts on anything else:
// the tab filters first, so a vote never costs gas only to revert. Pure.
export const MAX_CHAIN_WINNERS = 32;

export type WinnersPlan = { ok: true; round: bigint; winners: string[] } | { ok: false; reason: string };

export function planWinners(input: {
  winners: readonly string[];
  /** peer ids the chain's register holds (the leaderboard's bound entries) */
  registered: ReadonlySet<string>;
  /** the coordinator's current round (its stage manager's counter, not the gossip clock's) */
  chainRound: bigint | null;
  /** the chain round this tab last voted in */
  lastVoted: bigint | null;
  /** this tab's wallet can pay (a browser wallet bound to this peer id; a burner holds no funds) */
  canPay: boolean;
}): WinnersPlan {
  if (!input.canPay) return { ok: false, reason: 'winners go on chain from a bound browser wallet (a burner holds no funds to pay for submitWinners)' };
  if (input.chainRound === null) return { ok: false, reason: 'the coordinator round is not known yet' };
  if (input.lastVoted !== null && input.lastVoted >= input.chainRound) return { ok: false, reason: `already voted in chain round ${input.chainRound}` };
  const winners = [...new Set(input.winners)].filter((w) => input.registered.has(w)).slice(0, MAX_CHAIN_WINNERS);
  if (winners.length === 0) return { ok: false, reason: 'no winner of the round is registered on the coordinator' };
  return { ok: true, round: input.chainRound, winners };
}
