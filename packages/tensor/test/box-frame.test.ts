import { InvalidArgumentError, InvalidFrameError, type ImageFrame } from '@dytrack/core';
import { describe, expect, it } from 'vitest';
import {
  copyBox,
  createBox,
  frameToRgb,
  fromCenterBox,
  fromCornerBox,
  iou,
  pixelLayout,
  readPixelRgb,
  scaleBox,
  scaleBoxAboutCenter,
  toCenterBox,
  toCornerBox,
} from '../src/index.js';

describe('box helpers', () => {
  const box = { x: 10, y: 20, width: 30, height: 40 };

  it('converts to and from centre and corner forms (continuous convention)', () => {
    expect(toCenterBox(box)).toEqual({ cx: 25, cy: 40, width: 30, height: 40 });
    expect(fromCenterBox({ cx: 25, cy: 40, width: 30, height: 40 })).toEqual(box);
    expect(toCornerBox(box)).toEqual({ x1: 10, y1: 20, x2: 40, y2: 60 });
    expect(fromCornerBox({ x1: 10, y1: 20, x2: 40, y2: 60 })).toEqual(box);
    const out = createBox();
    expect(copyBox(box, out)).toBe(out);
    expect(out).toEqual(box);
  });

  it('computes continuous IoU', () => {
    expect(iou(box, box)).toBe(1);
    // Half overlap along x: inter 15*40 = 600, union 2*1200 - 600 = 1800.
    expect(iou(box, { x: 25, y: 20, width: 30, height: 40 })).toBeCloseTo(1 / 3, 12);
    // Touching edges do not overlap (pytracking's inclusive IoU would count one column).
    expect(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 10, y: 0, width: 10, height: 10 })).toBe(0);
    // Contained: 25 / 100.
    expect(iou({ x: 0, y: 0, width: 10, height: 10 }, { x: 2, y: 2, width: 5, height: 5 })).toBeCloseTo(0.25, 12);
    expect(iou({ x: 0, y: 0, width: 0, height: 0 }, { x: 0, y: 0, width: 0, height: 0 })).toBe(0);
  });

  it('scales coordinates and scales about the centre', () => {
    expect(scaleBox(box, 0.5)).toEqual({ x: 5, y: 10, width: 15, height: 20 });
    expect(scaleBox(box, 2, 0.5)).toEqual({ x: 20, y: 10, width: 60, height: 20 });
    expect(scaleBoxAboutCenter(box, 2)).toEqual({ x: -5, y: 0, width: 60, height: 80 });
    expect(() => scaleBox(box, 0)).toThrow(InvalidArgumentError);
    expect(() => scaleBoxAboutCenter(box, Number.NaN)).toThrow(InvalidArgumentError);
  });
});

describe('frame access', () => {
  // 2x1 frame: pixel 0 = (1, 2, 3), pixel 1 = (4, 5, 6).
  const frames: ImageFrame[] = [
    { data: new Uint8Array([1, 2, 3, 4, 5, 6]), width: 2, height: 1, format: 'rgb' },
    { data: new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 0]), width: 2, height: 1 },
    { data: new Uint8Array([3, 2, 1, 6, 5, 4]), width: 2, height: 1, format: 'bgr' },
  ];

  it('reads RGB from RGB, RGBA (default) and BGR frames', () => {
    for (const frame of frames) {
      expect(Array.from(readPixelRgb(frame, 1, 0))).toEqual([4, 5, 6]);
      expect(Array.from(frameToRgb(frame))).toEqual([1, 2, 3, 4, 5, 6]);
    }
    const out = new Uint8Array(6);
    expect(frameToRgb(frames[1], out)).toBe(out);
    expect(pixelLayout('bgr')).toEqual({ stride: 3, red: 2, green: 1, blue: 0 });
  });

  it('rejects bad frames, positions and buffers', () => {
    expect(() => frameToRgb({ data: new Uint8Array(5), width: 2, height: 1, format: 'rgb' })).toThrow(InvalidFrameError);
    expect(() => frameToRgb(frames[0], new Uint8Array(5))).toThrow(InvalidArgumentError);
    expect(() => readPixelRgb(frames[0], 2, 0)).toThrow(InvalidArgumentError);
    expect(() => pixelLayout('yuv' as 'rgb')).toThrow(InvalidFrameError);
  });
});
