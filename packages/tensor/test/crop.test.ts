import { readFileSync } from 'node:fs';
import { InvalidArgumentError, InvalidBoxError, InvalidFrameError, type Box, type ImageFrame } from '@dytrack/core';
import { describe, expect, it } from 'vitest';
import {
  IMAGENET_NORMALIZATION,
  computeCropWindow,
  createCropWindow,
  createCropper,
  cropAndResize,
  cropResizeNormalize,
  normalizeToNCHW,
  roundHalfToEven,
  type CropWindow,
} from '../src/index.js';
import { lcgFrame, prng, pyRound, refNormalize, refResize, refWindow, repack } from './reference.js';

const { mean, std } = IMAGENET_NORMALIZATION;

function expectWindow(win: CropWindow, ref: ReturnType<typeof refWindow>, outputSize: number): void {
  expect(win).toEqual({
    cropSize: ref.crop,
    x1: ref.x1,
    y1: ref.y1,
    x2: ref.x2,
    y2: ref.y2,
    padLeft: ref.padLeft,
    padTop: ref.padTop,
    padRight: ref.padRight,
    padBottom: ref.padBottom,
    resizeFactor: outputSize / ref.crop,
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('roundHalfToEven', () => {
  it('rounds ties to the even integer like Python round', () => {
    const cases: [number, number][] = [
      [0.5, 0], [1.5, 2], [2.5, 2], [3.5, 4], [-0.5, 0], [-1.5, -2], [-2.5, -2], [7.5, 8], [8.5, 8],
      [2.4999999, 2], [2.5000001, 3], [-2.5000001, -3], [1e15 + 0.5, 1e15], [3, 3],
    ];
    for (const [v, expected] of cases) {
      expect(roundHalfToEven(v)).toBe(expected);
      expect(pyRound(v)).toBe(expected);
    }
  });
});

describe('computeCropWindow', () => {
  it('follows DESIGN 4 on hand-computed boxes', () => {
    // crop = ceil(sqrt(5*5)*2) = 10; x1 = 10 + 2.5 - 5 = 7.5 -> 8 (tie to even); y1 = 6 + 2.5 - 5 = 3.5 -> 4.
    expect(computeCropWindow({ x: 10, y: 6, width: 5, height: 5 }, 2, 16, { width: 23, height: 17 })).toEqual({
      cropSize: 10, x1: 8, y1: 4, x2: 18, y2: 14, padLeft: 0, padTop: 0, padRight: 0, padBottom: 0, resizeFactor: 1.6,
    });
    // x1 = 11 + 2.5 - 5 = 8.5 -> 8; y1 = 4.5 -> 4. x2 = 18 = W - 5: no pad.
    expect(computeCropWindow({ x: 11, y: 7, width: 5, height: 5 }, 2, 16, { width: 23, height: 17 }).x1).toBe(8);
    // Frame-sized box: crop = ceil(sqrt(23*17)*2) = ceil(39.547...) = 40, x1 = 11.5 - 20 = -8.5 -> -8, y1 = 8.5 - 20 = -11.5 -> -12.
    expect(computeCropWindow({ x: 0, y: 0, width: 23, height: 17 }, 2, 128, { width: 23, height: 17 })).toEqual({
      cropSize: 40, x1: -8, y1: -12, x2: 32, y2: 28, padLeft: 8, padTop: 12, padRight: 10, padBottom: 12, resizeFactor: 3.2,
    });
  });

  it('pads one column on the right as soon as the crop reaches the frame edge (the +1)', () => {
    // 8x8 frame, whole-frame box, factor 1: crop = 8, x1 = 0, x2 = 8 = W -> padRight = 1.
    const win = computeCropWindow({ x: 0, y: 0, width: 8, height: 8 }, 1, 8, { width: 8, height: 8 });
    expect([win.padLeft, win.padRight, win.padTop, win.padBottom]).toEqual([0, 1, 0, 1]);
    // Ending one short of the edge: x2 = W - 1 -> no pad.
    const inner = computeCropWindow({ x: 0, y: 0, width: 7, height: 7 }, 1, 8, { width: 8, height: 8 });
    expect([inner.x2, inner.padRight]).toEqual([7, 0]);
  });

  it('matches the reference on many boxes, in and out of odd-sized frames', () => {
    const rand = prng(7);
    for (let i = 0; i < 2000; i++) {
      const W = 1 + Math.floor(rand() * 300);
      const H = 1 + Math.floor(rand() * 300);
      const width = rand() < 0.2 ? 1 : 0.5 + rand() * W;
      const height = rand() < 0.2 ? 1 : 0.5 + rand() * H;
      // Half-integer positions make rounding ties frequent.
      const x = rand() < 0.5 ? Math.round((rand() * 2 - 0.5) * W * 2) / 2 : (rand() * 2 - 0.5) * W;
      const y = rand() < 0.5 ? Math.round((rand() * 2 - 0.5) * H * 2) / 2 : (rand() * 2 - 0.5) * H;
      const factor = [1, 2, 4, 5, 2.5][i % 5];
      const box = { x, y, width, height };
      expectWindow(computeCropWindow(box, factor, 256, { width: W, height: H }), refWindow(box, factor, W, H), 256);
    }
  });

  it('writes into the window it is given', () => {
    const out = createCropWindow();
    const got = computeCropWindow({ x: 1, y: 1, width: 2, height: 2 }, 2, 16, { width: 10, height: 10 }, out);
    expect(got).toBe(out);
    expect(out.cropSize).toBe(4);
  });

  it('rejects bad boxes, factors and sizes with typed errors', () => {
    const frame = { width: 10, height: 10 };
    expect(() => computeCropWindow({ x: 0, y: 0, width: 0, height: 5 }, 2, 16, frame)).toThrow(InvalidBoxError);
    expect(() => computeCropWindow({ x: Number.NaN, y: 0, width: 5, height: 5 }, 2, 16, frame)).toThrow(InvalidBoxError);
    expect(() => computeCropWindow({ x: 0, y: 0, width: -1, height: 5 }, 2, 16, frame)).toThrow(InvalidBoxError);
    // sqrt(1e-320 * 1e-320) underflows to 0: crop size 0.
    expect(() => computeCropWindow({ x: 0, y: 0, width: 1e-320, height: 1e-320 }, 2, 16, frame)).toThrow(/crop size 0/);
    expect(() => computeCropWindow({ x: 0, y: 0, width: 5, height: 5 }, 0, 16, frame)).toThrow(InvalidArgumentError);
    expect(() => computeCropWindow({ x: 0, y: 0, width: 5, height: 5 }, 2, 15.5, frame)).toThrow(InvalidArgumentError);
    expect(() => computeCropWindow({ x: 0, y: 0, width: 5, height: 5 }, 2, 16, { width: 0, height: 10 })).toThrow(InvalidArgumentError);
  });
});

interface Case {
  frame: ImageFrame;
  rgb: Uint8Array;
  box: Box;
  factor: number;
  size: number;
}

/** Frames of odd sizes, every format, boxes in, partly out, wholly out, 1 pixel, frame-sized. */
function randomCases(seed: number, count: number): Case[] {
  const rand = prng(seed);
  const formats = ['rgb', 'rgba', 'bgr'] as const;
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const W = [1, 2, 7, 31, 33, 64, 97][Math.floor(rand() * 7)];
    const H = [1, 3, 9, 23, 40, 65][Math.floor(rand() * 6)];
    const rgb = new Uint8Array(W * H * 3);
    for (let k = 0; k < rgb.length; k++) rgb[k] = Math.floor(rand() * 256);
    const format = formats[i % 3];
    const frame: ImageFrame = { data: repack(rgb, format, i % 2 === 1), width: W, height: H, ...(format === 'rgba' && i % 6 === 0 ? {} : { format }) };
    let box: Box;
    switch (i % 6) {
      case 0: // inside
        box = { x: rand() * W * 0.5, y: rand() * H * 0.5, width: 0.5 + rand() * W * 0.5, height: 0.5 + rand() * H * 0.5 };
        break;
      case 1: // partly outside
        box = { x: -W * 0.3 + rand() * W, y: -H * 0.3 + rand() * H, width: 1 + rand() * W, height: 1 + rand() * H };
        break;
      case 2: // wholly outside
        box = { x: rand() < 0.5 ? -3 * W - 5 : 3 * W + 5, y: rand() * H, width: 1 + rand() * 3, height: 1 + rand() * 3 };
        break;
      case 3: // one pixel at an integer or half-integer position
        box = { x: Math.floor(rand() * W) + (rand() < 0.5 ? 0.5 : 0), y: Math.floor(rand() * H), width: 1, height: 1 };
        break;
      case 4: // frame-sized
        box = { x: 0, y: 0, width: W, height: H };
        break;
      default: // near the bottom-right corner
        box = { x: W - 1 - rand() * 3, y: H - 1 - rand() * 3, width: 1 + rand() * 4, height: 1 + rand() * 4 };
    }
    cases.push({ frame, rgb, box, factor: [1, 2, 4, 5, 2.5][Math.floor(rand() * 5)], size: [7, 16, 33][Math.floor(rand() * 3)] });
  }
  return cases;
}

describe('crop, resize and normalise against the float64 reference', () => {
  const cases = randomCases(11, 180);

  it('cropResizeNormalize is within 1e-4 of the reference, for every format and geometry', () => {
    let worst = 0;
    for (const c of cases) {
      const { rgb: ref, win } = refResize(c.frame, c.box, c.factor, c.size);
      const expected = refNormalize(ref, c.size, mean, std);
      const out = new Float32Array(3 * c.size * c.size);
      const windowOut = createCropWindow();
      const returned = cropResizeNormalize(c.frame, c.box, c.factor, c.size, IMAGENET_NORMALIZATION, out, windowOut);
      expect(returned).toBe(windowOut);
      expectWindow(windowOut, win, c.size);
      worst = Math.max(worst, maxAbsDiff(out, expected));
    }
    expect(worst).toBeLessThan(1e-4);
  });

  it('cropAndResize rounds the reference to the nearest byte', () => {
    for (const c of cases) {
      const { rgb: ref } = refResize(c.frame, c.box, c.factor, c.size);
      const { image } = cropAndResize(c.frame, c.box, c.factor, c.size);
      expect(maxAbsDiff(image, ref)).toBeLessThanOrEqual(0.5 + 1e-9);
    }
  });

  it('fills wholly-outside crops with zero pixels, i.e. -mean/std after normalisation', () => {
    const rgb = new Uint8Array(20 * 10 * 3).fill(200);
    const frame: ImageFrame = { data: rgb, width: 20, height: 10, format: 'rgb' };
    const out = new Float32Array(3 * 8 * 8);
    cropResizeNormalize(frame, { x: -40, y: 2, width: 3, height: 3 }, 2, 8, IMAGENET_NORMALIZATION, out);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 64; i++) expect(out[c * 64 + i]).toBeCloseTo(-mean[c] / std[c], 6);
    }
  });

  it("zeroes the frame's last column and row when the crop reaches them (the +1 pad)", () => {
    // 8x8 frame of 200s, whole-frame box, factor 1: crop 8 -> output 8 is an identity resize.
    const frame: ImageFrame = { data: new Uint8Array(8 * 8 * 3).fill(200), width: 8, height: 8, format: 'rgb' };
    for (const resample of ['float', 'opencv'] as const) {
      const { image, window } = cropAndResize(frame, { x: 0, y: 0, width: 8, height: 8 }, 1, 8, undefined, undefined, { resample });
      expect(window.padRight).toBe(1);
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) expect(image[(y * 8 + x) * 3]).toBe(x === 7 || y === 7 ? 0 : 200);
      }
    }
  });

  it('1280x720 RGBA frames: template and search crops, in and at the edge of the frame', () => {
    const rand = prng(3);
    const W = 1280, H = 720;
    const rgb = new Uint8Array(W * H * 3);
    for (let k = 0; k < rgb.length; k++) rgb[k] = Math.floor(rand() * 256);
    const frame: ImageFrame = { data: repack(rgb, 'rgba', true), width: W, height: H };
    const boxes: Box[] = [
      { x: 600.3, y: 300.7, width: 80.2, height: 120.9 },
      { x: 1230, y: 690, width: 60, height: 40 },
      { x: 0, y: 0, width: W, height: H },
    ];
    for (const box of boxes) {
      for (const [factor, size] of [[2, 128], [4, 256]] as const) {
        const { rgb: ref } = refResize(frame, box, factor, size);
        const out = new Float32Array(3 * size * size);
        cropResizeNormalize(frame, box, factor, size, IMAGENET_NORMALIZATION, out);
        expect(maxAbsDiff(out, refNormalize(ref, size, mean, std))).toBeLessThan(1e-4);
      }
    }
  });
});

