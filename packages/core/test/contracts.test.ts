import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import {
  assertBoxInFrame,
  assertValidBox,
  assertValidFrame,
  DyTrackError,
  elementCount,
  inMemoryModel,
  InvalidBoxError,
  InvalidFrameError,
  ModelMismatchError,
  parseManifest,
  sha256Hex,
} from '../src/index.js';

describe('frames', () => {
  it('accepts RGBA (the ImageData default), RGB and BGR frames of the right byte length', () => {
    expect(() => assertValidFrame({ data: new Uint8ClampedArray(4 * 3 * 2), width: 3, height: 2 })).not.toThrow();
    expect(() => assertValidFrame({ data: new Uint8Array(3 * 3 * 2), width: 3, height: 2, format: 'rgb' })).not.toThrow();
    expect(() => assertValidFrame({ data: new Uint8Array(3 * 5 * 7), width: 5, height: 7, format: 'bgr' })).not.toThrow();
  });

  it('rejects a byte length that does not match width, height and format, saying both numbers', () => {
    expect(() => assertValidFrame({ data: new Uint8Array(3 * 3 * 2), width: 3, height: 2 })).toThrow(
      /18 bytes but a 3x2 rgba frame needs 24/,
    );
  });

  it('rejects non-integer or zero sizes, unknown formats and non-byte data', () => {
    expect(() => assertValidFrame({ data: new Uint8Array(0), width: 0, height: 2 })).toThrow(InvalidFrameError);
    expect(() => assertValidFrame({ data: new Uint8Array(6), width: 1.5, height: 1, format: 'rgb' })).toThrow(/positive integers/);
    expect(() => assertValidFrame({ data: new Uint8Array(6), width: 2, height: 1, format: 'yuv' as never })).toThrow(/unknown pixel format "yuv"/);
    expect(() => assertValidFrame({ data: new Float32Array(6) as never, width: 2, height: 1, format: 'rgb' })).toThrow(/Uint8Array/);
  });
});

describe('boxes', () => {
  it('rejects NaN, infinite and non-positive sizes with the field name', () => {
    expect(() => assertValidBox({ x: NaN, y: 0, width: 1, height: 1 })).toThrow(/box.x must be a finite number, got NaN/);
    expect(() => assertValidBox({ x: 0, y: 0, width: Infinity, height: 1 })).toThrow(/box.width/);
    expect(() => assertValidBox({ x: 0, y: 0, width: 0, height: 5 })).toThrow(/positive size, got 0x5/);
    expect(() => assertValidBox({ x: 0, y: 0, width: 3, height: -1 })).toThrow(InvalidBoxError);
  });

  it('accepts a box partly outside the frame and rejects one wholly outside', () => {
    expect(() => assertBoxInFrame({ x: -5, y: -5, width: 10, height: 10 }, 100, 50)).not.toThrow();
    expect(() => assertBoxInFrame({ x: 95, y: 45, width: 10, height: 10 }, 100, 50)).not.toThrow();
    expect(() => assertBoxInFrame({ x: 100, y: 10, width: 10, height: 10 }, 100, 50)).toThrow(/outside the 100x50 frame/);
    expect(() => assertBoxInFrame({ x: -10, y: 10, width: 10, height: 10 }, 100, 50)).toThrow(/outside/);
    expect(() => assertBoxInFrame({ x: 10, y: 50, width: 10, height: 10 }, 100, 50)).toThrow(/outside/);
    // Less than one pixel of area inside the frame: too small, or a sliver at the border.
    expect(() => assertBoxInFrame({ x: 20, y: 20, width: 0.2, height: 0.2 }, 100, 50)).toThrow(/covers 0\.04 pixel\(s\) of the 100x50 frame; at least 1 is needed/);
    expect(() => assertBoxInFrame({ x: -9.5, y: 10, width: 10, height: 1 }, 100, 50)).toThrow(/covers 0\.5 pixel/);
    expect(() => assertBoxInFrame({ x: 20, y: 20, width: 0.5, height: 2 }, 100, 50)).not.toThrow();
  });

  it('errors are DyTrackErrors with stable codes', () => {
    try {
      assertValidBox({ x: 0, y: 0, width: 0, height: 0 });
    } catch (e) {
      expect(e).toBeInstanceOf(DyTrackError);
      expect((e as DyTrackError).code).toBe('INVALID_BOX');
    }
    expect.assertions(2);
  });
});

describe('tensors', () => {
  it('counts elements', () => {
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([])).toBe(1);
    expect(elementCount([5, 0])).toBe(0);
  });
});

describe('model sources', () => {
  const bytes = new TextEncoder().encode('not really onnx, but bytes');
  const hash = createHash('sha256').update(bytes).digest('hex');

  it('sha256Hex agrees with node:crypto', async () => {
    expect(await sha256Hex(bytes)).toBe(hash);
    expect(await sha256Hex(new Uint8Array(0))).toBe(createHash('sha256').digest('hex'));
  });

  const manifest = parseManifest({
    format: 'dytrack.model',
    version: 1,
    name: 'one-stage',
    input: {
      template: { size: 16, contextFactor: 2 },
      search: { size: 32, contextFactor: 4 },
      normalization: { mean: [0, 0, 0], std: [1, 1, 1] },
    },
    head: { mapSize: 4, stride: 8 },
    stages: [
      {
        name: 's0',
        file: 's0.onnx',
        sha256: hash,
        exit: { defaultThreshold: 0.5 },
        inputs: [{ name: 'search', dtype: 'float32', shape: [1, 3, 32, 32], source: { kind: 'search-image' } }],
        outputs: [
          { name: 'score', dtype: 'float32', shape: [1, 1, 4, 4], role: 'score-map' },
          { name: 'size', dtype: 'float32', shape: [1, 2, 4, 4], role: 'size-map' },
          { name: 'offset', dtype: 'float32', shape: [1, 2, 4, 4], role: 'offset-map' },
          { name: 'iou', dtype: 'float32', shape: [1, 1], role: 'terminating-score' },
        ],
      },
    ],
  });

  it('inMemoryModel returns files whose hash matches', async () => {
    const source = inMemoryModel(manifest, { 's0.onnx': bytes });
    expect(await source.readFile('s0.onnx')).toBe(bytes);
    expect(await inMemoryModel(manifest, new Map([['s0.onnx', bytes]])).readFile('s0.onnx')).toBe(bytes);
    await expect(inMemoryModel(manifest, {}).readFile('toString')).rejects.toThrow(/not among/); // no prototype lookups
  });

  it('inMemoryModel rejects a file that does not belong to the manifest, and a missing file', async () => {
    const tampered = inMemoryModel(manifest, { 's0.onnx': new TextEncoder().encode('other bytes') });
    await expect(tampered.readFile('s0.onnx')).rejects.toThrow(ModelMismatchError);
    await expect(tampered.readFile('s0.onnx')).rejects.toThrow(/s0.onnx: sha256 is [0-9a-f]{64} but the manifest says/);
    await expect(inMemoryModel(manifest, {}).readFile('s0.onnx')).rejects.toThrow(/not among the model's files/);
  });
});
