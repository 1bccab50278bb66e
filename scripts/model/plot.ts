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

export interface Box { x: number; y: number; w: number; h: number }

/**
 * How crowded the box is: samples of the lines that fall inside it, 9 per segment (both ends and 7 between,
 * so a segment that crosses the box counts even with no point in it) plus each line's last point.
 */
function crowding(box: Box, lines: [number, number][][]): number {
  const inside = (x: number, y: number) => (x >= box.x && x <= box.x + box.w && y >= box.y && y <= box.y + box.h ? 1 : 0);
  let n = 0;
  for (const pts of lines) {
    for (let j = 0; j + 1 < pts.length; j++) {
      const [[ax, ay], [bx, by]] = [pts[j], pts[j + 1]];
      for (let s = 0; s <= 8; s++) n += inside(ax + ((bx - ax) * s) / 8, ay + ((by - ay) * s) / 8);
    }
    if (pts.length > 0) n += inside(...pts[pts.length - 1]);
  }
  return n;
}

/**
 * Where a legend of w × h pixels goes inside a plot area: the corner whose box the drawn lines (in pixel
 * coordinates) cross least; ties keep the earlier corner (top left, top right, bottom right, bottom left).
 */
export function legendBox(area: Box, w: number, h: number, lines: [number, number][][], pad = 6): Box {
  const corners: Box[] = [
    { x: area.x + pad, y: area.y + pad, w, h },
    { x: area.x + area.w - pad - w, y: area.y + pad, w, h },
    { x: area.x + area.w - pad - w, y: area.y + area.h - pad - h, w, h },
    { x: area.x + pad, y: area.y + area.h - pad - h, w, h },
  ];
  let best = corners[0];
  let bestScore = Infinity;
  for (const c of corners) {
    const score = crowding(c, lines);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  return best;
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
    const lines = panel.series.map((s) => s.points.map(([x, y]): [number, number] => [sx(x), sy(y)]));
    panel.series.forEach((s, k) => {
      const d = lines[k].map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    });
    // the legend last, on a white box, in the corner the lines cross least (12 px text ≈ 6.6 px per character)
    const lw = 16 + 6.6 * Math.max(0, ...panel.series.map((s) => s.label.length));
    const lh = 8 + 16 * panel.series.length;
    const box = legendBox({ x: ox + m.l, y: m.t, w: W - m.l - m.r, h: H - m.t - m.b }, lw, lh, lines);
    parts.push(`<rect x="${box.x.toFixed(1)}" y="${box.y.toFixed(1)}" width="${lw.toFixed(1)}" height="${lh}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`);
    panel.series.forEach((s, k) => {
      parts.push(`<text x="${(box.x + 8).toFixed(1)}" y="${box.y + 16 + 16 * k}" font-size="12" fill="${s.color}">${esc(s.label)}</text>`);
    });
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H + 30}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join('')}` +
    `<text x="10" y="${H + 22}" font-size="12" fill="#555">${esc(title)}</text></svg>`;
}
