// A real chat model's own prompt format. The tiny default model was taught "question\n" → "<answer>…</answer>";
// Qwen3 / Qwen2.5 / SmolLM2-Instruct were taught their chat template. So for a model whose
// tokenizer_config.json carries a chat_template, the prompt is that template rendered by transformers.js
// (apply_chat_template) over a system message (the answer format the verifiers read) and a user message (the
// task text), ending in the assistant turn's header. Stop tokens and the completion budget come from
// generation_config.json and the swarm config. Everything else (rewards, verification, re-encoding of peers'
// text) is unchanged: the completion is still plain text between the prompt and a stop token.
import { completionText, type TextTokenizer } from './format.ts';
import { specialIds, TokenizerError, wrapHfTokenizer, type HfTokenizerLike } from './tokenizer.ts';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** the part of a transformers.js PreTrainedTokenizer this file uses */
export interface ChatTokenizerLike extends HfTokenizerLike {
  apply_chat_template(messages: ChatMessage[], options: Record<string, unknown>): unknown;
}

/** what the verifiers read, said to the model once, in the system message */
export const ANSWER_FORMAT_SYSTEM =
  `Solve the task. Reply with the final answer only, exactly in this form: ${completionText('your answer')}`;

/** a budget no honest round needs more than; bounds what a swarm config or a model folder can ask for */
export const MAX_COMPLETION_TOKENS = 1024;
/** eos ids a generation_config.json may list (Qwen3 lists 2) */
const MAX_STOP_IDS = 8;

export interface ChatOptions {
  /** the system message; null sends none (default: ANSWER_FORMAT_SYSTEM) */
  system?: string | null;
  /**
   * Qwen3 templates read enable_thinking: false (the default here) renders an empty <think></think> block
   * so the model answers at once, which short tab budgets need. Templates that do not know it ignore it.
   */
  enableThinking?: boolean;
}

export interface GenerationSettings {
  /** eos of the tokenizer first, then generation_config's other eos ids */
  stopIds: number[];
  /** generation_config's max_new_tokens, if it has one */
  maxNewTokens: number | null;
}

function isTokenId(x: unknown, vocab: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < vocab;
}

/**
 * Stop ids and budget from a parsed generation_config.json (null when the folder has none). Ids outside the
 * vocabulary, more than MAX_STOP_IDS of them, or a budget that is not a positive integer are named errors.
 */
export function generationSettings(generationConfig: unknown, eosId: number, vocabSize: number): GenerationSettings {
  const out: GenerationSettings = { stopIds: [eosId], maxNewTokens: null };
  if (generationConfig === null || generationConfig === undefined) return out;
  if (typeof generationConfig !== 'object' || Array.isArray(generationConfig)) throw new TokenizerError('generation_config.json must be a JSON object');
  const g = generationConfig as Record<string, unknown>;
  const eos = g.eos_token_id;
  if (eos !== undefined && eos !== null) {
    const ids = Array.isArray(eos) ? eos : [eos];
    if (ids.length > MAX_STOP_IDS || !ids.every((x) => isTokenId(x, vocabSize))) {
      throw new TokenizerError(`generation_config.json: eos_token_id must be up to ${MAX_STOP_IDS} token ids below ${vocabSize}, got ${JSON.stringify(eos)}`);
    }
    for (const id of ids as number[]) if (!out.stopIds.includes(id)) out.stopIds.push(id);
  }
  if (g.max_new_tokens !== undefined && g.max_new_tokens !== null) {
    if (!Number.isInteger(g.max_new_tokens) || (g.max_new_tokens as number) < 1) {
      throw new TokenizerError(`generation_config.json: max_new_tokens must be a positive integer, got ${JSON.stringify(g.max_new_tokens)}`);
    }
    out.maxNewTokens = g.max_new_tokens as number;
  }
  return out;
}

/**
 * Tokens a completion may have: the swarm config's budget when it names one (every peer of a swarm samples
 * the same), else the model folder's, else the fallback; never above MAX_COMPLETION_TOKENS.
 */
export function completionBudget(swarmBudget: number | undefined, generation: GenerationSettings, fallback: number): number {
  const pick = swarmBudget ?? generation.maxNewTokens ?? fallback;
  if (!Number.isInteger(pick) || pick < 1) throw new TokenizerError(`completion budget must be a positive integer, got ${pick}`);
  return Math.min(pick, MAX_COMPLETION_TOKENS);
}

/** The messages of one task prompt. */
export function chatMessages(userText: string, system: string | null = ANSWER_FORMAT_SYSTEM): ChatMessage[] {
  return [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: userText }];
}

export interface TokenizerFiles {
  /** tokenizer.json, parsed */
  tokenizer: { added_tokens?: { id: number; content: string }[] };
  /** tokenizer_config.json, parsed */
  tokenizerConfig: Record<string, unknown>;
  /** generation_config.json, parsed, or null when the folder has none */
  generationConfig: unknown;
}

/** whether the folder's tokenizer_config.json names a chat template (a string, or HF's list of named ones) */
export function hasChatTemplate(tokenizerConfig: Record<string, unknown>): boolean {
  const t = tokenizerConfig.chat_template;
  return typeof t === 'string' || (Array.isArray(t) && t.length > 0);
}

/**
 * The TextTokenizer of a model folder: with a chat template, prompts go through it and sampling stops on
 * every eos id of generation_config.json; without one, the plain format of format.ts (the default model).
 */
export function chatTokenizer(tok: ChatTokenizerLike, files: TokenizerFiles, vocabSize: number, options: ChatOptions = {}): TextTokenizer {
  const special = specialIds(files.tokenizer, files.tokenizerConfig);
  const base = wrapHfTokenizer(tok, special);
  if (!hasChatTemplate(files.tokenizerConfig)) return base;
  const { stopIds } = generationSettings(files.generationConfig, special.eosId, vocabSize);
  const system = options.system === undefined ? ANSWER_FORMAT_SYSTEM : options.system;
  const specials = special.specialStrings.filter((s) => s.length > 1);
  return {
    ...base,
    stopIds,
    encodeChat(userText) {
      // the rendered template is tokenized with special tokens parsed (that is how <|im_start|> becomes one
      // id), so text that spells a special token would inject it: task text never does, so refuse it
      const bad = specials.find((s) => userText.includes(s) || (system ?? '').includes(s));
      if (bad) throw new TokenizerError(`chat prompt text contains the special token ${JSON.stringify(bad)}`);
      const ids = tok.apply_chat_template(chatMessages(userText, system), {
        add_generation_prompt: true, tokenize: true, return_tensor: false, return_dict: false,
        enable_thinking: options.enableThinking ?? false,
      });
      if (!Array.isArray(ids) || !ids.every((x) => isTokenId(x, vocabSize))) {
        throw new TokenizerError('apply_chat_template did not give a list of token ids within the vocabulary');
      }
      return ids as number[];
    },
  };
}