describe("resample: 'opencv' (bit-exact cv2.resize of OSTrack's padded crop)", () => {
  interface FixtureCase {
    name: string;
    width: number;
    height: number;
    seed: number;
    box: [number, number, number, number];
    factor: number;
    size: number;
    window: [number, number, number, number, number, number, number];
    rgb: string;
  }
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/opencv-resize.json', import.meta.url), 'utf8')) as { cases: FixtureCase[] };

  it.each(fixture.cases.map((c) => [c.name, c] as const))('equals OpenCV 4.6 output byte for byte: %s', (_name, c) => {
    const rgb = lcgFrame(c.width, c.height, c.seed);
    const expected = Buffer.from(c.rgb, 'hex');
    const box = { x: c.box[0], y: c.box[1], width: c.box[2], height: c.box[3] };
    for (const format of ['rgb', 'rgba', 'bgr'] as const) {
      const frame: ImageFrame = { data: repack(rgb, format, false), width: c.width, height: c.height, format };
      const { image, window } = cropAndResize(frame, box, c.factor, c.size, undefined, undefined, { resample: 'opencv' });
      expect([window.cropSize, window.x1, window.y1, window.padLeft, window.padTop, window.padRight, window.padBottom]).toEqual(c.window);
      expect(Buffer.from(image).equals(expected)).toBe(true);
      // The fused path normalises exactly those bytes.
      const fused = new Float32Array(3 * c.size * c.size);
      cropResizeNormalize(frame, box, c.factor, c.size, IMAGENET_NORMALIZATION, fused, undefined, { resample: 'opencv' });
      expect(fused).toEqual(normalizeToNCHW(image, c.size, IMAGENET_NORMALIZATION));
    }
  });

  it("differs from 'float' by at most one level", () => {
    for (const c of randomCases(5, 60)) {
      const exact = cropAndResize(c.frame, c.box, c.factor, c.size, undefined, undefined, { resample: 'opencv' }).image;
      const { rgb: ref } = refResize(c.frame, c.box, c.factor, c.size);
      expect(maxAbsDiff(exact, ref)).toBeLessThan(1);
    }
  });
});

