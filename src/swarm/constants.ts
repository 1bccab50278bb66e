// Protocol ids, topic names and hard limits in one place: every size or rate the swarm enforces is here.

export const PROTOCOL_VERSION = 1;

/** Gossipsub topic carrying peer discovery announcements for one swarm. */
export function discoveryTopic(swarmId: string): string {
  return `tabswarm/${swarmId}/discovery/1`;
}

/** Gossipsub topic carrying rollouts, bindings, heartbeats, critiques and votes for one swarm. */
export function swarmTopic(swarmId: string): string {
  return `tabswarm/${swarmId}/rounds/1`;
}

/**
 * Relayed connections only carry signalling (SDP + ICE, a few KiB per WebRTC handshake) and gossip until the
 * direct link is up; the 128 KiB default is cut by a few reconnects, so allow 4 MiB and 30 minutes.
 */
export const RELAY_DATA_LIMIT = 4n << 20n;
export const RELAY_DURATION_LIMIT_MS = 30 * 60_000;

/** Gossipsub drops anything over 4 MiB silently on send; our own cap sits far below it. */
export const GOSSIPSUB_MAX_BYTES = 4 * 1024 * 1024;
/** Largest encoded swarm message we send or accept. Bigger rollout batches are split by rollout. */
export const MAX_MESSAGE_BYTES = 512 * 1024;

export const LIMITS = {
  /** ids: swarm ids, task families, model ids */
  idChars: 64,
  peerIdChars: 128,
  rolloutsPerMessage: 64,
  completionsPerRollout: 32,
  completionChars: 8192,
  critiqueChars: 4096,
  /** a resolve is a majority tag and one answer block: far shorter than a critique may be */
  resolveChars: 2048,
  commitmentHexChars: 128,
  /** committed sampling settings: the longest completion and the most stop tokens a batch may name */
  samplingMaxNewTokens: 4096,
  samplingStopTokens: 16,
  /** wallet signature: 65 bytes for an EOA, up to 2 KiB for ERC-1271 contract wallets (0x + hex) */
  walletSignatureHexChars: 2 + 2 * 2048,
  heartbeatStats: 32,
  /** held-out tasks a heartbeat's evaluation report may claim to cover */
  heldOutTasks: 4096,
  statKeyChars: 32,
  votesPerMessage: 64,
  /** pings one echo message answers */
  echoesPerMessage: 64,
  /** a message claims a round at most this many rounds away from ours */
  roundWindow: 1,
  /** an identical (sender, nonce) pair is a replay as long as it is remembered (rounds) */
  replayMemoryRounds: 4,
} as const;

/**
 * Per-peer token bucket checked before a message is even decoded: bounds the parsing work any one key can
 * cost. Generous, because the per-kind budgets below (checked after decoding) are the real limits.
 */
export const RATE_LIMIT = { burst: 40, perSecond: 4 } as const;

/**
 * Per-kind budgets per sender: a burst, then `perSecond` (or `perRound`, in rounds of the swarm's clock). What
 * an honest peer sends: one rollouts message per round (two when its batch is split or its round ran late),
 * a heartbeat every 5 s, a binding on join and when re-signed or asked for. A sender over its budget is
 * ignored, never punished: a burst after a reconnect is not a fault.
 */
export const RATE_BUDGETS = {
  rollouts: { burst: 4, perRound: 2 },
  heartbeat: { burst: 3, perSecond: 1 / 4 },
  binding: { burst: 3, perSecond: 1 / 30 },
  ping: { burst: 10, perSecond: 2 },
  echo: { burst: 6, perSecond: 2 },
  critique: { burst: 32, perSecond: 2 },
  resolve: { burst: 32, perSecond: 2 },
  vote: { burst: 16, perSecond: 1 },
} as const;

/** Lab swarms run the gossip load probe (several rollouts messages a second): their rollouts budget. */
export const LAB_ROLLOUTS_BUDGET = { burst: 20, perSecond: 5 } as const;

