// Where a model's Hugging Face folder is fetched from: the shipped default, a folder under /models/, a
// Hugging Face repo id (online only), or a full URL.

export class ModelSourceError extends Error {
  override name = 'ModelSourceError';
}

/** Model ids that name the model shipped with the app. */
const SHIPPED: Record<string, string> = { 'tabswarm-tiny': 'default', default: 'default', 'tabswarm-tiny-game': 'game', game: 'game' };

/** where repo ids resolve unless the swarm config names a mirror (`hubUrl`) */
export const DEFAULT_HUB_URL = 'https://huggingface.co/';

/** Returns a base URL ending in '/', relative to `base` (the page URL); repo ids resolve under `hubUrl`. */
export function resolveModelUrl(modelId: string, base: string, hubUrl: string = DEFAULT_HUB_URL): string {
  const id = modelId.trim();
  if (id.length === 0 || id.length > 512) throw new ModelSourceError('model id is empty or too long');
  if (/^https?:\/\//.test(id)) return new URL(id.endsWith('/') ? id : `${id}/`).toString();
  const shipped = SHIPPED[id];
  if (shipped) return new URL(`./models/${shipped}/`, base).toString();
  // "owner/name" or "owner/name@revision": a Hugging Face repo; files come from its resolve endpoint
  const hf = /^([A-Za-z0-9][\w.-]{0,95})\/([A-Za-z0-9][\w.-]{0,95})(?:@([\w.-]{1,64}))?$/.exec(id);
  if (hf) return new URL(`${hf[1]}/${hf[2]}/resolve/${hf[3] ?? 'main'}/`, hubUrl.endsWith('/') ? hubUrl : `${hubUrl}/`).toString();
  if (/^[a-z0-9][a-z0-9._-]{0,63}$/.test(id)) return new URL(`./models/${id}/`, base).toString();
  throw new ModelSourceError(`"${id.slice(0, 80)}" is not a model folder name, a Hugging Face repo id (owner/name) or an http(s) URL`);
}

/** A model from another origin needs the network; say so before trying. */
export function needsNetwork(modelUrl: string, base: string): boolean {
  return new URL(modelUrl).origin !== new URL(base).origin;
}
