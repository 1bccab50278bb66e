// Owns the effects of a tab: the engine worker, the swarm (libp2p node + gossip transport) and the bridge
// between them. Components read `snapshot` (a $state.raw value replaced on every change) and call methods.
import { EngineWorkerClient } from '../../worker/client.ts';
import type { BackendChoice, GpuProbe, TabswarmWorkerApi, WorkerEvent } from '../../worker/protocol.ts';
import type { SwarmConfig } from '../../swarm/config.ts';
import { Swarm } from '../../swarm/swarm.ts';
import { transportLimitsFor, transportOver, type Libp2pTransport } from '../../swarm/transport.ts';
import { rolloutRules, type RoundShape } from '../../worker/rescore.ts';
import type { SwarmMessage } from '../../swarm/messages.ts';
import type { RolloutBatch } from '../../rl/transport.ts';
import { heldOutReport, SwarmTally, type TallySnapshot } from './tally.ts';
import { describeEstimate, estimateModel, modelUrlFor, swarmLoadOptions } from './model-choice.ts';
import { ADAPTER_DIR } from '../../worker/adapter.ts';
import { Settings } from './settings.svelte.ts';
import { saveModelFolder } from './download.ts';
import type { PrivateKey } from '@libp2p/interface';
import { loadOrCreatePeerKey } from '../../identity/peer-key.ts';
import { parseConfig } from '../../engine/config.ts';
import { runnerConfigFor } from '../../worker/plan.ts';
import type { SignedPeerBindingWire } from '../../identity/binding.ts';
import { averagingCandidates, boundFirst, fetchWeights, modelFamily, sha256Hex, weightServers, type ServedWeights } from '../../swarm/weights.ts';
import { peerIdFromString } from '@libp2p/peer-id';
import { MAX_AVERAGED_PEERS } from '../../worker/protocol.ts';
import { GameBridge, gameSwarmRules } from './game-bridge.ts';
import { GameWatch } from './game-watch.ts';
import { paceGame, type GamePace } from './game-pace.ts';
import { EMPTY_VERIFICATION, Verification, VerifiedReports } from './verification.ts';
import { loadSwarmConfig, memoryBudget, namedRefusals, rememberContributing, wasContributing, type OwnRound, type RewardReporter, type SessionOptions, type SessionSnapshot } from './session-parts.ts';

export type { JoinStep, OwnRound, RewardReporter, SessionOptions, SessionSnapshot } from './session-parts.ts';
export { loadSwarmConfig } from './session-parts.ts';

/** refusals listed on the dashboard (the validator keeps more, for diagnostics) */
const TRUST_RECENT = 8;

const TALLY_REFRESH_MS = 250;
const EMPTY_TALLY: TallySnapshot = { rounds: [], heldOut: [], peers: [], feed: [], totalRollouts: 0, totalCompletions: 0 };

export class Session {
  snapshot = $state.raw<SessionSnapshot>({
    phase: 'starting', gpu: null, peerId: null, relayConnected: false, swarm: null, peerKey: null, error: null,
    join: 'landing', joinError: null, progress: null, worker: 'idle', workerDetail: null, backend: null,
    modelUrl: null, parameterCount: null, resumedRound: null, savedRound: null, weightsDigest: null, lastStats: null, stage: null, own: [], evals: [], optimizerSteps: 0,
    tally: EMPTY_TALLY, top: [], links: [], topicPeers: [], warnings: [], capability: null, swarmModelStatus: null, averaged: null,
    trust: { accepted: 0, refused: 0, recent: [], scores: {} }, modelChoice: null, base: null, game: null, gameWatch: null, gamePace: null,
    verification: EMPTY_VERIFICATION, reportedVerified: { verifiedRollouts: 0, failed: 0 },
  });
  /** the game swarm's page half (game-bridge.ts); null on a sapo swarm */
  game: GameBridge | null = null;
  /** what paces the game's stages: the coordinator's counter, or the swarm clock (game-pace.ts) */
  private pace: GamePace | null = null;
  readonly settings = new Settings();
  private worker: TabswarmWorkerApi | null = null;
  private verification: Verification | null = null;
  private readonly verifiedReports = new VerifiedReports();
  private swarm: Swarm | null = null;
  private transport: Libp2pTransport | null = null;
  private tally = new SwarmTally();
  private tallyTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly cleanups: (() => void)[] = [];
  private pausedByVisibility = false;
  private reporter: RewardReporter | null = null;
  private roundShape: RoundShape | null = null;
  /** the family of the model this tab trains (weight protocol); null until one is loaded */
  private family: string | null = null;
  private served: (ServedWeights & { digest: string | null }) | null = null;
  private averaging = false;

