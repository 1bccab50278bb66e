// A tab's checkpoint: weights, optimizer state and the last completed round, written after every round so a
// reload resumes where it left off. Stored in the origin private file system (OPFS), or in IndexedDB where
// OPFS is missing. One self-describing binary file per (swarm, model): a JSON header, then float32 data.

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  /** last completed round */
  round: number;
  modelId: string;
  /** small JSON-able facts (optimizer step count, backend) */
  meta: Record<string, unknown>;
  /** weights under their HF names; Adam's moments as flat "adam.m" / "adam.v" (engine parameter order), steps in meta */
  tensors: Map<string, Tensor>;
}

export interface CheckpointStore {
  readonly kind: 'opfs' | 'indexeddb';
  /** returns the bytes written */
  save(checkpoint: Checkpoint): Promise<number>;
  load(): Promise<Checkpoint | null>;
  clear(): Promise<void>;
}

/** A stored checkpoint is unreadable (truncated, foreign, or from an incompatible version). */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

const MAGIC = 0x4b435354; // "TSCK" little-endian
const VERSION = 1;
const MAX_HEADER_BYTES = 16 << 20;

interface HeaderEntry {
  name: string;
  shape: number[];
  /** element offset into the float32 area */
  offset: number;
}

/**
 * The file as a list of byte ranges: the 12-byte prefix and JSON header (padded to 4 bytes), then each
 * tensor's data as a view of the caller's array, not a copy. With Adam's moments a checkpoint is three times
 * the weights (1.6 GB for a 135M model): OPFS writes the parts one by one instead of joining them first.
 */
export function encodeCheckpointParts(checkpoint: Checkpoint): Uint8Array[] {
  const entries: HeaderEntry[] = [];
  const parts: Uint8Array[] = [];
  let elements = 0;
  for (const [name, t] of checkpoint.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new CheckpointError(`tensor ${name}: shape [${t.shape}] holds ${size} values, data has ${t.data.length}`);
    entries.push({ name, shape: t.shape, offset: elements });
    parts.push(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    elements += size;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ round: checkpoint.round, modelId: checkpoint.modelId, meta: checkpoint.meta, tensors: entries }),
  );
  const head = new Uint8Array(align4(12 + header.length));
  const view = new DataView(head.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, header.length, true);
  head.set(header, 12);
  return [head, ...parts];
}

export function encodeCheckpoint(checkpoint: Checkpoint): ArrayBuffer {
  const parts = encodeCheckpointParts(checkpoint);
  const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return bytes.buffer;
}

export function decodeCheckpoint(buffer: ArrayBuffer): Checkpoint {
  if (buffer.byteLength < 12) throw new CheckpointError(`checkpoint is ${buffer.byteLength} bytes, too short for a header`);
  const view = new DataView(buffer);
  if (view.getUint32(0, true) !== MAGIC) throw new CheckpointError('not a tabswarm checkpoint (bad magic)');
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new CheckpointError(`checkpoint version ${version}, this build reads ${VERSION}`);
  const headerLength = view.getUint32(8, true);
  if (headerLength > MAX_HEADER_BYTES || 12 + headerLength > buffer.byteLength) {
    throw new CheckpointError(`checkpoint header of ${headerLength} bytes does not fit in ${buffer.byteLength}`);
  }
  let header: { round?: unknown; modelId?: unknown; meta?: unknown; tensors?: unknown };
  try {
    header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 12, headerLength)));
  } catch (error) {
    throw new CheckpointError(`checkpoint header is not JSON: ${(error as Error).message}`);
  }
  if (typeof header.round !== 'number' || !Number.isInteger(header.round) || header.round < 0) throw new CheckpointError('checkpoint round is missing');
  if (typeof header.modelId !== 'string') throw new CheckpointError('checkpoint modelId is missing');
  if (!Array.isArray(header.tensors)) throw new CheckpointError('checkpoint tensor table is missing');
  const dataStart = align4(12 + headerLength);
  const elements = Math.floor((buffer.byteLength - dataStart) / 4);
  const tensors = new Map<string, Tensor>();
  for (const raw of header.tensors as HeaderEntry[]) {
    const ok =
      typeof raw?.name === 'string' &&
      Array.isArray(raw.shape) &&
      raw.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      Number.isInteger(raw.offset) &&
      raw.offset >= 0;
    if (!ok) throw new CheckpointError(`checkpoint tensor entry is malformed: ${JSON.stringify(raw).slice(0, 200)}`);
    const size = raw.shape.reduce((a, b) => a * b, 1);
    if (raw.offset + size > elements) throw new CheckpointError(`checkpoint tensor ${raw.name} runs past the end of the file (truncated?)`);
    // copy out so the tensors do not pin (or alias) the whole file buffer
    tensors.set(raw.name, { shape: raw.shape, data: new Float32Array(buffer, dataStart + raw.offset * 4, size).slice() });
  }
  const meta = typeof header.meta === 'object' && header.meta !== null ? (header.meta as Record<string, unknown>) : {};
  return { round: header.round, modelId: header.modelId, meta, tensors };
}

