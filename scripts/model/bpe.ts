// A small byte-level BPE trainer that writes a Hugging Face tokenizer.json (GPT-2 style: ByteLevel
// pre-tokenizer with the GPT-2 split regex, BPE model, ByteLevel decoder). All 256 bytes are in the
// vocabulary, so any text — including a peer's odd unicode — encodes without an unknown token.
// Merges never touch digits: one token per digit keeps arithmetic learnable for a tiny model.

/** GPT-2's reversible byte → printable-unicode table (facts of the format, reimplemented). */
export function bytesToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return table;
}

const SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const SPLIT_SOURCE = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export const SPECIAL_TOKENS = ['<|pad|>', '<|bos|>', '<|eos|>'] as const;

export interface TrainedBpe {
  vocab: Map<string, number>;
  merges: [string, string][];
}

export function trainBpe(corpus: Iterable<string>, numMerges: number): TrainedBpe {
  const byteChars = bytesToUnicode();
  const encoder = new TextEncoder();
  const wordCounts = new Map<string, number>();
  for (const text of corpus) {
    for (const piece of text.match(SPLIT) ?? []) {
      const word = [...encoder.encode(piece)].map((b) => byteChars[b]).join('');
      wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
    }
  }
  const words = [...wordCounts].map(([w, count]) => ({ symbols: [...w], count }));
  const vocab = new Map<string, number>();
  for (const s of SPECIAL_TOKENS) vocab.set(s, vocab.size);
  for (const c of byteChars) vocab.set(c, vocab.size);
  const merges: [string, string][] = [];
  const hasDigit = (s: string) => /[0-9]/.test(s);
  for (let m = 0; m < numMerges; m++) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        if (hasDigit(symbols[i]) || hasDigit(symbols[i + 1])) continue;
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    let best: string | null = null;
    let bestCount = 1; // a pair seen once is not worth a token
    for (const [key, count] of pairs) if (count > bestCount || (count === bestCount && best !== null && key < best)) [best, bestCount] = [key, count];
    if (best === null) break;
    const [a, b] = best.split(' ');
    merges.push([a, b]);
    vocab.set(a + b, vocab.size);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (i + 1 < w.symbols.length && w.symbols[i] === a && w.symbols[i + 1] === b) out.push(a + b), i++;
        else out.push(w.symbols[i]);
      }
      w.symbols = out;
    }
  }
  return { vocab, merges };
}

/** tokenizer.json (HF tokenizers format) and tokenizer_config.json for a trained BPE */
export function tokenizerFiles(bpe: TrainedBpe, modelMaxLength: number): { tokenizer: object; config: object } {
  const added = SPECIAL_TOKENS.map((content, id) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: Object.fromEntries(bpe.vocab),
      merges: bpe.merges,
    },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: '<|bos|>',
    eos_token: '<|eos|>',
    pad_token: '<|pad|>',
    unk_token: null,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: modelMaxLength,
    added_tokens_decoder: Object.fromEntries(added.map((t) => [String(t.id), { ...t, id: undefined }])),
  };
  return { tokenizer, config };
}

export { SPLIT_SOURCE };