describe('buffers and croppers', () => {
  const rgb = lcgFrame(50, 40, 99);
  const frame: ImageFrame = { data: repack(rgb, 'rgba', false), width: 50, height: 40 };
  const box = { x: 10.5, y: 8.25, width: 12, height: 9 };

  it('a cropper reuses its scratch and writes into the caller buffers', () => {
    const cropper = createCropper(32);
    const out = new Float32Array(3 * 32 * 32);
    const win = createCropWindow();
    expect(cropper.cropResizeNormalize(frame, box, 4, IMAGENET_NORMALIZATION, out, win)).toBe(win);
    const first = out.slice();
    // A different crop in between must not leak into the next result.
    cropper.cropResizeNormalize(frame, { x: 30, y: 30, width: 3, height: 3 }, 2, IMAGENET_NORMALIZATION, out, win);
    expect(out).not.toEqual(first);
    cropper.cropResizeNormalize(frame, box, 4, IMAGENET_NORMALIZATION, out, win);
    expect(out).toEqual(first);
    const image = new Uint8Array(3 * 32 * 32);
    expect(cropper.cropAndResize(frame, box, 4, image, win).image).toBe(image);
    // The same crop through the free functions.
    const viaFree = new Float32Array(out.length);
    cropResizeNormalize(frame, box, 4, 32, IMAGENET_NORMALIZATION, viaFree);
    expect(viaFree).toEqual(first);
  });

  it('sees each new frame, also when frames are Uint8ClampedArray views (cached per array)', () => {
    const cropper = createCropper(16);
    const out = new Float32Array(3 * 16 * 16);
    for (const seed of [1, 2, 1]) {
      const clamped: ImageFrame = { data: repack(lcgFrame(30, 20, seed), 'rgba', true), width: 30, height: 20 };
      cropper.cropResizeNormalize(clamped, { x: 5, y: 4, width: 8, height: 6 }, 2, IMAGENET_NORMALIZATION, out);
      const { rgb: ref } = refResize(clamped, { x: 5, y: 4, width: 8, height: 6 }, 2, 16);
      expect(maxAbsDiff(out, refNormalize(ref, 16, mean, std))).toBeLessThan(1e-4);
    }
  });

  it('custom normalisation is applied per channel', () => {
    const normalization = { mean: [0, 0.5, 1] as const, std: [1, 0.5, 2] as const };
    const out = new Float32Array(3 * 16 * 16);
    cropResizeNormalize(frame, box, 2, 16, normalization, out);
    const { rgb: ref } = refResize(frame, box, 2, 16);
    expect(maxAbsDiff(out, refNormalize(ref, 16, normalization.mean, normalization.std))).toBeLessThan(1e-5);
  });

  it('rejects wrong buffers, frames and options', () => {
    expect(() => cropResizeNormalize(frame, box, 2, 16, IMAGENET_NORMALIZATION, new Float32Array(10))).toThrow(InvalidArgumentError);
    expect(() => cropAndResize(frame, box, 2, 16, new Uint8Array(10))).toThrow(InvalidArgumentError);
    expect(() => cropAndResize({ data: new Uint8Array(10), width: 50, height: 40 }, box, 2, 16)).toThrow(InvalidFrameError);
    expect(() => cropAndResize(frame, { x: 0, y: 0, width: 0, height: 3 }, 2, 16)).toThrow(InvalidBoxError);
    expect(() => cropResizeNormalize(frame, box, 2, 16, { mean: [0, 0, 0], std: [1, 0, 1] }, new Float32Array(768))).toThrow(/std\[1\]/);
    expect(() => createCropper(0)).toThrow(InvalidArgumentError);
    expect(() => createCropper(16, { resample: 'cubic' as 'float' })).toThrow(InvalidArgumentError);
  });
});

describe('normalizeToNCHW', () => {
  it('computes (v/255 - mean)/std into NCHW planes, in the caller buffer', () => {
    // 2x2 image, pixels in row-major order.
    const image = new Uint8Array([255, 0, 51, 0, 255, 102, 51, 102, 153, 0, 0, 0]);
    const out = new Float32Array(12);
    expect(normalizeToNCHW(image, 2, IMAGENET_NORMALIZATION, out)).toBe(out);
    const v = (x: number, c: number) => (x / 255 - mean[c]) / std[c];
    const expected = [255, 0, 51, 0, 0, 255, 102, 0, 51, 102, 153, 0].map((x, i) => v(x, Math.floor(i / 4)));
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-6);
    expect(() => normalizeToNCHW(image, 3, IMAGENET_NORMALIZATION)).toThrow(InvalidArgumentError);
    expect(() => normalizeToNCHW(image, 2, IMAGENET_NORMALIZATION, new Float32Array(11))).toThrow(InvalidArgumentError);
  });
});
