// The swarm lab's effects: joins the swarm, runs the network-only round loop with demo rollouts and keeps a
// `$state.raw` snapshot of peers, links, the gossip feed, rejections and the round clock. It also exposes
// `window.__lab`, the handle the end-to-end tests use to inspect a page and to send bad messages on purpose.
import { decodeSwarmConfigParam, parseSwarmConfig, type SwarmConfig } from '../../swarm/config.ts';
import { Swarm, type PeerLink } from '../../swarm/swarm.ts';
import { transportLimitsFor, transportOver, type Libp2pTransport } from '../../swarm/transport.ts';
import { runRoundLoop, type RoundReport } from '../../swarm/rounds.ts';
import { rolloutRules } from '../../worker/rescore.ts';
import { assertLabSwarm, demoRoundShape, scriptedProducer } from './demo-rollouts.ts';
import { PROTOCOL_VERSION } from '../../swarm/constants.ts';
import type { Rejection } from '../../swarm/validator.ts';
import { GossipProbe } from '../../swarm/probe.ts';
import { gameConfigFor, gameRolloutRules } from '../../worker/game-rules.ts';
import { GamePlay, loadCpuModel } from '../lib/game-play.ts';
import type { GameView } from '../lib/game-view.ts';

export interface FeedEntry {
  at: number;
  kind: string;
  from: string;
  via: string;
  round: number;
  latencyMs: number;
}

export interface RoundRow {
  round: number;
  published: number;
  from: string[];
  /** groups kept from each peer for the round (after the transport's caps) */
  groups: Record<string, number>;
}

export interface LabSnapshot {
  phase: 'starting' | 'ready' | 'error';
  error: string | null;
  swarmId: string | null;
  peerId: string | null;
  relayConnected: boolean;
  links: PeerLink[];
  topicPeers: string[];
  round: number;
  msToNextRound: number;
  offsetMs: number;
  rounds: RoundRow[];
  feed: FeedEntry[];
  rejections: Rejection[];
  accepted: number;
  rejected: number;
  scores: Record<string, number>;
  /** ms from navigation start to the first direct (WebRTC) link; null until there is one */
  firstDirectMs: number | null;
  /** a game swarm's play (mode "game"): the stages this page played, students, picks, votes, drops */
  game: GameView | null;
}

const KEEP = 60;

async function loadConfig(params: URLSearchParams): Promise<SwarmConfig> {
  const fromUrl = params.get('swarm');
  if (fromUrl) return decodeSwarmConfigParam(fromUrl);
  const res = await fetch('./swarm.json', { cache: 'no-store' });
  if (!res.ok) throw new Error(`no swarm config: ./swarm.json answered ${res.status} (start the app with npm start)`);
  return parseSwarmConfig(await res.json());
}

export class LabSession {
  snapshot = $state.raw<LabSnapshot>({
    phase: 'starting',
    error: null,
    swarmId: null,
    peerId: null,
    relayConnected: false,
    links: [],
    topicPeers: [],
    round: 0,
    msToNextRound: 0,
    offsetMs: 0,
    rounds: [],
    feed: [],
    rejections: [],
    accepted: 0,
    rejected: 0,
    scores: {},
    firstDirectMs: null,
    game: null,
  });
  swarm: Swarm | null = null;
  transport: Libp2pTransport | null = null;
  private feed: FeedEntry[] = [];
  private rounds: RoundRow[] = [];
  private stopLoop: (() => void) | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private probe: GossipProbe | null = null;
  private firstDirectMs: number | null = null;
  play: GamePlay | null = null;

  async start(params: URLSearchParams): Promise<void> {
    try {
      const config = await loadConfig(params);
      const deny = (params.get('deny') ?? '').split(',').filter(Boolean);
      // the lab publishes scripted rollouts: never on a real swarm
      assertLabSwarm(config, 'the swarm lab');
      const game = config.mode === 'game' ? gameConfigFor(config) : null;
      this.swarm = await Swarm.join(config, {
        // a game swarm's rollouts are its answer stage; a sapo lab's are the demo script's
        ...(game ? gameRolloutRules({ swarmId: config.swarmId, tasks: game.tasks, questions: game.questions, maxTextChars: game.maxTextChars }) : rolloutRules(demoRoundShape(config.swarmId))),
        denyPeers: deny,
        heartbeatStats: () => ({ round: this.swarm?.clock.currentRound() ?? 0, peers: this.swarm?.topicPeers().length ?? 0 }),
        heartbeatMs: Number(params.get('heartbeatMs') ?? 5_000),
        log: (line) => console.info(`[lab] ${line}`),
        trackClockSkew: params.get('skew') !== '0',
      });
      const swarm = this.swarm;
      swarm.node.addEventListener('connection:open', () => {
        if (this.firstDirectMs === null && swarm.links().some((l) => l.direct)) this.firstDirectMs = Math.round(performance.now());
      });
      this.transport = transportOver(swarm, transportLimitsFor(rolloutRules(demoRoundShape(config.swarmId)).rolloutShape));
      swarm.onMessage(({ message, receivedAt, via }) => {
        this.feed.push({ at: receivedAt, kind: message.kind, from: message.peerId, via, round: message.round, latencyMs: receivedAt - message.ts });
        if (this.feed.length > KEEP) this.feed.shift();
      });
      if (game) {
        // the game plays the shipped model on the CPU in this page: the lab has no worker
        const { engine, tokenizer } = await loadCpuModel(params.get('model') ?? './models/default/');
        this.play = new GamePlay({ swarm, engine, tokenizer, config: game, log: (line) => console.warn(`[lab] ${line}`) });
        this.play.start();
      } else if (params.get('rounds') !== '0') {
        this.stopLoop = runRoundLoop({
          transport: this.transport,
          clock: swarm.clock,
          swarmId: config.swarmId,
          produce: scriptedProducer(config, swarm.peerId, 'the swarm lab'),
          onRound: (report: RoundReport) => {
            this.rounds.push({
              round: report.round,
              published: report.published,
              from: report.received.map((b) => b.peerId),
              groups: Object.fromEntries(report.received.map((b) => [b.peerId, b.rollouts.length])),
            });
            if (this.rounds.length > KEEP) this.rounds.shift();
          },
          onError: (error) => console.warn(`[lab] round: ${error.message}`),
        });
      }
      this.snapshot = { ...this.snapshot, phase: 'ready', swarmId: config.swarmId, peerId: swarm.peerId };
      this.refresh();
      this.timer = setInterval(() => this.refresh(), 250);
    } catch (error) {
      this.snapshot = { ...this.snapshot, phase: 'error', error: `${(error as Error).name}: ${(error as Error).message}` };
    }
  }

