// The widget's card, inside the iframe that <tabswarm-widget> puts on the embedding page. This document is on the
// app's origin, so the tab's peer key, checkpoints and identity live in the app origin's storage (partitioned by
// the embedding site), where the embedding page's scripts cannot read them, and a click on "Contribute" is a real
// click inside this frame, which the embedding page cannot forge. Everything shown is set as text, never HTML.
// `?swarm=` is the element's `swarm` attribute (a ?swarm= value or a swarm.json URL, relative to the app).
import { Session } from '../app/lib/session.svelte.ts';

const STYLE = `
html, body { margin: 0; background: transparent; }
body { display: inline-block; font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color-scheme: light dark; }
.card { box-sizing: border-box; width: min(22rem, 100%); padding: 0.9rem 1rem; border-radius: 0.75rem;
  border: 1px solid #d9dbe3; background: #fff; color: #15161a; display: grid; gap: 0.5rem; }
.title { font-weight: 700; font-size: 1.05rem; margin: 0; }
.status { margin: 0; font-size: 0.9rem; color: #5c6070; min-height: 2.6em; }
.row { display: flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
button { font: inherit; font-weight: 600; padding: 0.5rem 1rem; min-height: 2.5rem; border-radius: 0.5rem;
  border: 1px solid #3b5bdb; background: #3b5bdb; color: #fff; cursor: pointer; }
button.secondary { background: transparent; color: #3b5bdb; }
button:disabled { opacity: 0.55; cursor: not-allowed; }
button:focus-visible { outline: 3px solid #3b5bdb; outline-offset: 2px; }
progress { width: 100%; accent-color: #3b5bdb; }
.numbers { font-variant-numeric: tabular-nums; font-size: 0.9rem; }
a { color: inherit; font-size: 0.8rem; }
@media (prefers-color-scheme: dark) {
  .card { background: #1a1c22; color: #e8e9ee; border-color: #2c2f38; }
  .status { color: #9a9fb0; }
  button { background: #7b93ff; border-color: #7b93ff; color: #111216; }
  button.secondary { background: transparent; color: #7b93ff; }
}`;

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

/** What the frame tells its embedder: only its height, so the iframe fits the card. Nothing else crosses. */
export const WIDGET_SIZE_MESSAGE = 'tabswarm-widget-size';

class WidgetCard {
  private session: Session | null = null;
  private disposeEffects: (() => void) | null = null;
  private readonly status = el('p', { class: 'status', part: 'status', 'aria-live': 'polite', 'data-testid': 'widget-status' });
  private readonly numbers = el('div', { class: 'numbers', 'data-testid': 'widget-numbers' });
  private readonly progress = el('progress', { max: '100', hidden: '' });
  private readonly action = el('button', { type: 'button', part: 'button', 'data-testid': 'widget-contribute' }, 'Contribute');
  private readonly link = el('a', { target: '_blank', rel: 'noopener' }, 'Open the dashboard');

  constructor(private readonly root: HTMLElement) {
    const style = el('style');
    style.textContent = STYLE;
    const card = el('section', { class: 'card', part: 'card', 'aria-label': 'tabswarm' });
    card.append(el('p', { class: 'title' }, 'Train an AI with this page'), this.status, this.progress, this.numbers);
    const row = el('div', { class: 'row' });
    row.append(this.action, this.link);
    card.append(row);
    this.root.append(style, card);
    this.action.addEventListener('click', () => this.onAction());
  }

  start(): void {
    if (this.session) return;
    const appBase = new URL('./', location.href).toString();
    this.link.href = appBase;
    this.session = new Session({ swarmSpec: new URLSearchParams(location.search).get('swarm'), appBase });
    const session = this.session;
    this.disposeEffects = $effect.root(() => {
      $effect(() => this.render(session.snapshot));
    });
    void session.start();
  }

  stop(): void {
    this.disposeEffects?.();
    this.disposeEffects = null;
    void this.session?.stop();
    this.session = null;
  }

  private onAction(): void {
    const s = this.session;
    if (!s) return;
    const snap = s.snapshot;
    if (snap.join === 'contributing') {
      if (snap.worker === 'paused') void s.resume();
      else void s.pause();
    } else {
      void s.join();
    }
  }

  private render(s: Session['snapshot']): void {
    let status: string;
    let action = 'Contribute';
    let disabled = s.phase !== 'ready' || !s.gpu;
    this.progress.hidden = true;
    if (s.phase === 'error') status = `Could not join the swarm: ${s.error}`;
    else if (s.phase === 'starting') status = 'Connecting to the swarm…';
    else if (s.join === 'loading') {
      status = s.progress ? `${s.progress.stage}: ${s.progress.item}` : 'Preparing the model…';
      this.progress.hidden = false;
      if (s.progress?.percent != null) this.progress.value = s.progress.percent;
      else this.progress.removeAttribute('value');
      disabled = true;
    } else if (s.join === 'failed') status = s.joinError ?? 'Something went wrong.';
    else if (s.join === 'contributing') {
      status = s.worker === 'paused' ? 'Paused.' : s.stage ? `Round ${s.stage.round}: ${s.stage.stage}` : 'Contributing…';
      action = s.worker === 'paused' ? 'Resume' : 'Pause';
      disabled = false;
    } else {
      status = `Swarm ${s.swarm?.swarmId ?? ''}: ${s.gpu?.webgpu ? 'your GPU can help' : 'no WebGPU here, the CPU will help (slowly)'}.`;
    }
    this.status.textContent = status;
    this.action.textContent = action;
    this.action.disabled = disabled;
    this.action.className = s.join === 'contributing' ? 'secondary' : '';
    const last = s.lastStats;
    this.numbers.textContent =
      `${plural(s.topicPeers.length, 'peer')} · ` + (last ? `round ${last.round} · reward ${last.ownReward.toFixed(2)} · ${plural(s.own.length, 'round')} done` : `${plural(s.tally.totalRollouts, 'rollout')} shared`);
  }
}

const card = new WidgetCard(document.body);
card.start();
addEventListener('pagehide', () => card.stop());
// The card's height changes with its text; the embedder sizes the iframe from this (a number, nothing secret).
if (parent !== window) {
  new ResizeObserver(() => parent.postMessage({ type: WIDGET_SIZE_MESSAGE, height: Math.ceil(document.body.getBoundingClientRect().height) }, '*')).observe(document.body);
}
