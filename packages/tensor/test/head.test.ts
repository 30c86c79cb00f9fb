import { InvalidArgumentError, InvalidBoxError } from '@dytrack/core';
import { describe, expect, it } from 'vitest';
import { clipBox, createBox, createDecodedBox, decodeCenterHead, hannWindow1d, hannWindow2d, mapBoxBack } from '../src/index.js';

describe('hann windows', () => {
  it('matches hand-computed values: 0.5 * (1 - cos(2 pi k / (n + 1))), k = 1..n', () => {
    expect(Array.from(hannWindow1d(1))).toEqual([1]); // 0.5 * (1 - cos(pi))
    const h3 = hannWindow1d(3); // step pi/2
    expect(h3[0]).toBeCloseTo(0.5, 7);
    expect(h3[1]).toBeCloseTo(1, 7);
    expect(h3[2]).toBeCloseTo(0.5, 7);
    const h5 = Array.from(hannWindow1d(5)); // step pi/3
    [0.25, 0.75, 1, 0.75, 0.25].forEach((v, i) => expect(h5[i]).toBeCloseTo(v, 7));
    const h4 = Array.from(hannWindow1d(4)); // step 2pi/5: no zero at the ends, symmetric, no sample at the peak
    expect(h4[0]).toBeCloseTo(0.5 * (1 - Math.cos((2 * Math.PI) / 5)), 7);
    expect(h4[0]).toBeCloseTo(h4[3], 7);
    expect(h4[1]).toBeCloseTo(0.5 * (1 - Math.cos((4 * Math.PI) / 5)), 7);
  });

  it('2-D is the outer product, row-major, written into the given buffer', () => {
    const out = new Float32Array(9);
    expect(hannWindow2d(3, out)).toBe(out);
    const expected = [0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25];
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 7));
    const h16 = hannWindow1d(16);
    const w16 = hannWindow2d(16);
    expect(w16[3 * 16 + 11]).toBeCloseTo(h16[3] * h16[11], 7);
    expect(() => hannWindow2d(3, new Float32Array(8))).toThrow(InvalidArgumentError);
    expect(() => hannWindow1d(0)).toThrow(InvalidArgumentError);
  });
});

describe('decodeCenterHead', () => {
  // n = 4; the cell (ix = 3, iy = 0) has the highest raw score, (ix = 1, iy = 2) the highest windowed one.
  const n = 4;
  const score = new Float32Array(16);
  score[3] = 0.9; // corner: window 0.5*... small
  score[2 * 4 + 1] = 0.6;
  score[2 * 4 + 2] = 0.1;
  const size = new Float32Array(32);
  const offset = new Float32Array(32);
  size[3] = 0.11; size[16 + 3] = 0.12;
  offset[3] = 0.5; offset[16 + 3] = 0.25;
  size[9] = 0.3; size[16 + 9] = 0.4;
  offset[9] = 0.75; offset[16 + 9] = -0.25;

  it('without a window: argmax of the raw score', () => {
    const d = decodeCenterHead(score, size, offset, n);
    // cx = (3 + 0.5)/4, cy = (0 + 0.25)/4.
    expect(d).toEqual({ cx: 3.5 / 4, cy: 0.25 / 4, w: Math.fround(0.11), h: Math.fround(0.12), score: Math.fround(0.9), index: 3 });
  });

  it('with the Hann window: argmax of score * window, reporting the unwindowed score', () => {
    const window = hannWindow2d(n);
    // corner weight h[0]*h[3] = 0.3455^2 ~ 0.119 -> 0.107; cell (1, 2): h[1]*h[2] = 0.9045^2 ~ 0.818 -> 0.49.
    const out = createDecodedBox();
    const d = decodeCenterHead(score, size, offset, n, window, out);
    expect(d).toBe(out);
    expect(d.index).toBe(9);
    expect(d.cx).toBeCloseTo((1 + 0.75) / 4, 7);
    expect(d.cy).toBeCloseTo((2 - 0.25) / 4, 7);
    expect(d.w).toBeCloseTo(0.3, 7);
    expect(d.h).toBeCloseTo(0.4, 7);
    expect(d.score).toBeCloseTo(0.6, 7); // not 0.6 * window
  });

  it('takes the first cell in row-major order on ties', () => {
    const flat = new Float32Array(16).fill(0.5);
    expect(decodeCenterHead(flat, size, offset, n).index).toBe(0);
    const twoPeaks = new Float32Array(16);
    twoPeaks[6] = 0.7;
    twoPeaks[9] = 0.7; // symmetric about the centre: equal windowed scores too
    expect(decodeCenterHead(twoPeaks, size, offset, n).index).toBe(6);
    expect(decodeCenterHead(twoPeaks, size, offset, n, hannWindow2d(n)).index).toBe(6);
  });

  it('rejects maps of the wrong length and all-NaN scores', () => {
    expect(() => decodeCenterHead(new Float32Array(15), size, offset, n)).toThrow(InvalidArgumentError);
    expect(() => decodeCenterHead(score, new Float32Array(16), offset, n)).toThrow(/size map/);
    expect(() => decodeCenterHead(score, size, new Float32Array(31), n)).toThrow(/offset map/);
    expect(() => decodeCenterHead(score, size, offset, n, new Float32Array(4))).toThrow(/window/);
    expect(() => decodeCenterHead(new Float32Array(16).fill(Number.NaN), size, offset, n)).toThrow(/no value/);
  });
});

