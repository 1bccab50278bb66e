// Builds the Contributor the worker runs: the engine (WebGPU, or the CPU reference) loaded from a Hugging Face
// folder, plus the RL round runner. Wired to src/engine and src/rl as they land.
import type { Contributor } from './loop.ts';
import type { LoadOptions, Progress } from './protocol.ts';

/** The engine or the round runner this build needs is not available yet. */
export class NotWiredError extends Error {
  override name = 'NotWiredError';
}

export async function createContributor(options: LoadOptions, onProgress: (progress: Progress) => void): Promise<Contributor> {
  void options;
  void onProgress;
  throw new NotWiredError('this build has no engine + round runner wired into the worker yet');
}
