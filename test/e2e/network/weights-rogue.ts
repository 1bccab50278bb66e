// A peer that serves wrecked weights on the weight protocol and does nothing else: the default model with every
// value multiplied by --scale (3: finite, the right family, shapes and size, a correct content hash, so the
// protocol takes it). What stops it is the receiver's average guard. Joined through the relay with the
// project's own node factory (Swarm.join). One JSON line per event on stdout; it leaves after --seconds.
//   node --experimental-websocket --import ./scripts/register.mjs test/e2e/network/weights-rogue.ts \
//     --config <?swarm= value> [--seconds 150] [--scale 3] [--model public/models/default]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../../src/engine/index.ts';
import { parseSafetensors, serializeSafetensors } from '../../../src/engine/safetensors.ts';
import { assertWebSocket } from '../../../src/node-polyfills.ts';
import { decodeSwarmConfigParam } from '../../../src/swarm/config.ts';
import { Swarm } from '../../../src/swarm/swarm.ts';
import { modelFamily, sha256Hex } from '../../../src/swarm/weights.ts';

const { values } = parseArgs({ options: { config: { type: 'string' }, seconds: { type: 'string', default: '150' }, scale: { type: 'string', default: '3' }, model: { type: 'string', default: 'public/models/default' } } });
assertWebSocket();
const config = decodeSwarmConfigParam(values.config!);
const emit = (event: object) => console.log(JSON.stringify(event));
const dir = values.model!;
const family = modelFamily(parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))));
const scale = Number(values.scale);
const tensors = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors')))).tensors;
const bytes = serializeSafetensors(new Map([...tensors].map(([name, t]) => [name, { shape: t.shape, data: t.data.map((x) => x * scale) }])));
const served = { bytes, hash: await sha256Hex(bytes) };
let fetched = 0;
const swarm = await Swarm.join(config, {
  log: (line) => console.error(`weights-rogue: ${line}`),
  weights: {
    family,
    current: async () => {
      emit({ fetched: ++fetched });
      return served;
    },
  },
});
emit({ rogue: swarm.peerId, family, bytes: bytes.length });
setTimeout(() => {
  void swarm.stop().finally(() => process.exit(0));
}, Number(values.seconds) * 1000);
