// A checkpoint store in memory for the worker tests: it encodes and decodes like the real stores, records the
// rounds it saved, and can be told to fail saves (quota exceeded).
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointStore } from '../../../src/worker/persist.ts';

export class MemoryStore implements CheckpointStore {
  readonly kind = 'indexeddb';
  saves: number[] = [];
  bytes: ArrayBuffer | null = null;
  failSaves = false;
  async save(c: Checkpoint) {
    if (this.failSaves) throw new Error('quota exceeded');
    this.saves.push(c.round);
    this.bytes = encodeCheckpoint(c);
    return this.bytes.byteLength;
  }
  async load() {
    return this.bytes ? decodeCheckpoint(this.bytes) : null;
  }
  async clear() {
    this.bytes = null;
  }
}
