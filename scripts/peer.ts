// `npm run peer -- --relay <multiaddr> [--swarm id] [--lab] [--round-ms 3000] [--genesis-ms 0] [--seconds S] [--rl [DIR]]`
// or `npm run peer -- --config <swarm.json | ?swarm= value>`: a headless Node peer. It joins the swarm over
// the relay, dials peers over WebRTC (node-datachannel) and runs rounds. By default it publishes scripted
// rollouts of the round's real tasks (the network alone; lab swarms only, it refuses any other); with --rl it runs the RL core's RoundRunner on the
// CPU engine with a model folder (default public/models/default), sampling, trading rollouts over the
// libp2p Transport and taking GRPO steps. One JSON line per event on stdout (for scripts and tests);
// human-readable notes on stderr.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assertWebSocket } from '../src/node-polyfills.ts';
import { DEFAULT_ROUND_MS, decodeSwarmConfigParam, parseSwarmConfig, SwarmConfigError, type SwarmConfig } from '../src/swarm/config.ts';
import { Swarm } from '../src/swarm/swarm.ts';
import { transportLimitsFor, transportOver } from '../src/swarm/transport.ts';
import { runRoundLoop } from '../src/swarm/rounds.ts';
import { defaultRunnerConfig, type RunnerConfig } from '../src/rl/runner.ts';
import { runnerConfigFor } from '../src/worker/plan.ts';
import { rolloutRules } from '../src/worker/rescore.ts';
import { demoRoundShape, NotALabSwarmError, scriptedProducer } from '../src/app/lab/demo-rollouts.ts';

function usage(message: string): never {
  console.error(`peer: ${message}\nusage: npm run peer -- --relay <multiaddr> [--swarm id] [--lab] [--rl] [--round-ms ms] [--genesis-ms ms] [--seconds s]\n       npm run peer -- --config <swarm.json or ?swarm= value> [--seconds s]`);
  process.exit(2);
}

function readConfig(values: Record<string, string | string[] | boolean | undefined>): SwarmConfig {
  try {
    if (typeof values.config === 'string') {
      const text = values.config.trim().startsWith('{') || !values.config.endsWith('.json') ? values.config : readFileSync(values.config, 'utf8');
      return text.trim().startsWith('{') ? parseSwarmConfig(JSON.parse(text)) : decodeSwarmConfigParam(text.trim());
    }
    const relays = (values.relay as string[] | undefined) ?? [];
    if (relays.length === 0) usage('give --relay <multiaddr> (repeatable) or --config');
    return parseSwarmConfig({
      swarmId: values.swarm ?? 'local',
      relayAddrs: relays,
      local: true,
      // scripted rollouts only ever go to a swarm that says it is a lab
      lab: values.lab === true,
      roundMs: Number(values['round-ms'] ?? DEFAULT_ROUND_MS),
      genesisMs: Number(values['genesis-ms'] ?? 0),
    });
  } catch (error) {
    if (error instanceof SwarmConfigError || error instanceof SyntaxError) usage(error.message);
    throw error;
  }
}

function parseOptions() {
  try {
    return parseArgs({
      options: {
        relay: { type: 'string', multiple: true },
        swarm: { type: 'string' },
        'round-ms': { type: 'string' },
        'genesis-ms': { type: 'string' },
        config: { type: 'string' },
        seconds: { type: 'string' },
        questions: { type: 'string', default: '2' },
        rl: { type: 'boolean', default: false },
        lab: { type: 'boolean', default: false },
        model: { type: 'string', default: 'public/models/default' },
        external: { type: 'string', default: '2' },
      },
    }).values;
  } catch (error) {
    usage((error as Error).message);
  }
}
const values = parseOptions();
assertWebSocket();
const config = readConfig(values);
const seconds = values.seconds === undefined ? Infinity : Number(values.seconds);
if (!(seconds > 0)) usage('--seconds must be a positive number');
const emit = (event: object) => console.log(JSON.stringify(event));
// scripted rollouts are for lab swarms only; refuse before joining anything else
if (!values.rl && config.lab !== true) {
  console.error(`peer: ${new NotALabSwarmError(`without --rl this peer publishes scripted rollouts and only joins lab swarms ("lab": true); swarm ${config.swarmId} is not one`).message}`);
  process.exit(2);
}
const questions = Math.max(1, Number(values.questions));
const rlConfig: RunnerConfig | null = values.rl ? rlRunnerConfig() : null;
// what honest peers of this swarm publish, so bigger, off-seed or mis-claimed batches are rejected
const rules = rolloutRules(
  rlConfig
    ? { swarmId: config.swarmId, tasks: rlConfig.tasks, questions: rlConfig.questions, completions: rlConfig.completions, maxNewTokens: rlConfig.sampling.maxNewTokens }
    : demoRoundShape(config.swarmId, questions),
);