/** Per (peer, round) what a transport keeps when the swarm's round shape is not known (transportLimitsFor sizes it to the shape). */
export const PER_PEER_ROUND = { maxParts: 8, maxBytes: 2 * 1024 * 1024 } as const;

/** Rounds of rollouts a transport keeps (the current one, the one being trained on, one of slack). */
export const KEEP_ROUNDS = 3;

/**
 * Answering pings: at most one echo message per `minGapMs` (pings arriving inside the gap share the next
 * one), so a flood of pings costs this peer at most 2 messages a second of its rate budget.
 */
export const ECHO = { minGapMs: 500, maxPending: LIMITS.echoesPerMessage } as const;

/** Application score: each rejected message costs this much; below the floor a peer's messages are ignored. */
export const SCORE = { rejectPenalty: 10, acceptReward: 0.5, max: 20, floor: -100, decayPerMinute: 0.5 } as const;

/**
 * Dialing peers over WebRTC: retries with exponential backoff, capped; a peer never reached is dropped after
 * `attempts` failures (until it announces itself again); at most `maxConcurrent` handshakes at once, a queue
 * of `maxQueue` dials due and a table of `maxKnown` peers, so announcements from fresh keys cannot run away.
 */
export const DIAL = {
  attempts: 6,
  firstBackoffMs: 500,
  maxBackoffMs: 15_000,
  timeoutMs: 10_000,
  localTimeoutMs: 5_000,
  maxTimeoutMs: 30_000,
  maxConcurrent: 4,
  maxQueue: 64,
  maxKnown: 256,
} as const;

/**
 * The weight protocol (src/swarm/weights.ts): a peer's current weights over one libp2p stream. Timeouts are
 * per read or write (plus the whole serve at 4x); a model of a few MiB moves in well under one.
 */
export const WEIGHTS = {
  protocol: '/tabswarm/weights/1',
  timeoutMs: 15_000,
  /** transfers one peer may have in flight from this one at once */
  servesPerPeer: 2,
  /** transfers in flight from this peer to everyone at once: many fresh peer ids cannot queue unbounded work */
  servesTotal: 8,
  maxRequestBytes: 1024,
  maxHeaderBytes: 1024,
  /** slices written at a time, so a big model never sits whole in a stream buffer */
  chunkBytes: 64 * 1024,
} as const;

/**
 * The challenge protocol (src/swarm/verify.ts) and the spot checks run over it (src/swarm/verifier.ts).
 * An honest peer is challenged by each receiver on about `rate` of its batches, so its answers per minute
 * stay a few; everything beyond is refused.
 */
export const VERIFY = {
  protocol: '/tabswarm/verify/2', // 2: reveals as base64 integers (verify-codec.ts)
  timeoutMs: 10_000,
  maxRequestBytes: 4096,
  servesPerPeer: 1,
  servesTotal: 4,
  perPeerPerMinute: 12,
  maxTrackedPeers: 1024,
  /** share of received batches challenged (randomness drawn after receipt) */
  rate: 0.1,
  /**
   * completions revealed per challenge: every row of a batch up to MAX_CHALLENGED_ROWS (the runner's default
   * batch is 4 x 8 = 32). A single flipped token sits in one row, so only a whole-batch check catches it
   * for sure; a sample of k rows of n catches it with probability k/n. The shared-prompt scorer makes the
   * whole batch cost less than half its sampling (npm run bench:verify).
   */
  rows: 256,
  /** spot checks this tab runs at once, and at most this many per minute */
  inFlight: 2,
  perMinute: 12,
  /** missing answers in a row taken as honest ("busy", the link failing); the next one counts as unanswered */
  busyRefusalsAllowed: 3,
  /** failed checks after which a peer's rollouts are left out of J altogether */
  excludeAfterFailures: 2,
  /** weight versions (by hash) a verifier keeps fetched */
  cachedWeights: 3,
  /** peers whose verification record is kept (the least recently checked forgotten first) */
  maxLedgerPeers: 512,
} as const;