  constructor(private readonly options: SessionOptions = {}) {}

  async start(): Promise<void> {
    const probe = this.options.watchOnly ? Promise.resolve(null) : this.startWorker();
    try {
      const config = await loadSwarmConfig(this.options.swarmSpec ?? null, this.appBase());
      if (!this.options.watchOnly) void this.checkCapability(config);
      // the screen has no identity to keep; without IndexedDB (private modes) the node makes a throwaway key
      const peerKey = this.options.watchOnly ? null : await loadOrCreatePeerKey().then((k) => k.key, () => null);
      this.update({ swarm: config, peerKey });
      // every tab of a swarm runs the same round shape: peers' rollouts are checked against it at gossip time
      const shape = runnerConfigFor({ modelUrl: '', swarmId: config.swarmId, peerId: '', backend: 'cpu', resume: false, ...swarmLoadOptions(config) });
      const roundShape = { swarmId: config.swarmId, tasks: shape.tasks, questions: shape.questions, completions: shape.completions, maxNewTokens: shape.sampling.maxNewTokens };
      const rules = config.mode === 'game' ? gameSwarmRules(config) : rolloutRules(roundShape);
      this.roundShape = config.mode === 'game' ? null : roundShape;
      const swarm = await Swarm.join(config, {
        ...rules,
        ...(peerKey ? { privateKey: peerKey } : {}),
        heartbeatStats: () => this.heartbeat(),
        heartbeatHeldOut: () => heldOutReport(this.snapshot.evals),
        heartbeatMs: 5_000,
        ...(this.options.watchOnly ? {} : { weights: { family: () => this.family, current: () => this.currentWeights(), byHash: async (h: string) => (await this.verification?.weightsByHash(h)) ?? null } }),
      });
      this.swarm = swarm;
      this.transport = transportOver(swarm, transportLimitsFor(rules.rolloutShape));
      this.tally = new SwarmTally(swarm.peerId);
      if (!this.options.watchOnly) await this.startVerification(swarm, this.transport, peerKey);
      this.cleanups.push(swarm.onMessage(({ message }) => this.onSwarmMessage(message)));
      // only what each message added (de-duplicated, capped per peer and round): the tally counts a task
      // once and the worker is never handed the merged batch again
      this.cleanups.push(this.transport.onNewRollouts((added) => this.onNewRollouts(added)));
      const refresh = () => this.refreshLinks();
      swarm.node.addEventListener('connection:open', refresh);
      swarm.node.addEventListener('connection:close', refresh);
      // votes keep arriving after this tab cast its own: the game's standings are re-read with the links
      const timer = setInterval(() => (refresh(), this.game?.refresh()), 1_000);
      this.cleanups.push(() => clearInterval(timer));
      this.update({ peerId: swarm.peerId });
      if (config.mode === 'game' && this.options.watchOnly) {
        const watch = new GameWatch(swarm, (gameWatch) => this.update({ gameWatch }));
        this.cleanups.push(() => void watch.close());
        void paceGame({ chain: config.chain, swarm, onStatus: (gamePace) => this.update({ gamePace }) }).then((pace) => (pace?.run(), this.cleanups.push(() => pace?.stop())));
      }
      refresh();
      await probe;
      this.update({ phase: 'ready' });
      // a tab that was contributing when it was reloaded goes on from its checkpoint without another click
      if (!this.options.watchOnly && wasContributing(config.swarmId)) void this.join();
    } catch (error) {
      await probe.catch(() => undefined);
      this.update({ phase: 'error', error: (error as Error).message });
    }
    const onVisibility = () => void this.onVisibility();
    document.addEventListener('visibilitychange', onVisibility);
    this.cleanups.push(() => document.removeEventListener('visibilitychange', onVisibility));
  }

