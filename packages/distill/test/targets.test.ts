import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidBoxError } from '@dytrack/core';
import { boxTarget, gaussianHeatmap, gaussianRadius, tokenMask } from '../src/index.js';
import { rng } from './helpers.js';

/** CornerNet's radius formula (min_overlap 0.7) in plain float64, for boxes far from an integer boundary. */
function radius64(w: number, h: number): number {
  const o = 0.7;
  const r1 = (h + w + Math.sqrt((h + w) ** 2 - (4 * w * h * (1 - o)) / (1 + o))) / 2;
  const b2 = 2 * (h + w);
  const r2 = (b2 + Math.sqrt(b2 ** 2 - 16 * (1 - o) * w * h)) / 2;
  const b3 = -2 * o * (h + w);
  const r3 = (b3 + Math.sqrt(b3 ** 2 - 4 * 4 * o * (o - 1) * w * h)) / 2;
  return Math.max(Math.trunc(Math.min(r1, r2, r3)), 0);
}

/**
 * A literal transcription of OSTrack's draw_gaussian (kernel array, then the
 * left/right/top/bottom slicing with Python's negative-index semantics), used to check
 * the loop bounds of gaussianHeatmap independently.
 */
function drawGaussianLiteral(n: number, cx: number, cy: number, r: number): Float32Array {
  const d = 2 * r + 1;
  const sigma = d / 6;
  const kernel = (ky: number, kx: number) => Math.exp(-((kx - r) ** 2 + (ky - r) ** 2) / (2 * sigma * sigma));
  const fmap = new Float32Array(n * n);
  const left = Math.min(cx, r);
  const right = Math.min(n - cx, r + 1);
  const top = Math.min(cy, r);
  const bottom = Math.min(n - cy, r + 1);
  const py = (a: number, b: number, len: number): number[] => {
    // Python slice a:b on a sequence of length len (negative indices wrap, then clamp).
    const norm = (i: number) => Math.min(Math.max(i < 0 ? i + len : i, 0), len);
    const out: number[] = [];
    for (let i = norm(a); i < norm(b); i++) out.push(i);
    return out;
  };
  const rows = py(cy - top, cy + bottom, n);
  const cols = py(cx - left, cx + right, n);
  const krows = py(r - top, r + bottom, d);
  const kcols = py(r - left, r + right, d);
  if (Math.min(krows.length, kcols.length) > 0 && Math.min(rows.length, cols.length) > 0) {
    rows.forEach((y, i) => cols.forEach((x, j) => (fmap[y * n + x] = Math.max(fmap[y * n + x], kernel(krows[i], kcols[j])))));
  }
  return fmap;
}

describe('gaussianRadius', () => {
  it('is 2 for an 8 x 8 cell box (r3 = 2.19 is the smallest root)', () => {
    expect(gaussianRadius(8, 8)).toBe(2);
  });

  it('agrees with the float64 formula away from integer boundaries', () => {
    const random = rng(3);
    for (let k = 0; k < 200; k++) {
      const w = 0.2 + random() * 15;
      const h = 0.2 + random() * 15;
      const exact = (() => {
        const o = 0.7;
        const b3 = -2 * o * (h + w);
        return (b3 + Math.sqrt(b3 ** 2 - 4 * 4 * o * (o - 1) * w * h)) / 2;
      })();
      if (Math.abs(exact - Math.round(exact)) < 1e-4) continue;
      expect(gaussianRadius(w, h)).toBe(radius64(w, h));
    }
  });

  it('is 0 for tiny boxes and rejects negative sizes', () => {
    expect(gaussianRadius(0.5, 0.5)).toBe(0);
    expect(gaussianRadius(0, 0)).toBe(0);
    expect(() => gaussianRadius(-1, 2)).toThrow(InvalidArgumentError);
  });
});

