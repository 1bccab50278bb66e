// A small SVG line chart, rendered without a browser: panels of series over x.
export interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

export interface Panel {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(lo: number, hi: number, count = 5): number[] {
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / count));
  const mult = [1, 2, 5, 10].find((m) => span / (m * step) <= count) ?? 10;
  const s = mult * step;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / s) * s; t <= hi + 1e-9; t += s) ticks.push(Number(t.toPrecision(10)));
  return ticks;
}

export function renderSvg(panels: Panel[], title: string): string {
  const W = 520;
  const H = 340;
  const m = { l: 60, r: 20, t: 40, b: 50 };
  const parts: string[] = [];
  panels.forEach((panel, i) => {
    const ox = i * W;
    const all = panel.series.flatMap((s) => s.points);
    const xs = all.map((p) => p[0]);
    const ys = all.map((p) => p[1]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const [y0, y1] = [Math.min(0, ...ys), Math.max(...ys) * 1.05 || 1];
    const sx = (x: number) => ox + m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
    const sy = (y: number) => m.t + (1 - (y - y0) / (y1 - y0 || 1)) * (H - m.t - m.b);
    parts.push(`<text x="${ox + W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(panel.title)}</text>`);
    for (const t of niceTicks(y0, y1)) {
      parts.push(`<line x1="${ox + m.l}" x2="${ox + W - m.r}" y1="${sy(t)}" y2="${sy(t)}" stroke="#ddd"/>`);
      parts.push(`<text x="${ox + m.l - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${t}</text>`);
    }
    for (const t of niceTicks(x0, x1)) parts.push(`<text x="${sx(t)}" y="${H - m.b + 16}" text-anchor="middle" font-size="11">${t}</text>`);
    parts.push(`<rect x="${ox + m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>`);
    parts.push(`<text x="${ox + W / 2}" y="${H - 12}" text-anchor="middle" font-size="12">${esc(panel.xLabel)}</text>`);
    parts.push(`<text x="${ox + 16}" y="${H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${ox + 16} ${H / 2})">${esc(panel.yLabel)}</text>`);
    panel.series.forEach((s, k) => {
      const d = s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
      parts.push(`<text x="${ox + m.l + 10}" y="${m.t + 16 + 16 * k}" font-size="12" fill="${s.color}">${esc(s.label)}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H + 30}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join('')}` +
    `<text x="10" y="${H + 22}" font-size="12" fill="#555">${esc(title)}</text></svg>`;
}