  /** One click from the landing page: load the swarm's model (resuming if this tab has a checkpoint) and contribute. */
  async join(modelOverride?: string): Promise<void> {
    const { swarm, peerId, join } = this.snapshot;
    if (join === 'loading' || join === 'contributing') return;
    if (!this.worker || !swarm || !peerId || !this.transport) {
      this.update({ join: 'failed', joinError: 'the tab is not connected to the swarm yet; wait a moment and try again' });
      return;
    }
    try {
      const modelUrl = modelUrlFor(modelOverride || swarm.modelId, swarm, this.appBase());
      this.update({ join: 'loading', joinError: null, modelUrl, progress: null });
      const loaded = await this.worker.load({
        modelUrl, swarmId: swarm.swarmId, peerId, backend: this.backendChoice(), resume: true, memoryBudgetBytes: memoryBudget(), ...swarmLoadOptions(swarm),
      });
      this.update({
        backend: loaded.backend, parameterCount: loaded.parameterCount, resumedRound: loaded.resumedRound,
        savedRound: loaded.resumedRound, weightsDigest: loaded.weightsDigest,
        base: { fingerprint: loaded.baseFingerprint, lora: loaded.lora, completionBudget: loaded.completionBudget },
      });
      if (loaded.note) this.warn(loaded.note);
      // with LoRA the weight protocol exchanges adapters of this base, rank and targets only
      this.family = loaded.weightsFamily ?? (await this.familyOf(modelUrl));
      await this.worker.throttle(this.settings.value.duty);
      const clock = this.swarm!.clock;
      // the worker keeps local time: shift genesis by the swarm-time offset so both agree on round boundaries
      const workerClock = { genesisMs: clock.genesisMs - clock.offsetMs, roundMs: clock.roundMs };
      if (swarm.mode === 'game') {
        if (!this.game) {
          this.game = new GameBridge(this.swarm!, this.worker, (m) => this.warn(m));
          this.game.onView((game) => this.update({ game }));
          this.game.onWinners((tally) => void this.reporter?.submitWinners?.(tally.winners));
        }
        this.pace?.stop();
        const forward = (p: Parameters<TabswarmWorkerApi['gamePosition']>[0]) => void this.worker?.gamePosition(p).catch((e: Error) => this.warn(`game position refused: ${e.message}`));
        this.pace = await paceGame({ chain: swarm.chain, swarm: this.swarm!, forward, onStatus: (gamePace) => this.update({ gamePace }) });
        await this.worker.startGame({ clock: workerClock, swarmId: swarm.swarmId, taskMix: swarm.taskMix, pace: this.pace?.status.pace ?? 'clock' });
        this.pace?.run();
      } else await this.worker.start({ clock: workerClock });
      this.update({ join: 'contributing' });
      rememberContributing(swarm.swarmId, true);
    } catch (error) {
      const e = error as Error;
      this.update({ join: 'failed', joinError: `${e.name}: ${e.message}` });
    }
  }

  /** The identity panel hands its state over once started; rewards then go to the coordinator after each round. */
  setRewardReporter(reporter: RewardReporter | null): void {
    this.reporter = reporter;
  }

