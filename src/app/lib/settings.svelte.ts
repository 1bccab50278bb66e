// The tab's resource settings, kept in localStorage so a reload keeps the user's choice.
import type { BackendChoice } from '../../worker/protocol.ts';

export interface SettingsValue {
  /** share of wall time the GPU may be busy, 0.05..1 */
  duty: number;
  pauseWhenHidden: boolean;
  backend: BackendChoice;
}

const KEY = 'tabswarm.settings.v1';
export const DEFAULT_SETTINGS: SettingsValue = { duty: 1, pauseWhenHidden: true, backend: 'auto' };

/** Accepts only well-formed values; anything else in storage falls back to the defaults field by field. */
export function parseSettings(raw: string | null): SettingsValue {
  let v: Record<string, unknown> = {};
  try {
    const parsed: unknown = raw ? JSON.parse(raw) : {};
    if (typeof parsed === 'object' && parsed !== null) v = parsed as Record<string, unknown>;
  } catch {
    // a corrupt entry is ignored, not fatal
  }
  const duty = typeof v.duty === 'number' && v.duty >= 0.05 && v.duty <= 1 ? v.duty : DEFAULT_SETTINGS.duty;
  const pauseWhenHidden = typeof v.pauseWhenHidden === 'boolean' ? v.pauseWhenHidden : DEFAULT_SETTINGS.pauseWhenHidden;
  const backend = v.backend === 'webgpu' || v.backend === 'cpu' || v.backend === 'auto' ? v.backend : DEFAULT_SETTINGS.backend;
  return { duty, pauseWhenHidden, backend };
}

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null; // storage blocked (privacy settings, sandboxed iframe)
  }
}

export class Settings {
  value = $state.raw<SettingsValue>(parseSettings(storage()?.getItem(KEY) ?? null));

  update(patch: Partial<SettingsValue>): void {
    this.value = parseSettings(JSON.stringify({ ...this.value, ...patch }));
    try {
      storage()?.setItem(KEY, JSON.stringify(this.value));
    } catch {
      // quota or blocked: the setting still applies to this page
    }
  }
}