describe('mapBoxBack', () => {
  it("uses the previous box's unrounded centre: cx_img = cx*crop + cx_prev - crop/2", () => {
    // Previous centre (110, 70); crop 200; decoded centre (0.5, 0.25), size (0.1, 0.2) of the crop.
    // w = 20, h = 40, cx = 100 + 110 - 100 = 110, cy = 50 + 70 - 100 = 20 -> x = 100, y = 0.
    const out = createBox();
    const box = mapBoxBack({ cx: 0.5, cy: 0.25, w: 0.1, h: 0.2 }, { x: 100, y: 50, width: 20, height: 40 }, 200, out);
    expect(box).toBe(out);
    expect(box).toEqual({ x: 100, y: 0, width: 20, height: 40 });
    // Sub-pixel previous centre 10.25 + 3.5/2 = 12: (0.25 * 64 = 16) + 12 - 32 = -4; w = 8 -> x = -8.
    expect(mapBoxBack({ cx: 0.25, cy: 0.5, w: 0.125, h: 0.125 }, { x: 10.25, y: 0, width: 3.5, height: 4 }, 64)).toEqual({ x: -8, y: 2 - 4, width: 8, height: 8 });
    expect(() => mapBoxBack({ cx: 0, cy: 0, w: 0, h: 0 }, { x: 0, y: 0, width: 1, height: 1 }, 0)).toThrow(InvalidArgumentError);
  });
});

describe('clipBox (OSTrack clip_box, margin 10)', () => {
  const W = 640, H = 480;
  it('leaves a box inside the frame alone', () => {
    expect(clipBox({ x: 100.5, y: 50.25, width: 30, height: 40 }, W, H)).toEqual({ x: 100.5, y: 50.25, width: 30, height: 40 });
  });
  it('clips corners to the frame and keeps at least the margin', () => {
    // Partly left/top: x1 = max(0, -20) = 0, x2 = 30 -> w = 30; y1 = 0, y2 = max(10, 5) = 10 -> h = 10.
    expect(clipBox({ x: -20, y: -30, width: 50, height: 35 }, W, H)).toEqual({ x: 0, y: 0, width: 30, height: 10 });
    // Past the right/bottom: x1 = 600, x2 = min(700, 640) = 640 -> w = 40; y1 = min(475, 470) = 470, y2 = 480 -> h = 10.
    expect(clipBox({ x: 600, y: 475, width: 100, height: 50 }, W, H)).toEqual({ x: 600, y: 470, width: 40, height: 10 });
    // Wholly left: x1 = 0, x2 = max(10, -40) = 10 -> w = 10.
    expect(clipBox({ x: -50, y: 100, width: 10, height: 20 }, W, H)).toEqual({ x: 0, y: 100, width: 10, height: 20 });
    // Wholly right: x1 = W - 10, x2 = W -> w = 10.
    expect(clipBox({ x: 700, y: 100, width: 10, height: 20 }, W, H)).toEqual({ x: 630, y: 100, width: 10, height: 20 });
    // Tiny box inside: size raised to the margin, corner kept (x1 + w may pass the old x2).
    expect(clipBox({ x: 200, y: 200, width: 2, height: 3 }, W, H)).toEqual({ x: 200, y: 200, width: 10, height: 10 });
    // Bigger than the frame.
    expect(clipBox({ x: -5, y: -5, width: 1000, height: 1000 }, W, H)).toEqual({ x: 0, y: 0, width: W, height: H });
  });
  it('honours a custom margin and writes into out', () => {
    const out = createBox();
    expect(clipBox({ x: 630, y: 10, width: 1, height: 1 }, W, H, 4, out)).toBe(out);
    expect(out).toEqual({ x: 630, y: 10, width: 4, height: 4 });
    expect(clipBox({ x: -3, y: -3, width: 1, height: 1 }, W, H, 0)).toEqual({ x: 0, y: 0, width: 0, height: 0 });
  });
  it('rejects non-finite boxes and bad frames', () => {
    expect(() => clipBox({ x: Number.NaN, y: 0, width: 1, height: 1 }, W, H)).toThrow(InvalidBoxError);
    expect(() => clipBox({ x: 0, y: 0, width: 1, height: 1 }, 0, H)).toThrow(InvalidArgumentError);
    expect(() => clipBox({ x: 0, y: 0, width: 1, height: 1 }, W, H, -1)).toThrow(InvalidArgumentError);
  });
});
