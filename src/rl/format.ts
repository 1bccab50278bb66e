// The text around a task. One place, used by the sampler, the trainer, the pretraining transcripts and
// peers re-encoding each other's completions, so the tiny default model sees exactly what it was taught.
import type { Task } from './tasks/index.ts';

/** the question, then a newline; the model continues with its completion */
export function promptText(task: Pick<Task, 'prompt'>): string {
  return `${task.prompt}\n`;
}

/** the completion a perfect model writes (before the end-of-sequence token) */
export function completionText(answer: string): string {
  return `<answer>${answer}</answer>`;
}

/** What the RL core needs of a tokenizer; adapters wrap transformers.js or a test vocabulary. */
export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
  /** prepended to every prompt when not null */
  readonly bosId: number | null;
  /** ends a completion; sampling stops on it */
  readonly eosId: number;
  /** every token that ends a completion, eosId first (a chat model's generation_config lists several) */
  readonly stopIds?: readonly number[];
  /** a chat model's own template around the task text (chat-template.ts); replaces promptText and bos */
  encodeChat?(userText: string): number[];
}

/** the tokens sampling stops on */
export function stopTokens(tokenizer: TextTokenizer): number[] {
  return tokenizer.stopIds ? [...tokenizer.stopIds] : [tokenizer.eosId];
}

export function encodePrompt(tokenizer: TextTokenizer, task: Pick<Task, 'prompt'>): number[] {
  if (tokenizer.encodeChat) return tokenizer.encodeChat(task.prompt);
  const ids = tokenizer.encode(promptText(task));
  return tokenizer.bosId === null ? ids : [tokenizer.bosId, ...ids];
}

/** completion text → tokens, with the stop token the sampler would have produced */
export function encodeCompletion(tokenizer: TextTokenizer, text: string): number[] {
  return [...tokenizer.encode(text), tokenizer.eosId];
}

/** generated tokens → text, without the stop token */
export function decodeCompletion(tokenizer: TextTokenizer, tokens: readonly number[]): string {
  const last = tokens[tokens.length - 1];
  const end = tokens.length > 0 && (last === tokenizer.eosId || tokenizer.stopIds?.includes(last)) ? tokens.length - 1 : tokens.length;
  return tokenizer.decode(tokens.slice(0, end));
}
