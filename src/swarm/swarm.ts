// A joined swarm: the libp2p node plus the round clock, the topic validator and typed publish/receive.
// Validation runs inside gossipsub's topic validator, so a refused message is neither delivered to us nor
// forwarded to anyone; accepted ones come out of `onMessage` already decoded.
import { TopicValidatorResult, type Message } from '@libp2p/gossipsub';
import type { PrivateKey } from '@libp2p/interface';
import { identityBindingVerifier } from './binding.ts';
import { BindingAnnouncer, type RenewBinding, type SignedBindingWire } from './binding-announcer.ts';
import { RoundClock } from './clock.ts';
import type { SwarmConfig } from './config.ts';
import { PROTOCOL_VERSION, swarmTopic } from './constants.ts';
import { EchoQueue } from './echo.ts';
import { decodeMessage, encodeMessage, type BindingMessage, type HeldOutReport, type MessageHeader, type SwarmMessage } from './messages.ts';
import { createSwarmNode, isDirect, type SwarmLibp2p } from './node.ts';
import type { ServeOptions } from './weights.ts';
import { SwarmValidator, type BindingVerifier, type Rejection, type RolloutContentCheck, type RolloutShape } from './validator.ts';

/** A message body without the header fields the swarm fills in. */
export type OutgoingMessage = SwarmMessage extends infer M ? (M extends SwarmMessage ? Omit<M, keyof MessageHeader> & { round?: number } : never) : never;

export interface ReceivedMessage {
  message: SwarmMessage;
  /** local swarm time of arrival */
  receivedAt: number;
  /** the peer that handed it to us (the author, or a forwarder) */
  via: string;
}

export interface SwarmOptions {
  privateKey?: PrivateKey;
  bindingVerifier?: BindingVerifier;
  denyPeers?: string[];
  log?: (line: string) => void;
  /** stats carried in the periodic heartbeat; heartbeats stop when absent */
  heartbeatStats?: () => Record<string, number>;
  /** the latest held-out evaluation, carried by each heartbeat once there is one */
  heartbeatHeldOut?: () => HeldOutReport | null;
  /** serve this tab's weights to peers (the weight protocol) */
  weights?: ServeOptions;
  heartbeatMs?: number;
  /** adjust the round clock to peers' timestamps (default true); off when measuring latency on one machine */
  trackClockSkew?: boolean;
  /** answer other peers' pings with echoes (default true): what lets a pinger measure round-trip time */
  answerPings?: boolean;
  /** the swarm's batch shape: bigger rollouts messages are rejected (see src/worker/rescore.ts rolloutRules) */
  rolloutShape?: RolloutShape;
  /** task refs and claimed rewards of a rollouts message: a reason to reject, or null */
  rolloutCheck?: RolloutContentCheck;
}

export type { RenewBinding, SignedBindingWire } from './binding-announcer.ts';
export { BINDING_RENEW_MARGIN_S } from './binding-announcer.ts';

/** A verified binding we heard: which account a peer belongs to, and until when (unix s). */
export interface KnownBinding {
  account: string;
  deadlineS: number;
}

const MAX_BINDINGS = 4096;

export interface PeerLink {
  peerId: string;
  direct: boolean;
  addr: string;
}

export class Swarm {
  readonly topic: string;
  readonly clock: RoundClock;
  readonly validator: SwarmValidator;
  private nonce: number;
  private readonly messageListeners = new Set<(m: ReceivedMessage) => void>();
  private readonly rejectListeners = new Set<(r: Rejection) => void>();
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  /** the bytes of the last message sent (diagnostics replay them to test replay protection) */
  lastPublished: Uint8Array | null = null;
  private readonly log: (line: string) => void;
  private trackSkew = true;
  private answerPings = true;
  /** peer -> its verified binding (bounded; the newest kept) */
  private readonly bindings = new Map<string, KnownBinding>();
  private readonly announcer: BindingAnnouncer;
  private readonly echoes = new EchoQueue((echoes) => {
    this.publish({ kind: 'echo', echoes }).catch((error: Error) => this.log(`echo: ${error.message}`));
  });