  /**
   * Gossips a fresh dual-signed binding so peers can show which account this tab belongs to; `renew` re-signs
   * it before its deadline (the identity panel's wallet or burner), so a tab that runs for days stays bound.
   */
  async publishBinding(signed: SignedPeerBindingWire, renew?: () => Promise<SignedPeerBindingWire | null>): Promise<void> {
    try {
      // announced again whenever a peer joins, so late joiners see this tab's account too
      await this.swarm?.announceBinding(signed, renew);
    } catch (error) {
      this.warn(`binding not gossiped: ${(error as Error).message}`);
    }
  }

  pause = () => this.worker?.pause().catch((e: Error) => this.warn(e.message));
  resume = () => this.worker?.resume().catch((e: Error) => this.warn(e.message));

  async stopContributing(): Promise<void> {
    this.pace?.stop();
    await this.worker?.stop().catch((e: Error) => this.warn(e.message));
    if (this.snapshot.swarm) rememberContributing(this.snapshot.swarm.swarmId, false);
    this.update({ join: 'landing' });
  }

  /** Forget this tab's training: stop and delete the checkpoint; the next join starts from the shipped model. */
  async reset(): Promise<void> {
    await this.worker?.reset().catch((e: Error) => this.warn(e.message));
    if (this.snapshot.swarm) rememberContributing(this.snapshot.swarm.swarmId, false);
    this.update({ weightsDigest: null, join: 'landing', own: [], evals: [], savedRound: null, resumedRound: null, lastStats: null });
  }

  async setDuty(duty: number): Promise<void> {
    this.settings.update({ duty });
    await this.worker?.throttle(duty).catch((e: Error) => this.warn(e.message));
  }

  async downloadModel(): Promise<void> {
    if (!this.worker) return;
    try {
      await saveModelFolder(await this.worker.exportModel(), this.snapshot.swarm?.modelId ?? 'model');
    } catch (error) {
      this.warn(`download failed: ${(error as Error).message}`);
    }
  }

