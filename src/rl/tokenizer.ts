// TextTokenizer adapters. The shipped model's tokenizer is an HF tokenizer.json read by transformers.js
// (in the browser from the model's URL, in Node from local files), wrapped so that the RL core sees only
// encode/decode and the bos/eos ids.
import type { TextTokenizer } from './format.ts';

/** the part of a transformers.js PreTrainedTokenizer used here */
export interface HfTokenizerLike {
  encode(text: string, options?: { add_special_tokens?: boolean }): number[];
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
}

export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/**
 * Wrap an HF tokenizer. Text never turns into special tokens: a completion that spells "<|eos|>" (a peer's,
 * or the model's own) is encoded as its characters, so nobody can inject control tokens through text.
 */
export function wrapHfTokenizer(tok: HfTokenizerLike, special: { bosId: number | null; eosId: number; specialStrings: string[] }): TextTokenizer {
  const specials = special.specialStrings.filter((s) => s.length > 1);
  const encodePlain = (text: string): number[] => (text.length === 0 ? [] : tok.encode(text, { add_special_tokens: false }));
  return {
    bosId: special.bosId,
    eosId: special.eosId,
    encode(text) {
      let pieces = [text];
      for (const s of specials) {
        // split the special string in two so neither half matches it
        const half = s.length >> 1;
        pieces = pieces.flatMap((p) => p.split(s).flatMap((part, i) => (i === 0 ? [part] : [s.slice(0, half), s.slice(half), part])));
      }
      return pieces.flatMap(encodePlain);
    },
    decode(ids) {
      // transformers.js refuses an empty list; an empty completion is simply empty text
      return ids.length === 0 ? '' : tok.decode([...ids], { skip_special_tokens: true });
    },
  };
}

interface TokenizerConfigJson {
  bos_token?: string | null;
  eos_token?: string | null;
  add_bos_token?: boolean;
}

/** token ids of the tokenizer config's bos/eos strings, via the tokenizer.json vocabulary */
export function specialIds(tokenizerJson: { added_tokens?: { id: number; content: string }[] }, config: TokenizerConfigJson): { bosId: number | null; eosId: number; specialStrings: string[] } {
  const added = tokenizerJson.added_tokens ?? [];
  const idOf = (content: string | null | undefined) => (content ? added.find((t) => t.content === content)?.id ?? null : null);
  const eosId = idOf(config.eos_token);
  if (eosId === null) throw new TokenizerError(`tokenizer has no eos token "${config.eos_token}" among its added tokens`);
  return { bosId: idOf(config.bos_token), eosId, specialStrings: added.map((t) => t.content) };
}

/**
 * Load a tokenizer folder (tokenizer.json + tokenizer_config.json) through transformers.js' AutoTokenizer.
 * `root` is a directory (Node) or URL prefix (browser) holding the folder `name`.
 */
export async function loadTokenizer(root: string, name: string, fetchJson: (path: string) => Promise<unknown>): Promise<TextTokenizer> {
  const { AutoTokenizer, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = root.endsWith('/') ? root : `${root}/`;
  const tok = (await AutoTokenizer.from_pretrained(name)) as unknown as HfTokenizerLike;
  const base = `${env.localModelPath}${name}`;
  const [json, config] = await Promise.all([fetchJson(`${base}/tokenizer.json`), fetchJson(`${base}/tokenizer_config.json`)]);
  return wrapHfTokenizer(tok, specialIds(json as { added_tokens?: { id: number; content: string }[] }, config as TokenizerConfigJson));
}
