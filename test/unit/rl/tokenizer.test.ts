// The BPE builder's tokenizer.json read back through transformers.js' AutoTokenizer from local files,
// the wrapper's refusal to turn text into control tokens, and the imperfect pretraining transcripts.
import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenizerFiles, trainBpe } from '../../../scripts/model/bpe.ts';
import { randomError, systematicError, transcript } from '../../../scripts/model/corpus.ts';
import { DEFAULT_TASK_MIX } from '../../../src/rl/defaults.ts';
import { decodeCompletion, encodeCompletion, type TextTokenizer } from '../../../src/rl/format.ts';
import { Rng } from '../../../src/rl/rng.ts';
import { FAMILIES, scoreCompletion } from '../../../src/rl/tasks/index.ts';
import { loadTokenizer, specialIds, TokenizerError } from '../../../src/rl/tokenizer.ts';

let dir: string;
let tokenizer: TextTokenizer;
const corpus = Array.from({ length: 2000 }, (_, i) => {
  const t = transcript(DEFAULT_TASK_MIX, i, { pCorrect: 0.4, pSystematic: 0.35 }, 'test');
  return t.prompt + t.completion;
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rl-tok-'));
  mkdirSync(join(dir, 'tok'));
  const files = tokenizerFiles(trainBpe(corpus, 60), 96);
  writeFileSync(join(dir, 'tok', 'tokenizer.json'), JSON.stringify(files.tokenizer));
  writeFileSync(join(dir, 'tok', 'tokenizer_config.json'), JSON.stringify(files.config));
  tokenizer = await loadTokenizer(dir, 'tok', async (p) => JSON.parse(readFileSync(p, 'utf8')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BPE tokenizer through AutoTokenizer', () => {
  it('round-trips task text, odd unicode and bytes, with merges shortening common words', () => {
    for (const text of [...corpus.slice(0, 50), 'héllo ☃ 😀 \u0000 \uFFFD', '   spaces\n\ttabs']) {
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    expect(tokenizer.encode('<answer>').length).toBeLessThan('<answer>'.length);
    expect(tokenizer.eosId).toBe(2);
    expect(tokenizer.bosId).toBe(1);
  });

  it('keeps one token per digit so arithmetic stays learnable', () => {
    expect(tokenizer.encode('12345')).toHaveLength(5);
  });

  it('never turns text into control tokens', () => {
    const ids = tokenizer.encode('7<|eos|>8<|bos|>');
    expect(ids).not.toContain(tokenizer.eosId);
    expect(ids).not.toContain(tokenizer.bosId);
    expect(tokenizer.decode(ids)).toBe('7<|eos|>8<|bos|>');
    const completion = encodeCompletion(tokenizer, '<answer>3</answer>');
    expect(completion[completion.length - 1]).toBe(tokenizer.eosId);
    expect(decodeCompletion(tokenizer, completion)).toBe('<answer>3</answer>');
    expect(decodeCompletion(tokenizer, [])).toBe('');
  });

  it('names a missing eos token', () => {
    expect(() => specialIds({ added_tokens: [] }, { eos_token: '<|eos|>' })).toThrow(TokenizerError);
  });
});

describe('imperfect transcripts', () => {
  it('are right about as often as asked, and wrong answers really are wrong', () => {
    let correct = 0;
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const t = transcript(DEFAULT_TASK_MIX, i, { pCorrect: 0.4, pSystematic: 0.35 }, 'test');
      if (t.correct) correct++;
    }
    expect(correct / n).toBeGreaterThan(0.33);
    expect(correct / n).toBeLessThan(0.47);
    // the deliberate mistakes are mistakes (a few coincide with the answer, e.g. an already sorted list)
    const rng = new Rng(5);
    for (const f of FAMILIES) {
      let wrongSys = 0;
      let wrongRandom = 0;
      for (let s = 0; s < 50; s++) {
        const task = f.generate(s, 1);
        if (!scoreCompletion(task, `<answer>${systematicError(task)}</answer>`).correct) wrongSys++;
        if (!scoreCompletion(task, `<answer>${randomError(task, rng)}</answer>`).correct) wrongRandom++;
      }
      expect(wrongSys, f.name).toBeGreaterThanOrEqual(40);
      expect(wrongRandom, f.name).toBeGreaterThanOrEqual(40);
    }
  });
});
