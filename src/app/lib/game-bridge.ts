// The page's half of a game swarm tab: the engine worker plays (src/worker/game-host.ts), the page owns
// the libp2p node. Peers' game messages pass the swarm validator and the GossipGameTransport's per-round
// caps here, then go to the worker; the worker's stage messages come back as events and are gossiped. The
// view (stage, answers, students, picks, majority, votes, winners, drops) is folded from the worker's game
// events, and the standings from every vote this page heard (votes keep arriving after this tab cast its own).
import type { GameConfig } from '../../rl/game/runner.ts';
import { gameTaskRefs } from '../../rl/game/stages.ts';
import type { VoteMessage } from '../../rl/game/transport.ts';
import { tallyVotes, type Tally } from '../../rl/game/winners.ts';
import type { SwarmConfig } from '../../swarm/config.ts';
import { gameTransportOver, type GossipGameTransport } from '../../swarm/game-transport.ts';
import type { Swarm } from '../../swarm/swarm.ts';
import { gameConfigFor, gameRolloutRules } from '../../worker/game-rules.ts';
import type { TabswarmWorkerApi, WorkerEvent } from '../../worker/protocol.ts';
import { emptyGameView, reduceGame, withStandings, type GameView } from './game-view.ts';

/** the validator's rollout rules for a game swarm (its rollouts are answer stages) */
export function gameSwarmRules(config: SwarmConfig) {
  const game = gameConfigFor(config);
  return gameRolloutRules({ swarmId: config.swarmId, tasks: game.tasks, questions: game.questions, maxTextChars: game.maxTextChars });
}

/** rounds of votes kept for the standings */
const VOTE_ROUNDS = 6;

export class GameBridge {
  readonly config: GameConfig;
  readonly transport: GossipGameTransport;
  view: GameView;
  /** round → voter → its vote message (this tab's own included) */
  private readonly votes = new Map<number, Map<string, VoteMessage>>();
  private readonly listeners = new Set<(view: GameView) => void>();
  private readonly winnerListeners = new Set<(tally: Tally) => void>();
  /** rounds this tab voted in whose winners are not reported yet */
  private readonly pendingWinners = new Set<number>();

  constructor(
    private readonly swarm: Swarm,
    private readonly worker: TabswarmWorkerApi,
    private readonly warn: (message: string) => void,
  ) {
    this.config = gameConfigFor(swarm.config);
    this.view = emptyGameView(swarm.peerId);
    this.transport = gameTransportOver(swarm, { questions: this.config.questions });
    this.transport.onMessage((m) => {
      if (m.kind === 'vote') this.keepVote(m);
      this.worker.deliverGame(m).catch((e: Error) => this.warn(`game message not delivered: ${e.message}`));
    });
    this.transport.onDrop((d) => this.set(reduceGame(this.view, { type: 'drop', peerId: swarm.peerId, from: d.from, round: d.round, stage: 'vote', reason: `${d.kind}: ${d.reason}` })));
  }

  onView(listener: (view: GameView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** a round's tally once its votes are in (what goes to the coordinator's submitWinners) */
  onWinners(listener: (tally: Tally) => void): () => void {
    this.winnerListeners.add(listener);
    return () => this.winnerListeners.delete(listener);
  }

  /** a worker event; true when it was the game's */
  handle(event: WorkerEvent): boolean {
    if (event.kind === 'gamePublish') {
      for (const m of event.messages) if (m.kind === 'vote') this.keepVote(m);
      this.transport.publishAll(event.messages).catch((e: Error) => this.warn(`game publish failed: ${e.message}`));
      return true;
    }
    if (event.kind !== 'game') return false;
    this.set(reduceGame(this.view, event.event));
    const e = event.event;
    if (e.type === 'votes') this.pendingWinners.add(e.round);
    // the votes of round r arrive while r + 1 answers: its winners are read once r + 1's critique is played
    if (e.type === 'stage' && e.report.stage !== 'answer') {
      for (const round of [...this.pendingWinners].filter((r) => r < e.report.round)) {
        this.pendingWinners.delete(round);
        const tally = this.tally(round);
        if (tally.winners.length > 0) for (const l of this.winnerListeners) l(tally);
      }
    }
    return true;
  }

  private keepVote(m: VoteMessage): void {
    const byVoter = this.votes.get(m.round) ?? new Map<string, VoteMessage>();
    if (!byVoter.has(m.peerId)) byVoter.set(m.peerId, m);
    this.votes.set(m.round, byVoter);
    const newest = Math.max(...this.votes.keys());
    for (const r of this.votes.keys()) if (r <= newest - VOTE_ROUNDS) this.votes.delete(r);
  }

  tally(round: number): Tally {
    const refs = gameTaskRefs(this.config.swarmId, round, this.config.tasks, this.config.questions);
    return tallyVotes(this.config.swarmId, round, refs, [...(this.votes.get(round)?.values() ?? [])]);
  }

  /** folds in the votes heard since; the session calls it on its refresh timer */
  refresh(): GameView {
    this.set(withStandings(this.view, this.view.rounds.filter((r) => this.votes.has(r.round)).map((r) => this.tally(r.round))));
    return this.view;
  }

  private set(view: GameView): void {
    this.view = view;
    for (const l of this.listeners) l(view);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.winnerListeners.clear();
    await this.transport.close();
  }
}
