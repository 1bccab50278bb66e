// A child process for verified-gossip.test.ts: Node peers with given keys join the swarm through the relay and
// publish, every round, batches of their real tasks (`correct` of G right) over the project's own transport; a
// peer with `forge` claims a perfect reward for every completion. One JSON line per event on stdout.
// Run: node --experimental-websocket --import ./scripts/register.mjs test/unit/identity/gossip-publisher.ts
//      '<swarm config JSON>' '<[{"key": protobuf hex, "correct": n, "forge"?: true}, ...] JSON>'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys';
import { hexToBytes, type Hex } from 'viem';
import { parseSwarmConfig } from '../../../src/swarm/config.ts';
import { Swarm } from '../../../src/swarm/swarm.ts';
import { transportOver } from '../../../src/swarm/transport.ts';
import { appRoundShape } from '../../../relay/coordinator/follower.ts';
import { honestBatch } from './rescore-fixture.ts';

const config = parseSwarmConfig(JSON.parse(process.argv[2]));
const peers = JSON.parse(process.argv[3]) as { key: Hex; correct: number; forge?: boolean }[];
const shape = appRoundShape(config); // what the coordinator expects of this swarm's tabs
const emit = (event: object) => console.log(JSON.stringify(event));

const joined = await Promise.all(
  peers.map(async (p) => {
    const swarm = await Swarm.join(config, { privateKey: privateKeyFromProtobuf(hexToBytes(p.key)), log: () => undefined });
    return { ...p, swarm, transport: transportOver(swarm) };
  }),
);
emit({ joined: joined.map((p) => p.swarm.peerId) });
let last = -1;
setInterval(() => {
  const round = joined[0].swarm.clock.currentRound();
  if (round === last) return;
  last = round;
  for (const p of joined) {
    const batch = honestBatch(shape, round, p.swarm.peerId, p.correct);
    if (p.forge) for (const c of batch.rollouts.flatMap((r) => r.completions)) c.reward = 1.1;
    p.transport.publishRollouts(batch).then(
      () => emit({ published: { round, peerId: p.swarm.peerId } }),
      (error: Error) => emit({ failed: { round, peerId: p.swarm.peerId, error: error.message } }),
    );
  }
}, 100);