describe('gaussianHeatmap', () => {
  it('draws the 5 x 5 kernel of radius 2 at the rounded centre (hand-computed)', () => {
    // crop 256, n 16: box (64, 64, 128, 128) is 8 x 8 cells from (4, 4); centre cell (8, 8).
    const heat = gaussianHeatmap({ x: 64, y: 64, width: 128, height: 128 }, 256, 16);
    expect(heat).toBeInstanceOf(Float32Array);
    expect(heat.length).toBe(256);
    const at = (ix: number, iy: number) => heat[iy * 16 + ix];
    // sigma = 5/6, so exp(-d^2 / (2 sigma^2)) = exp(-0.72 d^2).
    expect(at(8, 8)).toBe(1);
    expect(at(9, 8)).toBeCloseTo(Math.exp(-0.72), 6);
    expect(at(8, 6)).toBeCloseTo(Math.exp(-2.88), 6);
    expect(at(10, 10)).toBeCloseTo(Math.exp(-5.76), 6);
    expect(at(11, 8)).toBe(0);
    expect(at(8, 5)).toBe(0);
    expect(heat.filter((v) => v > 0).length).toBe(25);
    expect(heat.filter((v) => v === 1).length).toBe(1);
  });

  it('rounds the centre half to even, as torch.round', () => {
    // w = 32 px = 2 cells; x = 120 px: bx + bw/2 = 7.5 + 1 = 8.5 -> 8; x = 136: 9.5 -> 10.
    const a = gaussianHeatmap({ x: 120, y: 120, width: 32, height: 32 }, 256, 16);
    expect(a.indexOf(1)).toBe(8 * 16 + 8);
    const b = gaussianHeatmap({ x: 136, y: 136, width: 32, height: 32 }, 256, 16);
    expect(b.indexOf(1)).toBe(10 * 16 + 10);
  });

  it('cuts the kernel at the border and draws only its visible part for a centre off the map', () => {
    // bx = 12.5, bw = 8: centre round(16.5) = 16, one column past the map; radius 2.
    const heat = gaussianHeatmap({ x: 200, y: 64, width: 128, height: 128 }, 256, 16);
    expect(heat.indexOf(1)).toBe(-1);
    expect(heat[8 * 16 + 15]).toBeCloseTo(Math.exp(-0.72), 6);
    expect(heat[8 * 16 + 14]).toBeCloseTo(Math.exp(-2.88), 6);
    expect(heat[8 * 16 + 13]).toBe(0);
    expect(heat.filter((v) => v > 0).length).toBe(10);
  });

  it('matches a literal transcription of OSTrack draw_gaussian on random boxes', () => {
    const random = rng(11);
    const n = 16;
    const out = new Float32Array(3 * n * n).fill(7);
    for (let k = 0; k < 300; k++) {
      const w = 4 + random() * 250;
      const h = 4 + random() * 250;
      const box = { x: -60 + random() * 300, y: -60 + random() * 300, width: w, height: h };
      gaussianHeatmap(box, 256, n, out, n * n);
      const f = Math.fround;
      const bw = f(f(box.width / 256) * n);
      const bh = f(f(box.height / 256) * n);
      const cx = Math.round(f(f(f(box.x / 256) * n) + f(bw / 2)));
      const cy = Math.round(f(f(f(box.y / 256) * n) + f(bh / 2)));
      const expected = drawGaussianLiteral(n, cx, cy, gaussianRadius(bw, bh));
      expect(Array.from(out.subarray(n * n, 2 * n * n))).toEqual(Array.from(expected));
    }
    // Writes only its slice of the buffer.
    expect(out[0]).toBe(7);
    expect(out[2 * n * n]).toBe(7);
  });

  it('validates its arguments', () => {
    expect(() => gaussianHeatmap({ x: 0, y: 0, width: 0, height: 5 }, 256, 16)).toThrow(InvalidBoxError);
    expect(() => gaussianHeatmap({ x: Number.NaN, y: 0, width: 5, height: 5 }, 256, 16)).toThrow(InvalidBoxError);
    expect(() => gaussianHeatmap({ x: 0, y: 0, width: 5, height: 5 }, 0, 16)).toThrow(InvalidArgumentError);
    expect(() => gaussianHeatmap({ x: 0, y: 0, width: 5, height: 5 }, 256, 2.5)).toThrow(InvalidArgumentError);
    expect(() => gaussianHeatmap({ x: 0, y: 0, width: 5, height: 5 }, 256, 16, new Float32Array(255))).toThrow(/do not fit/);
  });
});

describe('boxTarget', () => {
  it('writes (cx, cy, w, h) in fractions of the crop', () => {
    const out = new Float64Array(8);
    boxTarget({ x: 32, y: 64, width: 64, height: 32 }, 256, out, 4);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 0.25, 0.3125, 0.25, 0.125]);
    expect(Array.from(boxTarget({ x: -16, y: 0, width: 64, height: 256 }, 256))).toEqual([0.0625, 0.5, 0.25, 1]);
  });
});

describe('tokenMask', () => {
  it("'box': 1 for patch centres inside the box, the background weight elsewhere", () => {
    // crop 64, n 4 (16 px patches; centres at 0.125, 0.375, 0.625, 0.875): box [0.25, 0.75] x [0.25, 0.5].
    const m = tokenMask({ x: 16, y: 16, width: 32, height: 16 }, 64, 4);
    const expected = new Array<number>(16).fill(Math.fround(0.1));
    expected[5] = 1;
    expected[6] = 1;
    expect(Array.from(m)).toEqual(expected);
  });

  it("'box': the patch holding the centre of a tiny box is in", () => {
    const m = tokenMask({ x: 1, y: 1, width: 2, height: 2 }, 64, 4, { backgroundWeight: 0 });
    expect(Array.from(m)).toEqual([1, ...new Array<number>(15).fill(0)]);
  });

  it("'gaussian': peak 1 at the box centre, floor at the background weight", () => {
    // Box centred on patch (1, 2)'s centre: (0.375, 0.625); w = h = 0.5, sigma = 0.125.
    const m = tokenMask({ x: 8, y: 24, width: 32, height: 32 }, 64, 4, { mode: 'gaussian', backgroundWeight: 0.2 }, new Float64Array(16));
    expect(m[2 * 4 + 1]).toBeCloseTo(1, 12);
    const neighbour = 0.2 + 0.8 * Math.exp(-(0.25 ** 2) / (2 * 0.125 ** 2));
    expect(m[2 * 4 + 2]).toBeCloseTo(neighbour, 12);
    expect(m[1 * 4 + 1]).toBeCloseTo(neighbour, 12);
    expect(Math.min(...m)).toBeGreaterThanOrEqual(0.2);
  });

  it('rejects bad options', () => {
    const box = { x: 8, y: 8, width: 8, height: 8 };
    expect(() => tokenMask(box, 64, 4, { backgroundWeight: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => tokenMask(box, 64, 4, { mode: 'ring' as 'box' })).toThrow(/mode/);
  });
});