/** the app tabs' round shape (same task mix from the swarm config), with this peer's B and J */
function rlRunnerConfig(): RunnerConfig {
  const app = runnerConfigFor({ modelUrl: '', swarmId: config.swarmId, peerId: '', backend: 'cpu', resume: false, taskMix: config.taskMix, ...(config.completionBudget !== undefined ? { completionBudget: config.completionBudget } : {}) });
  return defaultRunnerConfig({
    ...app,
    questions,
    localGroups: questions,
    externalGroups: Math.max(0, Number(values.external)),
    // wait for peers' rollouts for at most half a round; never longer (peers never wait for each other)
    externalWaitMs: config.roundMs / 2,
  });
}

const swarm = await Swarm.join(config, {
  ...rules,
  log: (line) => console.error(`peer: ${line}`),
  heartbeatStats: () => ({ round: swarm.clock.currentRound(), peers: swarm.topicPeers().length }),
});
emit({ peer: { peerId: swarm.peerId, swarmId: config.swarmId } });
console.error(`peer ${swarm.peerId} joined swarm ${config.swarmId}`);
const transport = transportOver(swarm, transportLimitsFor(rules.rolloutShape));
const knownDirect = new Set<string>();
const linkTimer = setInterval(() => {
  for (const link of swarm.links()) {
    if (link.direct && !knownDirect.has(link.peerId)) {
      knownDirect.add(link.peerId);
      emit({ direct: { peerId: link.peerId, addr: link.addr } });
    }
  }
}, 250);
swarm.onRejection((r) => emit({ rejected: r }));
const stopLoop = values.rl ? await runRl() : runRoundLoop({
  transport,
  clock: swarm.clock,
  swarmId: config.swarmId,
  produce: scriptedProducer(config, swarm.peerId, 'npm run peer without --rl', questions),
  onRound: (report) => emit({ round: report.round, published: report.published, received: report.received.map((b) => b.peerId) }),
  onError: (error) => console.error(`peer: round failed: ${error.message}`),
});

/** the RL core's round runner, unchanged, over this peer's libp2p Transport; one round per clock round */
async function runRl(): Promise<() => void> {
  const { loadModelFolder, makeEngine } = await import('./model/load.ts');
  const { RoundRunner } = await import('../src/rl/runner.ts');
  const folder = await loadModelFolder(values.model);
  const runner = new RoundRunner(await makeEngine(folder, 'cpu'), folder.tokenizer, transport, rlConfig!);
  let stopped = false;
  void (async () => {
    let round = swarm.clock.currentRound() + 1;
    while (!stopped) {
      await new Promise((resolve) => setTimeout(resolve, swarm.clock.msUntilRound(round) + 50));
      if (stopped) return;
      // a round that ran long skips ahead to the current one rather than falling behind for good
      round = Math.max(round, swarm.clock.currentRound());
      try {
        const stats = await runner.runRound(round);
        emit({
          round,
          rl: { meanReward: stats.meanReward, accuracy: stats.accuracy, localGroups: stats.localGroups, externalGroups: stats.externalGroups, externalAvailable: stats.externalAvailable, loss: stats.loss },
          received: transport.receivedRollouts(round).map((b) => b.peerId),
        });
      } catch (error) {
        console.error(`peer: RL round ${round} failed: ${(error as Error).message}`);
      }
      round++;
    }
  })();
  return () => {
    stopped = true;
  };
}

let stopping = false;
async function shutdown(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.error(`peer: ${reason}, leaving the swarm`);
  stopLoop();
  clearInterval(linkTimer);
  const force = setTimeout(() => process.exit(1), 5_000);
  force.unref();
  await transport.close();
  await swarm.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
if (Number.isFinite(seconds)) setTimeout(() => void shutdown(`${seconds} s elapsed`), seconds * 1000);
