// The experiment plot's legend goes where the lines are not, and says which line is which.
import { describe, expect, it } from 'vitest';
import { legendBox, renderSvg } from '../../../scripts/model/plot.ts';

const area = { x: 0, y: 0, w: 400, h: 300 };
const inside = (b: { x: number; y: number; w: number; h: number }, [x, y]: [number, number]) => x >= b.x && x <= b.x + b.w && y >= b.y && y <= b.y + b.h;

describe('legendBox', () => {
  it('keeps the top-left corner when nothing crosses it', () => {
    const rising: [number, number][] = [[0, 300], [400, 0]]; // bottom left to top right, in pixels (y down)
    const box = legendBox(area, 100, 60, [rising.map(([x, y]) => [x, Math.max(y, 200)])]);
    expect(box).toEqual({ x: 6, y: 6, w: 100, h: 60 });
  });

  it('moves to the emptiest corner when lines fill the top', () => {
    // a curve that rises at once and stays near the top (the held-out panel's shape)
    const plateau: [number, number][] = [[0, 280], [40, 30], [400, 20]];
    const box = legendBox(area, 100, 60, [plateau, plateau.map(([x, y]): [number, number] => [x, y + 15])]);
    expect(box.y).toBeGreaterThan(150); // a bottom corner
    for (const p of plateau) expect(inside(box, p)).toBe(false);
    expect(box.x + box.w).toBeLessThanOrEqual(area.w);
  });

  it('prefers the corner no segment passes through, even between sampled points', () => {
    // one long segment straight across the top-left corner, no point inside it
    const across: [number, number][] = [[0, 30], [400, 30]];
    const box = legendBox(area, 100, 60, [across]);
    expect(box.y).toBeGreaterThan(30);
  });
});

describe('renderSvg', () => {
  it('draws every series and labels each with its own colour on a legend box', () => {
    const svg = renderSvg([{ title: 'T', xLabel: 'x', yLabel: 'y', series: [
      { label: 'a<b', color: '#111111', points: [[0, 0], [1, 1]] },
      { label: 'c', color: '#222222', points: [[0, 1], [1, 0]] },
    ] }], 'caption');
    expect(svg.match(/<path /g)?.length).toBe(2);
    expect(svg).toContain('fill="#111111">a&lt;b</text>');
    expect(svg).toContain('fill="#222222">c</text>');
    expect(svg).toContain('fill-opacity="0.85"');
  });
});
