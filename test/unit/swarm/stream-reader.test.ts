// StreamReader reads frames off whatever chunks a transport yields. In Node those chunks are often Buffers:
// views into a shared pool at a nonzero offset, whose slice() is another view. A length prefix read through
// `.slice().buffer` then read the pool's first bytes (0 in the failing runs): an honest 1183-byte challenge
// answer was rejected as "not UTF-8 JSON".
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import type { Stream } from '@libp2p/interface';
import { frame, StreamReader } from '../../../src/swarm/weights.ts';

function streamOf(chunks: Uint8Array[]): Stream {
  return {
    async *[Symbol.asyncIterator]() {
      yield* chunks;
    },
    abort() {},
  } as unknown as Stream;
}

describe('StreamReader', () => {
  it('reads a frame from a pooled Buffer at an offset, whole or split across chunks', async () => {
    const body = { ok: true, response: { v: 1, reveals: [[1, 2, 3]], note: 'é' } };
    const bytes = frame(body);
    // Buffer.from of a small array takes a slice of the shared pool: byteOffset > 0 (unless the pool was fresh)
    Buffer.from([1, 2, 3]);
    const pooled = Buffer.from(bytes);
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
    expect(await new StreamReader(streamOf([pooled]), 1000).readFrame(1 << 16, 'answer')).toEqual(body);
    const split = [Buffer.from(bytes.subarray(0, 2)), Buffer.from(bytes.subarray(2, 7)), Buffer.from(bytes.subarray(7))];
    expect(await new StreamReader(streamOf(split), 1000).readFrame(1 << 16, 'answer')).toEqual(body);
    // two frames back to back in one chunk: the second length is read at its own offset too
    const two = Buffer.from([...bytes, ...frame({ second: 2 })]);
    const reader = new StreamReader(streamOf([two]), 1000);
    expect(await reader.readFrame(1 << 16, 'first')).toEqual(body);
    expect(await reader.readFrame(1 << 16, 'second')).toEqual({ second: 2 });
  });

  it('names a truncated stream and an oversized frame', async () => {
    const bytes = frame({ a: 1 });
    await expect(new StreamReader(streamOf([Buffer.from(bytes.subarray(0, 6))]), 1000).readFrame(1 << 16, 'answer')).rejects.toThrow(/stream ended after/);
    await expect(new StreamReader(streamOf([Buffer.from(bytes)]), 1000).readFrame(2, 'answer')).rejects.toThrow(/over the 2-byte limit/);
  });
});
