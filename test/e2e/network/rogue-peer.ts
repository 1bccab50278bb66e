// A rogue Node peer for the trust-boundary spec, made with the project's own node factory (Swarm.join) and
// joined through the relay like anyone. It publishes raw bytes on the rounds topic through its pubsub
// service, bypassing the encoder, so every message is wire-valid but hostile; and it starts a bounded number
// of fresh-key sybils. Floods come before the provable faults in each lap: once its score falls, the pages'
// gossipsub graylists it and nothing more of it reaches their validators. One JSON line per event on stdout; it exits after --seconds.
//   node --experimental-websocket --import ./scripts/register.mjs test/e2e/network/rogue-peer.ts \
//     --config <?swarm= value> --sybils 8 --seconds 60 [--app] [--model-free]
// With --model-free it sends no floods: it publishes committed answer keys written by no model (model-free.ts).
// With --app the honest-shape batches follow the app's round shape (src/worker/plan.ts), so the sybils' groups
// are valid and reach J: what shows that J is shared out per peer. It also replays, verbatim (the author's
// gossipsub signature and seqno untouched), one signed message of each target to the other target.
import { parseArgs } from 'node:util';
import { assertWebSocket } from '../../../src/node-polyfills.ts';
import { decodeSwarmConfigParam } from '../../../src/swarm/config.ts';
import { swarmTopic } from '../../../src/swarm/constants.ts';
import { Swarm } from '../../../src/swarm/swarm.ts';
import { demoRollouts, DEMO_SHAPE } from '../../../src/app/lab/demo-rollouts.ts';
import { generateTask, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import { roundTaskRefs } from '../../../src/rl/round-tasks.ts';
import { runnerConfigFor } from '../../../src/worker/plan.ts';
import type { Message } from '@libp2p/gossipsub';
import { runModelFree } from './model-free.ts';

const { values } = parseArgs({ options: { config: { type: 'string' }, sybils: { type: 'string', default: '8' }, seconds: { type: 'string', default: '60' }, targets: { type: 'string', default: '' }, app: { type: 'boolean', default: false }, 'model-free': { type: 'boolean', default: false }, 'link-seconds': { type: 'string', default: '150' } } });
assertWebSocket();
const config = decodeSwarmConfigParam(values.config!);
const targets = values.targets!.split(',').filter(Boolean);
const emit = (event: object) => console.log(JSON.stringify(event));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const topic = swarmTopic(config.swarmId);
const quiet = { log: () => undefined, trackClockSkew: false, answerPings: false };

const appShape = values.app ? runnerConfigFor({ modelUrl: '', swarmId: config.swarmId, peerId: '', backend: 'cpu', resume: false, taskMix: config.taskMix }) : null;

/** a batch as an honest tab of the app would send: its own tasks, completions half right, claims = re-score */
function honestBatch(peerId: string, round: number) {
  if (!appShape) return demoRollouts(config.swarmId, round, peerId, DEMO_SHAPE.questions);
  return roundTaskRefs(config.swarmId, round, peerId, appShape.tasks, appShape.questions).map((ref) => {
    const task = generateTask(ref);
    const completions = Array.from({ length: appShape.completions }, (_, j) => (j % 2 === 0 ? `<answer>${task.answer}</answer>` : `<answer>${task.answer}9</answer>`));
    return { task: ref, completions: completions.map((text) => ({ text, reward: scoreCompletion(task, text).reward })) };
  });
}

const rogue = await Swarm.join(config, quiet);
// the targets' own signed messages, kept to replay verbatim (a few: this is a test, not a store)
const captured = new Map<string, Message>();
rogue.node.services.pubsub.addEventListener('gossipsub:message', (event) => {
  const msg = event.detail.msg;
  if (msg.type === 'signed' && msg.topic === topic && targets.includes(msg.from.toString()) && !captured.has(msg.from.toString())) captured.set(msg.from.toString(), msg);
});

/** sends `msg` as it was signed by its author to one peer: the gossipsub RPC a forwarder would send */
function replayVerbatim(msg: Message, to: string): number {
  if (msg.type !== 'signed') return 0;
  const seqno = new Uint8Array(8);
  new DataView(seqno.buffer).setBigUint64(0, msg.sequenceNumber);
  const rpc = { subscriptions: [], messages: [{ from: msg.from.toMultihash().bytes, data: msg.data, seqno, topic: msg.topic, signature: msg.signature }] };
  try {
    return (rogue.node.services.pubsub as unknown as { sendRpc(id: string, rpc: unknown): boolean }).sendRpc(to, rpc) ? 1 : 0;
  } catch {
    return 0;
  }
}

emit({ rogue: rogue.peerId });

/** raw bytes through pubsub: the encoder (and its refusals) never sees them */
async function raw(swarm: Swarm, body: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<number> {
  const message = { v: 1, swarmId: config.swarmId, round: swarm.clock.currentRound(), peerId: swarm.peerId, nonce: swarm.takeNonce(), ts: Date.now(), ...header, ...body };
  try {
    return (await swarm.node.services.pubsub.publish(topic, new TextEncoder().encode(JSON.stringify(message)))).recipients.length;
  } catch {
    return 0;
  }
}

// links first: the attack only means something once the rogue reaches the pages
// (the sybils start after: nine handshakes at once on a loaded machine stall the pages' dial queues)
const deadline = Date.now() + Number(values['link-seconds']) * 1000;
while (Date.now() < deadline && !targets.every((t) => rogue.topicPeers().includes(t))) await sleep(250);
emit({ linked: rogue.topicPeers() });
if (values['model-free']) {
  const done = await runModelFree(rogue, config, Number(values.seconds), emit);
  emit({ done });
  await rogue.stop().catch(() => undefined);
  process.exit(0);
}
const sybils: Swarm[] = [];
for (let i = 0; i < Number(values.sybils); i++) sybils.push(await Swarm.join(config, quiet));
emit({ sybils: sybils.map((s) => s.peerId) });
// a gossipsub heartbeat or two so the pages have the rogue in their mesh
await sleep(2_000);

const counts: Record<string, number> = {};
const count = (what: string, n: number) => (counts[what] = (counts[what] ?? 0) + (n > 0 ? 1 : 0));
const end = Date.now() + Number(values.seconds) * 1000;
let lap = 0;
while (Date.now() < end) {
  const round = rogue.clock.currentRound();
  const own = appShape ? honestBatch(rogue.peerId, round) : demoRollouts(config.swarmId, round, rogue.peerId);
  // laps alternate: floods while the rogue still stands well, then provable faults (the pre-decode rate
  // bucket would otherwise swallow the faults behind the floods)
  if (lap % 2 === 0) {
    // 1. its honest-shape batch, re-sent 40 times with new nonces: counted once, the rest over budget
    for (let i = 0; i < 40; i++) count('resent', await raw(rogue, { kind: 'rollouts', rollouts: own, part: 0, parts: 1 }));
    // 2. clock: heartbeats 30 s in the future, from the rogue and from every sybil
    for (let i = 0; i < 40; i++) count('clock', await raw(rogue, { kind: 'heartbeat', stats: { round } }, { ts: Date.now() + 30_000 }));
    for (const s of sybils) count('sybilClock', await raw(s, { kind: 'heartbeat', stats: { round } }, { ts: Date.now() + 30_000 }));
  } else {
    // 3. oversize but wire-legal: 64 groups x 32 completions (the honest shape is 2 x 4)
    const big = Array.from({ length: 64 }, (_, i) => ({ task: { family: 'basic_arithmetic', difficulty: 1, seed: i }, completions: Array.from({ length: 32 }, (_, j) => ({ text: `<answer>${j}</answer>`, reward: 0 })) }));
    count('oversize', await raw(rogue, { kind: 'rollouts', rollouts: big, part: 0, parts: 1 }));
    // 4. off-seed: tasks of the rogue's choosing, poisoned text, claims that re-score right
    const picked = [101, 102].map((seed) => {
      const ref = { family: 'basic_arithmetic', difficulty: 1, seed };
      const task = generateTask(ref);
      return { task: ref, completions: [{ text: `ROGUE<answer>${task.answer}</answer>`, reward: 1.1 }, { text: 'ROGUE', reward: 0 }] };
    });
    count('offSeed', await raw(rogue, { kind: 'rollouts', rollouts: picked, part: 0, parts: 1 }));
    // 5. its own tasks, but a claimed reward of 1e6 on a wrong answer
    const liar = own.map((r) => ({ ...r, completions: r.completions.map((c) => ({ ...c, reward: 1e6 })) }));
    count('claims', await raw(rogue, { kind: 'rollouts', rollouts: liar, part: 0, parts: 1 }));
  }
  // 6. each sybil floods J with its own (valid) batch, many times
  for (const s of sybils) for (let i = 0; i < 5; i++) count('sybilRollouts', await raw(s, { kind: 'rollouts', rollouts: honestBatch(s.peerId, s.clock.currentRound()), part: 0, parts: 1 }));
  // 7. an old round: ignored, costs nothing
  count('oldRound', await raw(rogue, { kind: 'heartbeat', stats: {} }, { round: round - 5 }));
  // 8. an honest target's first signed message, replayed verbatim to the other target each lap: older each time
  if (values.app) for (const [author, msg] of captured) for (const to of targets) if (to !== author || targets.length === 1) count('replayed', replayVerbatim(msg, to));
  emit({ lap: lap++, counts });
  await sleep(config.roundMs);
}
emit({ done: counts, relayLinked: rogue.links().some((l) => !l.direct) });
await Promise.all([rogue, ...sybils].map((s) => s.stop().catch(() => undefined)));
process.exit(0);