/**
 * FNV-1a over the float bits of the weights (optimizer tensors, named "adam.*", left out), in name order:
 * a cheap fingerprint to tell whether two tabs, or one tab before and after a reload, hold the same model.
 */
export function digestTensors(tensors: ReadonlyMap<string, { data: Float32Array }>): string {
  let h = 0x811c9dc5;
  for (const name of [...tensors.keys()].filter((n) => !n.startsWith('adam.')).sort()) {
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    const t = tensors.get(name)!.data;
    const bits = new Uint32Array(t.buffer, t.byteOffset, t.length);
    for (let i = 0; i < bits.length; i++) h = Math.imul(h ^ bits[i], 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * File names in OPFS and keys in IndexedDB, per swarm, model and peer: two tabs of one browser share the
 * origin's storage but each keeps its own peer id (a persisted key per tab slot), so they never overwrite
 * each other's training. Filesystem-safe, and the model part is cut before the peer id is.
 */
export function checkpointKey(swarmId: string, modelId: string, peerId: string): string {
  const safe = (s: string, n: number) => s.replace(/[^a-zA-Z0-9._-]/g, '_').slice(0, n);
  return `${safe(swarmId, 64)}--${safe(modelId, 60)}--${safe(peerId, 64)}`;
}

const OPFS_DIR = 'tabswarm-checkpoints';

class OpfsStore implements CheckpointStore {
  readonly kind = 'opfs';
  constructor(
    private readonly dir: FileSystemDirectoryHandle,
    private readonly file: string,
  ) {}

  async save(checkpoint: Checkpoint): Promise<number> {
    const parts = encodeCheckpointParts(checkpoint);
    const handle = await this.dir.getFileHandle(this.file, { create: true });
    // createWritable writes to a swap file and swaps it in on close: a crash mid-write keeps the old checkpoint
    const writable = await handle.createWritable();
    let bytes = 0;
    try {
      for (const part of parts) {
        await writable.write(part as Uint8Array<ArrayBuffer>);
        bytes += part.byteLength;
      }
      await writable.close();
    } catch (error) {
      await writable.abort().catch(() => undefined);
      throw error;
    }
    return bytes;
  }

  async load(): Promise<Checkpoint | null> {
    let handle: FileSystemFileHandle;
    try {
      handle = await this.dir.getFileHandle(this.file);
    } catch {
      return null;
    }
    return decodeCheckpoint(await (await handle.getFile()).arrayBuffer());
  }

  async clear(): Promise<void> {
    await this.dir.removeEntry(this.file).catch(() => undefined);
  }
}

const IDB_NAME = 'tabswarm-checkpoints';
const IDB_STORE = 'checkpoints';

function idbRequest<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

function openIdb(): Promise<IDBDatabase> {
  const request = indexedDB.open(IDB_NAME, 1);
  request.onupgradeneeded = () => request.result.createObjectStore(IDB_STORE);
  return idbRequest(request);
}

class IdbStore implements CheckpointStore {
  readonly kind = 'indexeddb';
  constructor(
    private readonly db: IDBDatabase,
    private readonly key: string,
  ) {}

  async save(checkpoint: Checkpoint): Promise<number> {
    const bytes = encodeCheckpoint(checkpoint);
    const tx = this.db.transaction(IDB_STORE, 'readwrite');
    tx.objectStore(IDB_STORE).put(bytes, this.key);
    await transactionDone(tx);
    return bytes.byteLength;
  }

  async load(): Promise<Checkpoint | null> {
    const value = await idbRequest(this.db.transaction(IDB_STORE).objectStore(IDB_STORE).get(this.key));
    return value instanceof ArrayBuffer ? decodeCheckpoint(value) : null;
  }

  async clear(): Promise<void> {
    const tx = this.db.transaction(IDB_STORE, 'readwrite');
    tx.objectStore(IDB_STORE).delete(this.key);
    await transactionDone(tx);
  }
}

function transactionDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted (quota?)'));
  });
}

async function tryOpfs(file: string): Promise<CheckpointStore | null> {
  const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
  if (typeof storage?.getDirectory !== 'function') return null;
  try {
    const root = await storage.getDirectory();
    const dir = await root.getDirectoryHandle(OPFS_DIR, { create: true });
    const probe = await dir.getFileHandle('.probe', { create: true });
    // Safari offers OPFS but no createWritable in some contexts; IndexedDB is the better fallback there
    if (typeof (probe as FileSystemFileHandle & { createWritable?: unknown }).createWritable !== 'function') return null;
    return new OpfsStore(dir, `${file}.ckpt`);
  } catch {
    return null;
  }
}

export interface OpenStoreOptions {
  /** force one backend (tests exercise both) */
  prefer?: 'opfs' | 'indexeddb';
}

/** OPFS first, IndexedDB second; null when the context has neither (the tab then trains without resuming). */
export async function openCheckpointStore(key: string, options: OpenStoreOptions = {}): Promise<CheckpointStore | null> {
  if (options.prefer !== 'indexeddb') {
    const opfs = await tryOpfs(key);
    if (opfs || options.prefer === 'opfs') return opfs;
  }
  if (typeof indexedDB === 'undefined') return null;
  try {
    return new IdbStore(await openIdb(), key);
  } catch {
    return null;
  }
}