  private refresh(): void {
    const swarm = this.swarm;
    if (!swarm) return;
    const links = swarm.links();
    const relays = new Set(swarm.config.relayAddrs.map((a) => a.split('/p2p/').pop()));
    this.snapshot = {
      ...this.snapshot,
      relayConnected: links.some((l) => relays.has(l.peerId)),
      links,
      topicPeers: swarm.topicPeers(),
      round: swarm.clock.currentRound(),
      msToNextRound: swarm.clock.msUntilRound(swarm.clock.currentRound() + 1),
      offsetMs: swarm.clock.offsetMs,
      rounds: [...this.rounds],
      feed: [...this.feed],
      rejections: [...swarm.validator.rejections.slice(-KEEP)],
      accepted: swarm.validator.accepted,
      rejected: swarm.validator.rejected,
      scores: swarm.validator.scores.snapshot(),
      firstDirectMs: this.firstDirectMs,
      game: this.play?.refresh() ?? null,
    };
  }

  /** the test handle: inspection plus deliberate misbehaviour */
  handle() {
    const need = (): Swarm => {
      if (!this.swarm) throw new Error('the lab has not joined a swarm');
      return this.swarm;
    };
    return {
      snapshot: () => {
        this.refresh();
        return this.snapshot;
      },
      /** a valid header for hand-made messages */
      header: (overrides: Record<string, unknown> = {}) => {
        const swarm = need();
        return { v: PROTOCOL_VERSION, swarmId: swarm.config.swarmId, round: swarm.clock.currentRound(), peerId: swarm.peerId, nonce: swarm.takeNonce(), ts: swarm.clock.now(), ...overrides };
      },
      /** publishes any JSON value, unchecked, signed by this page; resolves to the number of recipients */
      publishJson: (value: unknown) => need().publishBytes(new TextEncoder().encode(JSON.stringify(value))),
      /** publishes `size` bytes of padding inside an otherwise valid heartbeat */
      publishOversized: (size: number) => {
        const swarm = need();
        const head = JSON.stringify({ ...this.handle().header(), kind: 'heartbeat', stats: { pad: 0 } });
        const padded = `${head.slice(0, -1)},"padding":"${'x'.repeat(Math.max(0, size - head.length - 14))}"}`;
        return swarm.publishBytes(new TextEncoder().encode(padded));
      },
      /** sends the exact bytes of our last message again (same nonce) */
      replayLast: () => {
        const swarm = need();
        if (!swarm.lastPublished) throw new Error('nothing published yet');
        return swarm.publishBytes(swarm.lastPublished);
      },
      publishHeartbeat: async (stats: Record<string, number> = {}) => (await need().publish({ kind: 'heartbeat', stats })).nonce,
      receivedFrom: (round: number) => this.transport?.receivedRollouts(round).map((b) => b.peerId) ?? [],
      /** the benchmark's load: publish a rollouts message every `intervalMs` and time arrivals */
      startProbe: (intervalMs: number) => {
        const swarm = need();
        this.probe ??= new GossipProbe(swarm, { intervalMs, produce: scriptedProducer(swarm.config, swarm.peerId, 'the load probe') });
        this.probe.start();
      },
      resetProbe: (sinceMs: number) => this.probe?.reset(sinceMs),
      pauseProbe: (untilMs: number) => this.probe?.pause(untilMs),
      readProbe: () => this.probe?.read() ?? null,
      stop: () => this.stop(),
    };
  }

  async stop(): Promise<void> {
    await this.play?.stop();
    this.probe?.stop();
    this.stopLoop?.();
    if (this.timer) clearInterval(this.timer);
    await this.transport?.close();
    await this.swarm?.stop();
  }
}
