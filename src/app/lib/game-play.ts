// A tab playing the swarm game on a joined swarm: the gossip GameTransport, a GameRunner on an engine and a
// GameDriver on the swarm clock (a game round is one swarm round, its three stages a third each), with the
// view the dashboard and the conference screen read. The swarm is the page's (WebRTC lives on the page);
// the engine is whatever the caller hands in.
import type { Engine } from '../../engine/api.ts';
import { loadHfModel } from '../../engine/hf.ts';
import { createCpuEngine } from '../../engine/index.ts';
import type { TextTokenizer } from '../../rl/format.ts';
import { GameDriver } from '../../rl/game/driver.ts';
import { GameRunner, type GameConfig } from '../../rl/game/runner.ts';
import { gameStageMs } from '../../swarm/config.ts';
import { gameTransportOver, type GossipGameTransport } from '../../swarm/game-transport.ts';
import type { Swarm } from '../../swarm/swarm.ts';
import { progressSource, tokenizerFrom } from '../../worker/contributor.ts';
import { emptyGameView, reduceGame, withStandings, type GameView } from './game-view.ts';

export interface GamePlayOptions {
  swarm: Swarm;
  engine: Engine;
  tokenizer: TextTokenizer;
  config: GameConfig;
  /** called with every new view (a Svelte class keeps it in `$state.raw`) */
  onView?: (view: GameView) => void;
  log?: (line: string) => void;
}

export class GamePlay {
  readonly transport: GossipGameTransport;
  readonly runner: GameRunner;
  readonly driver: GameDriver;
  view: GameView;

  constructor(private readonly options: GamePlayOptions) {
    const { swarm, config } = options;
    if (swarm.config.mode !== 'game') throw new Error(`swarm ${swarm.config.swarmId} is not a game swarm (mode ${swarm.config.mode ?? 'sapo'})`);
    this.view = emptyGameView(swarm.peerId);
    this.transport = gameTransportOver(swarm, { questions: config.questions });
    this.runner = new GameRunner(options.engine, options.tokenizer, this.transport, config);
    this.runner.on((event) => this.set(reduceGame(this.view, event)));
    this.transport.onDrop((d) => this.set(reduceGame(this.view, { type: 'drop', peerId: swarm.peerId, from: d.from, round: d.round, stage: 'vote', reason: `${d.kind}: ${d.reason}` })));
    this.driver = new GameDriver({
      runner: this.runner,
      now: () => swarm.clock.now(),
      genesisMs: swarm.config.genesisMs,
      stageMs: gameStageMs(swarm.config),
      onError: (error) => options.log?.(`game: ${error.name}: ${error.message}`),
    });
  }

  private set(view: GameView): void {
    this.view = view;
    this.options.onView?.(view);
  }

  start(): void {
    this.driver.start();
  }

  /** folds in votes that arrived after this tab cast its own */
  refresh(): GameView {
    this.set(withStandings(this.view, this.view.rounds.map((r) => this.runner.tally(r.round))));
    return this.view;
  }

  async stop(): Promise<void> {
    await this.driver.stop();
    await this.transport.close();
  }
}

/**
 * A model folder loaded on the CPU reference in this thread: for the lab page, where the shipped model
 * (about 123k parameters) samples a stage in well under a second.
 */
export async function loadCpuModel(modelUrl: string): Promise<{ engine: Engine; tokenizer: TextTokenizer }> {
  // file URLs are resolved against the base: it must be absolute
  const base = new URL(modelUrl.endsWith('/') ? modelUrl : `${modelUrl}/`, location.href).href;
  const source = progressSource(base, () => undefined);
  const model = await loadHfModel(source);
  const tokenizer = await tokenizerFrom(source, model.config.vocab_size);
  return { engine: createCpuEngine(model.config, model.flat), tokenizer };
}
