// Reading the answer out of a completion. Completions come from our own sampler and from peers, so the
// text may be anything: megabytes, odd unicode, nested or repeated tags. All work here is bounded by
// MAX_SCAN_CHARS and is linear in it; nothing throws.

export const OPEN_TAG = '<answer>';
export const CLOSE_TAG = '</answer>';
/** Only this many leading characters are examined; a real answer from a small model is far shorter. */
export const MAX_SCAN_CHARS = 8192;
/** Longer answer contents are treated as malformed (no verifier needs more). */
export const MAX_ANSWER_CHARS = 256;

export interface ExtractedAnswer {
  /** the normalised answer content, or null when there is no single well-formed answer block */
  answer: string | null;
  /** exactly one <answer>…</answer> block, non-empty, short, nothing nested, only whitespace after it */
  wellFormed: boolean;
}

const NONE: ExtractedAnswer = { answer: null, wellFormed: false };

/**
 * Exactly one answer block counts. Several blocks are refused outright, so a policy cannot hedge by
 * listing many guesses. Text before the block (reasoning) is allowed; text after it is not well-formed
 * but the answer is still read.
 */
export function extractAnswer(text: unknown): ExtractedAnswer {
  if (typeof text !== 'string') return NONE;
  const scanned = text.length > MAX_SCAN_CHARS ? text.slice(0, MAX_SCAN_CHARS) : text;
  const lower = scanned.toLowerCase();
  const open = lower.indexOf(OPEN_TAG);
  if (open < 0) return NONE;
  const start = open + OPEN_TAG.length;
  const close = lower.indexOf(CLOSE_TAG, start);
  if (close < 0) return NONE;
  // nested (<answer><answer>1</answer>) or repeated blocks: refuse
  if (lower.indexOf(OPEN_TAG, start) >= 0) return NONE;
  if (lower.indexOf(CLOSE_TAG, close + CLOSE_TAG.length) >= 0) return NONE;
  const raw = scanned.slice(start, close);
  if (raw.length > MAX_ANSWER_CHARS) return NONE;
  const answer = normalizeAnswer(raw);
  if (answer.length === 0) return NONE;
  const tail = scanned.slice(close + CLOSE_TAG.length);
  const wellFormed = text.length <= MAX_SCAN_CHARS && tail.trim().length === 0;
  return { answer, wellFormed };
}

const ZERO_WIDTH = /[\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]/g;
const MINUS_SIGNS = /[\u2212\u2010-\u2015\ufe63\uff0d]/g;

/** NFKC folds full-width digits and similar look-alikes; invisible characters and odd minus signs go. */
export function normalizeAnswer(raw: string): string {
  return raw.normalize('NFKC').replace(ZERO_WIDTH, '').replace(MINUS_SIGNS, '-').replace(/\s+/g, ' ').trim();
}