  private constructor(
    readonly node: SwarmLibp2p,
    readonly config: SwarmConfig,
    validator: SwarmValidator,
    clock: RoundClock,
    log: (line: string) => void,
  ) {
    this.topic = swarmTopic(config.swarmId);
    this.validator = validator;
    this.clock = clock;
    this.log = log;
    this.announcer = new BindingAnnouncer({
      now: () => clock.now(),
      publish: async (signed) => void (await this.publish({ kind: 'binding', signed })),
      log,
    });
    // microseconds since the epoch: unique across restarts of this peer without keeping state
    this.nonce = Date.now() * 1000;
  }

  static async join(config: SwarmConfig, options: SwarmOptions = {}): Promise<Swarm> {
    const log = options.log ?? ((line: string) => console.warn(`swarm: ${line}`));
    const clock = new RoundClock({ roundMs: config.roundMs, genesisMs: config.genesisMs });
    const validator = new SwarmValidator({
      swarmId: config.swarmId,
      clock,
      bindingVerifier: options.bindingVerifier ?? identityBindingVerifier(config),
      lab: config.lab === true,
      ...(options.rolloutShape ? { rolloutShape: options.rolloutShape } : {}),
      ...(options.rolloutCheck ? { rolloutCheck: options.rolloutCheck } : {}),
    });
    const node = await createSwarmNode({
      swarmId: config.swarmId,
      relayAddrs: config.relayAddrs,
      privateKey: options.privateKey,
      allowPrivateAddresses: config.local,
      appScore: (peer) => validator.scores.get(peer),
      denyPeers: options.denyPeers,
      weights: options.weights,
      log,
    });
    const swarm = new Swarm(node, config, validator, clock, log);
    swarm.attach(options);
    return swarm;
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  private attach(options: SwarmOptions): void {
    this.trackSkew = options.trackClockSkew !== false;
    this.answerPings = options.answerPings !== false;
    const pubsub = this.node.services.pubsub;
    pubsub.topicValidators.set(this.topic, async (from, msg: Message) => {
      const signer = msg.type === 'signed' ? msg.from.toString() : null;
      const via = from.toString();
      const verdict = await this.validator.validate(msg.data, signer, via);
      if (verdict.ok) return TopicValidatorResult.Accept;
      const rejection = this.validator.rejections[this.validator.rejections.length - 1];
      this.log(`rejected message from ${rejection.from.slice(-8)} via ${via.slice(-8)}: ${verdict.reason}`);
      for (const listener of this.rejectListeners) safely(() => listener(rejection));
      return verdict.severity === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
    });
    // 'gossipsub:message' (not 'message') because it names the propagation source: diagnostics show whether
    // a message came straight from its author or was forwarded
    pubsub.addEventListener('gossipsub:message', (event) => {
      const { msg, propagationSource } = event.detail;
      if (msg.topic !== this.topic || msg.type !== 'signed') return;
      // the validator accepted these bytes a moment ago; decoding again keeps the validator free of
      // per-message state for delivery, and costs little next to the network
      const message = decodeAccepted(msg.data);
      if (!message) return;
      const receivedAt = this.clock.now();
      if (message.kind === 'binding') this.rememberBinding(message);
      if (message.kind === 'heartbeat' && this.trackSkew) this.clock.observePeerTime(message.peerId, message.ts);
      if (message.kind === 'ping' && this.answerPings && message.peerId !== this.peerId) this.echoes.add(message);
      const received: ReceivedMessage = { message, receivedAt, via: propagationSource.toString() };
      for (const listener of this.messageListeners) safely(() => listener(received));
    });
    // a late joiner learns who is bound: everyone with a binding announces it again when a peer subscribes
    pubsub.addEventListener('subscription-change', (event) => {
      if (event.detail.subscriptions.some((sub) => sub.topic === this.topic && sub.subscribe)) this.announcer.peerJoined();
    });
    pubsub.subscribe(this.topic);
    if (options.heartbeatStats) {
      const stats = options.heartbeatStats;
      this.heartbeatTimer = setInterval(() => {
        // async so that a throwing stats callback becomes a logged rejection, not an uncaught exception
        void (async () => {
          const heldOut = options.heartbeatHeldOut?.();
          return this.publish({ kind: 'heartbeat', stats: stats(), ...(heldOut ? { heldOut } : {}) });
        })().catch((error: Error) => this.log(`heartbeat: ${error.message}`));
      }, options.heartbeatMs ?? 5_000);
    }
  }

  /** the account a peer is bound to, while its binding's deadline has not passed */
  boundAccount(peerId: string): string | null {
    const b = this.bindings.get(peerId);
    return b && b.deadlineS * 1000 > this.clock.now() ? b.account : null;
  }

  private rememberBinding(message: BindingMessage): void {
    const deadlineS = Number(message.signed.binding.deadline);
    this.bindings.delete(message.peerId);
    this.bindings.set(message.peerId, { account: message.signed.binding.account, deadlineS: Number.isFinite(deadlineS) ? deadlineS : 0 });
    if (this.bindings.size > MAX_BINDINGS) this.bindings.delete(this.bindings.keys().next().value as string);
    this.clock.trust(message.peerId);
  }

  /**
   * Gossips this peer's binding now, again whenever a peer joins (coalesced), and, with `renew`, re-signs it
   * BINDING_RENEW_MARGIN_S before its deadline so it never lapses while the tab runs (see binding-announcer.ts).
   */
  async announceBinding(signed: SignedBindingWire, renew?: RenewBinding): Promise<void> {
    await this.announcer.announce(signed, renew);
  }

  onMessage(listener: (m: ReceivedMessage) => void): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  onRejection(listener: (r: Rejection) => void): () => void {
    this.rejectListeners.add(listener);
    return () => this.rejectListeners.delete(listener);
  }

  /** fills in the header (round defaults to the current one), encodes (refusing oversize) and publishes */
  async publish(body: OutgoingMessage): Promise<SwarmMessage> {
    const message = {
      v: PROTOCOL_VERSION,
      swarmId: this.config.swarmId,
      peerId: this.peerId,
      nonce: this.nonce++,
      ts: this.clock.now(),
      ...body,
      round: body.round ?? this.clock.currentRound(),
    } as SwarmMessage;
    await this.publishBytes(encodeMessage(message));
    return message;
  }

  /** publishes bytes as they are, signed by this peer; diagnostics use it to send what encodeMessage refuses */
  async publishBytes(bytes: Uint8Array): Promise<number> {
    this.lastPublished = bytes;
    const result = await this.node.services.pubsub.publish(this.topic, bytes);
    return result.recipients.length;
  }

  /** the nonce the next `publish` will put in its header (without using it up): a pinger's probe id */
  peekNonce(): number {
    return this.nonce;
  }

  /** next nonce this peer would use; lets diagnostics craft raw messages */
  takeNonce(): number {
    return this.nonce++;
  }

  links(): PeerLink[] {
    return this.node.getConnections().map((c) => ({ peerId: c.remotePeer.toString(), direct: isDirect(c), addr: c.remoteAddr.toString() }));
  }

  /** peers subscribed to the swarm topic (relays are not) */
  topicPeers(): string[] {
    return this.node.services.pubsub.getSubscribers(this.topic).map((p) => p.toString());
  }

  async stop(): Promise<void> {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.announcer.stop();
    this.echoes.close();
    this.messageListeners.clear();
    this.rejectListeners.clear();
    await this.node.stop();
  }
}

function decodeAccepted(data: Uint8Array): SwarmMessage | null {
  const result = decodeMessage(data);
  return result.ok ? result.message : null;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    console.error('swarm listener failed', error);
  }
}