  /**
   * "Download the swarm model": this tab's weights averaged with every peer's that answers the weight
   * protocol (same model family, hash-checked, capped at this model's size), saved as an HF folder.
   */
  async downloadSwarmModel(): Promise<void> {
    const swarm = this.swarm, worker = this.worker, family = this.family;
    if (!swarm || !worker || !family) return this.update({ swarmModelStatus: 'load the model first: the swarm model is the mean of yours and your peers\u2019' });
    try {
      const own = await this.currentWeights();
      if (!own) throw new Error('this tab has no weights to average yet');
      const isBound = (p: string) => swarm.boundAccount(p) !== null;
      const peers = boundFirst(await weightServers(swarm.node, swarm.topicPeers()), swarm.config.preferBound === true, isBound).slice(0, MAX_AVERAGED_PEERS);
      this.update({ swarmModelStatus: `fetching weights from ${peers.length} peer${peers.length === 1 ? '' : 's'}…` });
      // same family, same tensors: a peer's file is this tab's size (plus room for a longer header)
      const maxBytes = own.bytes.length + 64 * 1024;
      const results = await Promise.allSettled(peers.map((p) => fetchWeights(swarm.node, peerIdFromString(p), { family, maxBytes })));
      const got = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ peer: peers[i], weights: r.value }] : []));
      const unfetched = results.flatMap((r, i) => (r.status === 'rejected' ? [{ peer: peers[i], reason: `${(r.reason as Error).name}: ${(r.reason as Error).message}` }] : []));
      this.update({ swarmModelStatus: `averaging ${got.length} peer${got.length === 1 ? '’s' : 's’'} weights with this tab’s (after the round in flight)…` });
      // the worker leaves out, with a reason, each peer whose mean with this tab fails the average guard
      const made = await worker.exportAverage(got.map((g) => new Uint8Array(g.weights.bytes).buffer));
      await saveModelFolder(made.files, `${this.snapshot.swarm?.modelId ?? 'model'}-swarm`);
      const refused = namedRefusals(got.map((g) => g.peer), made.refused, unfetched);
      const n = made.models, peersIn = n - 1;
      this.update({ swarmModelStatus: `Swarm model: the mean of ${n} model${n === 1 ? '' : 's'} (this tab's and ${peersIn} peer${peersIn === 1 ? '\u2019s' : 's\u2019'})${refused.length ? `; ${refused.length} refused: ${refused[0].slice(0, 160)}` : ''}.` });
    } catch (error) {
      this.update({ swarmModelStatus: `swarm model not made: ${(error as Error).message}` });
    }
  }

  /**
   * Periodic averaging (NoLoCo-style): after every K-th round, fetch one random peer's weights and hand them to
   * the worker, which takes the mean before its next round. A peer that refuses or times out just skips it.
   */
  private async averageWithRandomPeer(round: number): Promise<void> {
    const every = this.snapshot.swarm?.averageEveryRounds ?? 0;
    const swarm = this.swarm, worker = this.worker, family = this.family;
    if (every <= 0 || (round + 1) % every !== 0 || this.averaging || !swarm || !worker || !family) return;
    this.averaging = true;
    try {
      const peers = averagingCandidates(await weightServers(swarm.node, swarm.topicPeers()), swarm.config.preferBound === true, (p) => swarm.boundAccount(p) !== null);
      if (peers.length === 0) return;
      const own = await this.currentWeights();
      if (!own) return;
      const peer = peers[Math.floor(Math.random() * peers.length)];
      const got = await fetchWeights(swarm.node, peerIdFromString(peer), { family, maxBytes: own.bytes.length + 64 * 1024 });
      await worker.average([new Uint8Array(got.bytes).buffer]);
    } catch (error) {
      this.warn(`averaging after round ${round} skipped: ${(error as Error).message}`);
    } finally {
      this.averaging = false;
    }
  }

  /** this tab's weights as peers get them: model.safetensors of the last saved round, exported once per change */
  private async currentWeights(): Promise<ServedWeights | null> {
    if (!this.worker || this.snapshot.join !== 'contributing') return null;
    const digest = this.snapshot.weightsDigest;
    if (this.served && this.served.digest === digest && digest !== null) return this.served;
    const files = await this.worker.exportModel();
    const file = files.find((f) => f.name === `${ADAPTER_DIR}adapter_model.safetensors`) ?? files.find((f) => f.name === 'model.safetensors');
    if (!file) return null;
    const bytes = new Uint8Array(file.data);
    this.served = { bytes, hash: await sha256Hex(bytes), digest };
    return this.served;
  }

  private async familyOf(modelUrl: string): Promise<string | null> {
    try {
      const res = await fetch(new URL('config.json', modelUrl.endsWith('/') ? modelUrl : `${modelUrl}/`));
      return res.ok ? modelFamily(parseConfig(await res.json())) : null;
    } catch {
      return null; // without a family this tab serves no weights; training is unaffected
    }
  }

  async stop(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    this.pace?.stop();
    if (this.tallyTimer) clearTimeout(this.tallyTimer);
    this.worker?.terminate();
    await this.game?.close();
    await this.transport?.close();
    await this.swarm?.stop();
  }

  private appBase(): string {
    return this.options.appBase ?? location.href;
  }

  /** `?backend=cpu|webgpu` in the URL wins over the saved setting (demos, tests, slow GPUs) */
  private backendChoice(): BackendChoice {
    const fromUrl = new URLSearchParams(location.search).get('backend');
    return fromUrl === 'cpu' || fromUrl === 'webgpu' || fromUrl === 'auto' ? fromUrl : this.settings.value.backend;
  }

  /** Reads the model's config.json (a few hundred bytes) to say before the click whether the model fits. */
  private async checkCapability(swarm: SwarmConfig): Promise<void> {
    try {
      const { neededBytes, budgetBytes, fits } = await estimateModel(swarm.modelId, swarm, this.appBase(), memoryBudget());
      this.update({ capability: { neededBytes, budgetBytes, fits } });
    } catch {
      // the estimate is a courtesy: the worker checks again, with a named error, before loading weights
    }
  }

  /** "Choose another model": its size and memory needs (or why it cannot be had) before anything downloads */
  async checkModel(modelId: string): Promise<void> {
    const swarm = this.snapshot.swarm;
    if (!swarm || !modelId.trim()) return;
    try {
      const e = await estimateModel(modelId.trim(), swarm, this.appBase(), memoryBudget());
      this.update({ modelChoice: { modelId: e.modelId, text: describeEstimate(e), fits: e.fits } });
    } catch (error) {
      this.update({ modelChoice: { modelId: modelId.trim(), text: `${(error as Error).name}: ${(error as Error).message}`, fits: false } });
    }
  }

  private startWorker(): Promise<GpuProbe | null> {
    this.worker = this.options.worker ?? new EngineWorkerClient();
    this.cleanups.push(this.worker.onEvent((event) => this.onWorkerEvent(event)));
    return this.worker.probe().then(
      (gpu) => {
        this.update({ gpu });
        return gpu;
      },
      (error: Error) => {
        this.update({ gpu: { webgpu: false, adapter: null, reason: `the engine worker failed: ${error.message}` } });
        return null;
      },
    );
  }

  private onWorkerEvent(event: WorkerEvent): void {
    switch (event.kind) {
      case 'progress':
        return this.update({ progress: event.progress });
      case 'phase':
        return this.update({ worker: event.phase, workerDetail: event.detail });
      case 'stats': {
        const s = event.stats;
        const row: OwnRound = { round: s.round, reward: s.ownReward, accuracy: s.ownAccuracy, swarmReward: s.swarmReward, swarmAccuracy: s.swarmAccuracy };
        // batched and gasless on the coordinator's side; never awaited, so a slow chain cannot stall training
        void this.reporter?.reportReward(s.ownReward, s.round).catch(() => false);
        if (this.roundShape) void this.reporter?.attestRound?.(s.round, this.transport?.receivedRollouts(s.round) ?? [], this.roundShape).catch(() => 0);
        void this.averageWithRandomPeer(s.round);
        return this.update({
          lastStats: s, own: [...this.snapshot.own.filter((r) => r.round !== s.round), row].slice(-500),
          optimizerSteps: this.snapshot.optimizerSteps + s.optimizerSteps,
        });
      }
      case 'averaged':
        return this.update({ averaged: { round: event.round, models: event.models }, weightsDigest: event.weightsDigest });
      case 'eval': {
        // the first point is the start line: keep it when the list is trimmed
        const [first, ...rest] = [...this.snapshot.evals, event.point];
        return this.update({ evals: [first, ...rest.slice(-499)] });
      }
      case 'publish':
        this.tally.addRollouts(event.batch.peerId, event.batch.round, event.batch.rollouts, Date.now());
        this.publishTally();
        void this.transport?.publishRollouts(event.batch).catch((e: Error) => this.warn(`publish failed: ${e.message}`));
        return;
      case 'stage':
        return this.update({ stage: { round: event.round, stage: event.stage } });
      case 'saved':
        return this.update({ savedRound: event.round, weightsDigest: event.weightsDigest });
      case 'warning':
        return this.warn(event.message);
      case 'gamePublish':
      case 'game':
        this.game?.handle(event);
        return;
      default:
        event satisfies never;
    }
  }

  private onSwarmMessage(message: SwarmMessage): void {
    const now = Date.now();
    if (message.kind === 'rollouts') {
      return; // counted by onNewRollouts, after the transport's de-duplication and caps
    } else if (message.kind === 'heartbeat' && (message.stats.verifiedRollouts !== undefined || message.stats.verifyFailed !== undefined)) {
      this.verifiedReports.add(message.peerId, message.stats);
      this.update({ reportedVerified: this.verifiedReports.totals() });
      if (message.heldOut) this.tally.addHeldOut(message.peerId, message.heldOut, message.round, now);
      else this.tally.seen(message.peerId, now);
    } else if (message.kind === 'heartbeat' && message.heldOut) {
      this.tally.addHeldOut(message.peerId, message.heldOut, message.round, now);
    } else if (message.kind === 'binding') {
      this.tally.setAccount(message.peerId, message.signed.binding.account, now);
    } else {
      this.tally.seen(message.peerId, now);
    }
    this.publishTally();
  }

  private async startVerification(swarm: Swarm, transport: Libp2pTransport, peerKey: PrivateKey | null): Promise<void> {
    const v = new Verification({
      swarm, transport, peerKey, family: () => this.family,
      worker: () => (this.snapshot.join === 'contributing' ? this.worker : null),
      ownWeightBytes: () => (this.snapshot.parameterCount === null ? null : this.snapshot.parameterCount * 4),
      onChange: (verification) => this.update({ verification }),
    });
    await v.start();
    this.verification = v;
    this.cleanups.push(() => void v.stop());
  }

  private onNewRollouts(added: RolloutBatch): void {
    this.tally.addRollouts(added.peerId, added.round, added.rollouts, Date.now());
    this.verification?.offer(added);
    if (this.snapshot.join === 'contributing' && (this.verification?.keeps(added.peerId, added.round) ?? true)) void this.worker?.deliver(added).catch(() => undefined);
    this.publishTally();
  }

  /**
   * Batched: a snapshot of the tally (a copy of up to 1,200 peers) at most every TALLY_REFRESH_MS, however
   * many messages arrive, so a flood of valid messages costs O(1) per message and one render per interval.
   */
  private publishTally(): void {
    if (this.tallyTimer) return;
    this.tallyTimer = setTimeout(() => {
      this.tallyTimer = null;
      this.update({ tally: this.tally.snapshot(), top: this.tally.topContributors(10) });
    }, TALLY_REFRESH_MS);
  }

  private refreshLinks(): void {
    const swarm = this.swarm;
    if (!swarm) return;
    const links = swarm.links();
    const relayConnected = links.some((l) => !l.direct && !l.addr.includes('/p2p-circuit'));
    // read from the validator's own bounded counters on this timer: a flood of refusals is not a flood of renders
    const v = swarm.validator;
    const topicPeers = swarm.topicPeers();
    const trust = this.snapshot.trust.refused === v.rejected && this.snapshot.trust.accepted === v.accepted
      ? this.snapshot.trust
      : {
        accepted: v.accepted, refused: v.rejected, recent: v.rejections.slice(-TRUST_RECENT).map((r) => ({ from: r.from, reason: r.reason })),
        // only the peers on the topic now: as many as the node keeps connections, however many keys a flood used
        scores: Object.fromEntries(topicPeers.map((p) => [p, v.scores.get(p)])),
      };
    this.update({ links, relayConnected, topicPeers, trust });
  }

  private heartbeat(): Record<string, number> {
    const s = this.snapshot.lastStats;
    return { ...(s ? { round: s.round, reward: s.ownReward, accuracy: s.ownAccuracy, rollouts: s.localRollouts } : { round: -1 }), ...this.verification?.stats() };
  }

  private async onVisibility(): Promise<void> {
    if (!this.settings.value.pauseWhenHidden || this.snapshot.join !== 'contributing') return;
    if (document.hidden && this.snapshot.worker === 'running') {
      this.pausedByVisibility = true;
      await this.pause();
    } else if (!document.hidden && this.pausedByVisibility) {
      this.pausedByVisibility = false;
      await this.resume();
    }
  }

  private warn(message: string): void {
    this.update({ warnings: [...this.snapshot.warnings, message].slice(-5) });
  }

  private update(patch: Partial<SessionSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
  }
}
