// Public surface of the swarm game (answer → critique → resolve, RL Swarm era 1).
export * from './machine.ts';
export * from './runner.ts';
export * from './stages.ts';
export * from './train.ts';
export * from './transport.ts';
export * from './winners.ts';
export * from './driver.ts';
export * from './snapshot.ts';
