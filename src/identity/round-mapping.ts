// The mapping between the two clocks. The swarm's clock counts rounds r (genesis + r * roundMs); the contract
// counts (round R, stage S) and moves only when the stage manager calls advanceStage. The service makes the chain
// follow the swarm clock, so that the chain's n-th stage step ("slot" n = R * stagesPerRound + S) covers exactly
// the swarm rounds
//     base + n * roundsPerStage  ..  base + (n + 1) * roundsPerStage - 1
// where `base` is the swarm round that was current when the service took over the chain at slot `baseSlot`
// (base - baseSlot * roundsPerStage, so that slot 0 maps to its rounds even when the service restarts mid-way).
// The service publishes its mapping at GET /health, so a tab reports its round's reward for the right (R, S).

export class RoundMappingError extends Error {
  override name = 'RoundMappingError';
}

export interface RoundMapping {
  /** the swarm round where chain slot 0 begins (may be negative when the chain was ahead of the service) */
  baseSwarmRound: number;
  /** swarm rounds per chain stage (1: one stage per swarm round) */
  roundsPerStage: number;
  /** the contract's stagesPerRound */
  stagesPerRound: number;
}

export interface ChainSlot {
  round: bigint;
  stage: bigint;
  /** R * stagesPerRound + S */
  slot: number;
}

export function checkMapping(m: RoundMapping): RoundMapping {
  if (!Number.isSafeInteger(m.baseSwarmRound)) throw new RoundMappingError('baseSwarmRound must be a safe integer');
  if (!Number.isSafeInteger(m.roundsPerStage) || m.roundsPerStage < 1 || m.roundsPerStage > 1024) throw new RoundMappingError('roundsPerStage must be an integer 1-1024');
  if (!Number.isSafeInteger(m.stagesPerRound) || m.stagesPerRound < 1 || m.stagesPerRound > 16) throw new RoundMappingError('stagesPerRound must be an integer 1-16');
  return m;
}

/** A mapping whose slot `chainSlot` (the chain's current step) covers the swarm round `swarmRound`. */
export function mappingAt(swarmRound: number, chainSlot: number, roundsPerStage: number, stagesPerRound: number): RoundMapping {
  return checkMapping({ baseSwarmRound: swarmRound - chainSlot * roundsPerStage, roundsPerStage, stagesPerRound });
}

export function slotParts(slot: number, m: RoundMapping): ChainSlot {
  return { round: BigInt(Math.floor(slot / m.stagesPerRound)), stage: BigInt(slot % m.stagesPerRound), slot };
}

/** The chain slot covering swarm round `r`, or null for a round before the mapping's slot 0. */
export function chainSlotOf(swarmRound: number, m: RoundMapping): ChainSlot | null {
  if (!Number.isSafeInteger(swarmRound) || swarmRound < m.baseSwarmRound) return null;
  return slotParts(Math.floor((swarmRound - m.baseSwarmRound) / m.roundsPerStage), m);
}

/** The swarm rounds [first, last] of the chain's (round, stage); null when the stage does not exist. */
export function swarmRoundsOf(round: bigint, stage: bigint, m: RoundMapping): { first: number; last: number; slot: number } | null {
  if (round < 0n || stage < 0n || stage >= BigInt(m.stagesPerRound)) return null;
  const slotBig = round * BigInt(m.stagesPerRound) + stage;
  if (slotBig > BigInt(Number.MAX_SAFE_INTEGER) / BigInt(m.roundsPerStage)) return null;
  const slot = Number(slotBig);
  const first = m.baseSwarmRound + slot * m.roundsPerStage;
  return { first, last: first + m.roundsPerStage - 1, slot };
}

/** The mapping as GET /health carries it, checked (the service is another machine); null when absent or malformed. */
export function parseRoundMapping(value: unknown): RoundMapping | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  try {
    return checkMapping({ baseSwarmRound: v.baseSwarmRound as number, roundsPerStage: v.roundsPerStage as number, stagesPerRound: v.stagesPerRound as number });
  } catch {
    return null;
  }
}

/**
 * Which (round, stage) a tab reports its swarm round's reward for: the service's mapping when it publishes one
 * (verified mode), else the chain's current stage (the service takes reports as signed). Null: the round lies
 * before the mapping's slot 0, so there is nothing to report.
 */
export function reportSlot(swarmRound: number | undefined, mapping: RoundMapping | null, current: { round: bigint; stage: bigint }): { round: bigint; stage: bigint } | null {
  if (!mapping || swarmRound === undefined) return current;
  const slot = chainSlotOf(swarmRound, mapping);
  return slot && { round: slot.round, stage: slot.stage };
}

/** The service's mapping, read from GET /health at most once a minute (it changes only when the service restarts). */
export class RoundMappingCache {
  private value: RoundMapping | null = null;
  private at = -Infinity;

  constructor(
    private readonly health: () => Promise<{ mapping?: unknown }>,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<RoundMapping | null> {
    if (this.now() - this.at < 60_000) return this.value;
    this.at = this.now();
    this.value = parseRoundMapping((await this.health().catch((): { mapping?: unknown } => ({}))).mapping);
    return this.value;
  }
}
