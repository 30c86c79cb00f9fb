import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph, serializeModel, type ConvOptions, type Value } from '@dytrack/onnx';
import { gradients } from '@dytrack/autograd';
import { rng } from './gradcheck.js';

/** Gradients of Σ y·r for x, w and b, where y = build(x, w, b); float32 (onnxruntime has no float64 Conv). */
async function convGradients(
  shapes: { x: number[]; w: number[]; y: number[] },
  build: (g: Graph, x: Value, w: Value, b: Value) => Value,
  data: { x: Float32Array; w: Float32Array; b: Float32Array; r: Float32Array },
): Promise<Float32Array[]> {
  const g = new Graph({ dtype: 'float32' });
  const x = g.input('x', 'float32', shapes.x);
  const w = g.input('w', 'float32', shapes.w);
  const b = g.input('b', 'float32', [shapes.w[0]!]);
  const y = build(g, x, w, b);
  expect(y.staticShape()).toEqual(shapes.y);
  const loss = g.reduceSum(g.mul(y, g.input('r', 'float32', shapes.y)), undefined, false);
  g.output(loss, 'loss');
  gradients(g, loss, [x, w, b]).forEach((d, i) => g.output(d, `d${i}`));
  const session = await ort.InferenceSession.create(serializeModel(g));
  const out = await session.run({
    x: new ort.Tensor('float32', data.x, shapes.x),
    w: new ort.Tensor('float32', data.w, shapes.w),
    b: new ort.Tensor('float32', data.b, [shapes.w[0]!]),
    r: new ort.Tensor('float32', data.r, shapes.y),
  });
  await session.release();
  return [0, 1, 2].map((i) => out[`d${i}`]!.data as Float32Array);
}

function random(n: number, r: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

describe('Conv gradient', () => {
  it('of a grouped convolution equals that of the same convolution split into one Conv per group', async () => {
    // The grouped rule (every channel pair, then the within-group blocks) against group-1
    // convolutions on channel slices, whose rules the finite-difference checks cover.
    const [N, C, M, G] = [2, 6, 9, 3];
    const options: ConvOptions = { strides: [2, 1], pads: [1, 1, 0, 1], dilations: [1, 2] };
    const shapes = { x: [N, C, 7, 6], w: [M, C / G, 3, 2], y: [N, M, 3, 6] };
    const r = rng(11);
    const data = { x: random(N * C * 42, r), w: random(M * (C / G) * 6, r), b: random(M, r), r: random(N * M * 18, r) };
    const grouped = await convGradients(shapes, (g, x, w, b) => g.conv(x, w, b, { ...options, group: G }), data);
    const split = await convGradients(
      shapes,
      (g, x, w, b) =>
        g.concat(
          Array.from({ length: G }, (_, k) =>
            g.conv(
              g.slice(x, [k * (C / G)], [(k + 1) * (C / G)], [1]),
              g.slice(w, [k * (M / G)], [(k + 1) * (M / G)], [0]),
              g.slice(b, [k * (M / G)], [(k + 1) * (M / G)], [0]),
              options,
            ),
          ),
          1,
        ),
      data,
    );
    for (let i = 0; i < 3; i++) {
      expect(grouped[i]!.length).toBe(split[i]!.length);
      let worst = 0;
      for (let k = 0; k < split[i]!.length; k++) worst = Math.max(worst, Math.abs(grouped[i]![k]! - split[i]![k]!));
      expect(worst, `gradient ${i}`).toBeLessThan(1e-5);
    }
  });

  it('refuses auto_pad SAME at build time, naming it', () => {
    const g = new Graph({ dtype: 'float32' });
    const x = g.input('x', 'float32', [1, 1, 4, 4]);
    const w = g.input('w', 'float32', [1, 1, 3, 3]);
    expect(() => g.op('Conv', [x, w], { auto_pad: 'SAME_UPPER' })).toThrow(/auto_pad SAME_UPPER/);
  });
});
