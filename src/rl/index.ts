// Public surface of the RL core.
export * from './answer.ts';
export * from './bus.ts';
export * from './format.ts';
export * from './grpo.ts';
export * from './rng.ts';
export * from './runner.ts';
export * from './sapo.ts';
export * from './stats.ts';
export * from './tasks/index.ts';
export type * from './transport.ts';
export * from './defaults.ts';
export * from './tokenizer.ts';
export * from './heldout.ts';
export * from './curriculum.ts';
export * from './selection.ts';
export * from './peers.ts';
export * from './meta.ts';
export * from './paired.ts';
