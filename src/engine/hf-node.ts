// Model folders on the local filesystem, for Node scripts and tests. Kept out of hf.ts so browser bundles
// never see node:fs.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FileSink, FileSource } from './hf.ts';

export function dirSource(dir: string): FileSource {
  return {
    async read(name) {
      try {
        return new Uint8Array(await readFile(join(dir, name)));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
  };
}

export function dirSink(dir: string): FileSink {
  return {
    async write(name, bytes) {
      // names may hold a subfolder (onnx/model.onnx)
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), bytes);
    },
  };
}
