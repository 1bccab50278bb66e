// <tabswarm-widget swarm="…">: a small card any page can embed to let its visitors contribute to a swarm.
// The element is only a frame: the card, the engine worker, the libp2p node and the tab's keys all run in an
// iframe on the app's origin (widget-frame.html). An embedding site's scripts share this element's realm, not the
// frame's, so they can neither read the tab's peer key or checkpoints nor sign or click as the tab: the browser's
// same-origin policy stands between them. Without `swarm` the widget joins the swarm of the server it came from.
// The only message that crosses is the card's height, so the frame fits it.
const FRAME_SIZE_MESSAGE = 'tabswarm-widget-size';
const STYLE = `:host { display: inline-block; width: min(22rem, 100%); }
iframe { display: block; border: 0; width: 100%; height: 11rem; color-scheme: normal; background: transparent; }`;

export class TabswarmWidget extends HTMLElement {
  private readonly frame = document.createElement('iframe');
  private readonly onMessage = (event: MessageEvent) => {
    // Only our own frame, from the app's origin, and only a sane height.
    if (event.source !== this.frame.contentWindow || event.origin !== new URL(this.frame.src).origin) return;
    const data = event.data as { type?: unknown; height?: unknown } | null;
    if (data?.type !== FRAME_SIZE_MESSAGE || typeof data.height !== 'number' || !(data.height >= 40 && data.height <= 1200)) return;
    this.frame.style.height = `${Math.ceil(data.height)}px`;
  };

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = STYLE;
    this.frame.title = 'tabswarm: contribute to training with this page';
    this.frame.setAttribute('data-testid', 'widget-frame');
    // Local swarms serve over http on 127.0.0.1; a page's referrer is none of the swarm's business.
    this.frame.referrerPolicy = 'no-referrer';
    root.append(style, this.frame);
  }

  connectedCallback(): void {
    const src = new URL(/* @vite-ignore */ 'widget-frame.html', import.meta.url);
    const swarm = this.getAttribute('swarm');
    if (swarm) src.searchParams.set('swarm', swarm);
    addEventListener('message', this.onMessage);
    if (this.frame.src !== src.href) this.frame.src = src.href;
  }

  disconnectedCallback(): void {
    removeEventListener('message', this.onMessage);
    // Unloading the frame stops its worker and node.
    this.frame.removeAttribute('src');
  }
}

if (!customElements.get('tabswarm-widget')) customElements.define('tabswarm-widget', TabswarmWidget);
