import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError } from '@dytrack/core';
import type { FloatDType, Value } from '@dytrack/onnx';
import { Graph, OPSET_VERSION, readModel, serializeModel } from '@dytrack/onnx';

async function run(g: Graph, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(serializeModel(g));
  try {
    return (await session.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await session.release();
  }
}

function seq(n: number, scale = 0.1, offset = 0): number[] {
  return Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + offset) * scale * (1 + (i % 3)));
}

/** The same builder code, emitted in either float type. */
function buildMlp(dtype: FloatDType): Graph {
  const g = new Graph({ dtype });
  const Arr = dtype === 'float64' ? Float64Array : Float32Array;
  const x = g.input('x', dtype, [2, 3]);
  const h = g.scope('fc1', () => g.gelu(g.add(g.matmul(x, g.initializer('w', [3, 4], Arr.from(seq(12, 0.5)))), g.initializer('b', [4], Arr.from(seq(4, 0.2, 1)))), 'tanh'));
  const n = g.scope('norm', () => g.layerNorm(h, g.initializer('scale', [4], Arr.from([1, 2, 0.5, 1])), g.initializer('bias', [4], Arr.from([0, 0.1, 0, -0.1]))));
  g.output(g.softmax(n, -1), 'p');
  return g;
}

function referenceMlp(x: number[]): number[] {
  const w = seq(12, 0.5);
  const b = seq(4, 0.2, 1);
  const scale = [1, 2, 0.5, 1];
  const bias = [0, 0.1, 0, -0.1];
  const out: number[] = [];
  for (let r = 0; r < 2; r++) {
    const h = [0, 1, 2, 3].map((j) => {
      let s = b[j];
      for (let k = 0; k < 3; k++) s += x[r * 3 + k] * w[k * 4 + j];
      return 0.5 * s * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (s + 0.044715 * s ** 3)));
    });
    const mean = h.reduce((a, c) => a + c, 0) / 4;
    const variance = h.reduce((a, c) => a + (c - mean) ** 2, 0) / 4;
    const n = h.map((v, j) => ((v - mean) / Math.sqrt(variance + 1e-5)) * scale[j] + bias[j]);
    const m = Math.max(...n);
    const e = n.map((v) => Math.exp(v - m));
    const z = e.reduce((a, c) => a + c, 0);
    out.push(...e.map((v) => v / z));
  }
  return out;
}

describe('Graph', () => {
  const xData = [0.3, -1.2, 2.0, 0.7, 0.1, -0.4];

  it('emits the same network in float64 and float32, matching a TypeScript reference', async () => {
    const want = referenceMlp(xData);
    const r64 = await run(buildMlp('float64'), { x: new ort.Tensor('float64', Float64Array.from(xData), [2, 3]) });
    expect(r64.p.type).toBe('float64');
    [...(r64.p.data as Float64Array)].forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
    const r32 = await run(buildMlp('float32'), { x: new ort.Tensor('float32', Float32Array.from(xData), [2, 3]) });
    expect(r32.p.type).toBe('float32');
    [...(r32.p.data as Float32Array)].forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
  });

  it('scopes node, initializer and intermediate names but keeps inputs and outputs exact', () => {
    const g = buildMlp('float32');
    expect(g.initializers.map((i) => i.value.name)).toEqual(['fc1/w', 'fc1/b', 'norm/scale', 'norm/bias']);
    expect(g.nodes.some((n) => n.name.startsWith('fc1/gelu/'))).toBe(true);
    expect(g.nodes.find((n) => n.opType === 'LayerNormalization')!.name).toBe('norm/LayerNormalization');
    expect(g.inputs.map((v) => v.name)).toEqual(['x']);
    expect(g.outputs.map((v) => v.name)).toEqual(['p']);
    const h = new Graph();
    const a = h.input('a', 'float32', [1]);
    const names = h.scope('s', () => [h.neg(a).name, h.neg(a).name]);
    expect(names).toEqual(['s/Neg_out', 's/Neg_1_out']);
    expect(h.scope('outer', () => h.scope('inner', () => h.scopePrefix))).toBe('outer/inner/');
    expect(h.scopePrefix).toBe('');
  });

  it('infers shapes that agree with what onnxruntime computes', async () => {
    const g = new Graph({ dtype: 'float32' });
    const x = g.input('x', 'float32', [2, 3, 4]);
    const y = g.input('y', 'float32', [4, 5]);
    const idx = g.input('idx', 'int64', [2, 2]);
    const checks: Value[] = [
      g.matmul(x, y),
      g.add(x, g.input('row', 'float32', [1, 4])),
      g.transpose(x, [2, 0, 1]),
      g.transpose(x),
      g.reshape(x, [6, -1]),
      g.reshape(x, [0, -1]),
      g.concat([x, x], 1),
      ...g.split(x, [1, 3], 2),
      g.slice(x, [1, 0], [3, 4], [2, 1], [1, 2]),
      g.slice(x, [-1], [-4], [1], [-1]),
      g.gather(x, idx, 1),
      g.unsqueeze(x, [0, -1]),
      g.squeeze(g.reduceSum(x, [1]), [1]),
      g.reduceMean(x, [0, 2], false),
      g.reduceMax(x),
      g.expand(g.input('col', 'float32', [3, 1]), [2, 3, 4]),
      g.where(g.greater(x, 0), x, g.scalar(0)),
      g.gemm(g.reshape(x, [6, 4]), y, undefined, {}),
      g.gemm(y, g.reshape(x, [6, 4]), undefined, { transA: true, transB: true }),
      g.clip(x, -1, 1),
      g.cast(x, 'int64'),
      g.shapeOf(x),
      g.layerNorm(x, g.initializer('s', [3, 4], new Float32Array(12).fill(1)), undefined, { axis: 1 }),
      g.op('Pad', [x, g.ints([0, 1, 2, 0, 0, 3])]),
      g.op('Tile', [x, g.ints([1, 2, 3])]),
      g.op('ArgMax', [x], { axis: 1, keepdims: 0 }),
      g.op('ArgMin', [x], { axis: -1 }),
      g.op('ScatterND', [x, g.constant(BigInt64Array.from([1n]), [1, 1]), g.slice(x, [0], [1], [0])]),
    ];
    checks.forEach((v, i) => g.output(v, `o${i}`));
    const feeds = {
      x: new ort.Tensor('float32', Float32Array.from(seq(24)), [2, 3, 4]),
      y: new ort.Tensor('float32', Float32Array.from(seq(20)), [4, 5]),
      idx: new ort.Tensor('int64', BigInt64Array.from([0n, 2n, 1n, 1n]), [2, 2]),
      row: new ort.Tensor('float32', Float32Array.from(seq(4)), [1, 4]),
      col: new ort.Tensor('float32', Float32Array.from(seq(3)), [3, 1]),
    };
    const result = await run(g, feeds);
    checks.forEach((v, i) => {
      expect(v.shape, `output o${i} (${g.producer(v)?.opType})`).toEqual([...result[`o${i}`].dims]);
      expect(v.dtype, `output o${i}`).toBe(result[`o${i}`].type);
    });
  });

  it('serialises opset 18 and reads inputs, outputs and initializer data back', () => {
    const g = buildMlp('float64');
    g.initializer('steps', [2], BigInt64Array.from([3n, -4n]));
    const summary = readModel(serializeModel(g, { metadata: { variant: 'tiny' }, prune: false }));
    expect(summary.opsets['']).toBe(OPSET_VERSION);
    expect(summary.inputs).toEqual([{ name: 'x', dtype: 'float64', shape: [2, 3] }]);
    expect(summary.outputs).toEqual([{ name: 'p', dtype: 'float64', shape: [2, 4] }]);
    expect(summary.metadata).toEqual({ variant: 'tiny' });
    const w = summary.initializers.find((i) => i.name === 'fc1/w')!;
    expect(w.dims).toEqual([3, 4]);
    expect([...w.data]).toEqual(seq(12, 0.5));
    expect(summary.initializers.find((i) => i.name === 'steps')!.data).toEqual(BigInt64Array.from([3n, -4n]));
    expect(summary.nodes.filter((n) => n.opType === 'MatMul')).toHaveLength(1);
    expect(() => readModel(Uint8Array.from([0xff, 0xff, 0xff]))).toThrow(InvalidArgumentError);
  });

  it('inlines one graph into another under a scope', async () => {
    const inner = new Graph({ dtype: 'float32' });
    const a = inner.input('a', 'float32', [3]);
    inner.output(inner.mul(a, inner.initializer('k', [3], Float32Array.from([1, 2, 3]))), 'out');
    const outer = new Graph({ dtype: 'float32' });
    const x = outer.input('x', 'float32', [3]);
    const first = outer.inline(inner, { a: x }, 'first').out;
    const second = outer.inline(inner, { a: first }, 'second').out;
    outer.output(second, 'y');
    expect(outer.initializers.map((i) => i.value.name)).toEqual(['first/k', 'second/k']);
    expect(second.shape).toEqual([3]);
    const r = await run(outer, { x: new ort.Tensor('float32', Float32Array.from([1, 1, 1]), [3]) });
    expect([...(r.y.data as Float32Array)]).toEqual([1, 4, 9]);
    expect(() => outer.inline(inner, {}, 'third')).toThrow(/no feed for input a/);
  });

  it('rejects bad graphs at build time with clear errors', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2, 3]);
    expect(() => g.input('x', 'float32', [1])).toThrow(/already used/);
    expect(() => g.matmul(x, x)).toThrow(/inner dimensions/);
    expect(() => g.add(x, g.input('z', 'float32', [4]))).toThrow(/broadcast/);
    expect(() => g.add(x, g.input('i', 'int64', [3]))).toThrow(/dtypes differ/);
    expect(() => g.reshape(x, [4, -1])).toThrow(/cannot reshape/);
    expect(() => g.transpose(x, [0])).toThrow(/perm/);
    expect(() => g.softmax(g.concat([x], 5))).toThrow(/axis 5/);
    expect(() => g.initializer('w', [2, 2], new Float32Array(3))).toThrow(/need 4 elements/);
    expect(g.constant([1, 0], [2], 'bool').dtype).toBe('bool');
    expect(() => new Graph().neg(x)).toThrow(/another graph/);
    expect(() => serializeModel(new Graph())).toThrow(/no outputs/);
    expect(() => new Graph({ dtype: 'int32' as FloatDType })).toThrow(InvalidArgumentError);
  });

  it('prunes nodes and initializers no output depends on, unless asked not to', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const unusedInput = g.input('unused', 'float32', [2]);
    g.exp(g.add(x, g.initializer('dead', [2], new Float32Array(2))));
    g.output(g.neg(x), 'y');
    const pruned = readModel(serializeModel(g));
    expect(pruned.nodes.map((n) => n.opType)).toEqual(['Neg', 'Identity']);
    expect(pruned.initializers).toEqual([]);
    expect(pruned.inputs.map((i) => i.name)).toEqual(['x', unusedInput.name]);
    const full = readModel(serializeModel(g, { prune: false }));
    expect(full.nodes.map((n) => n.opType)).toEqual(['Add', 'Exp', 'Neg', 'Identity']);
    expect(full.initializers.map((i) => i.name)).toEqual(['dead']);
  });

  it('adds generic ops with explicit output counts', async () => {
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [4, 2]);
    const [top, rest] = g.op('Split', [x, g.ints([1, 3])], { axis: 0 }, 2);
    expect(top.shape).toEqual([1, 2]);
    g.output(g.op('Sum', [top, rest]), 's');
    const r = await run(g, { x: new ort.Tensor('float64', Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [4, 2]) });
    expect([...(r.s.data as Float64Array)]).toEqual([4, 6, 6, 8, 8, 10]);
  });
});

describe('Graph.conv and Graph.convTranspose', () => {
  const cases: { name: string; x: number[]; w: number[]; transpose?: boolean; options: Parameters<Graph['conv']>[3] & { outputPadding?: number[] }; expected: number[] }[] = [
    { name: '3x3, pads 1', x: [2, 3, 5, 4], w: [4, 3, 3, 3], options: { pads: [1, 1, 1, 1] }, expected: [2, 4, 5, 4] },
    { name: 'stride 2, uneven pads', x: [1, 2, 7, 6], w: [3, 2, 3, 2], options: { strides: [2, 2], pads: [1, 0, 0, 1] }, expected: [1, 3, 3, 3] },
    { name: 'dilation 2, groups 2', x: [1, 4, 9, 9], w: [6, 2, 3, 3], options: { dilations: [2, 2], group: 2 }, expected: [1, 6, 5, 5] },
    { name: '1-d, stride 3', x: [2, 3, 9], w: [2, 3, 4], options: { strides: [3], pads: [1, 2] }, expected: [2, 2, 3] },
    { name: 'transposed, stride 3, output padding 2', x: [1, 2, 2, 2], w: [2, 1, 3, 3], transpose: true, options: { strides: [3, 3], outputPadding: [2, 2] }, expected: [1, 1, 8, 8] },
    { name: 'transposed, groups 2, pads 1', x: [1, 4, 5, 5], w: [4, 3, 3, 3], transpose: true, options: { group: 2, pads: [1, 1, 1, 1] }, expected: [1, 6, 5, 5] },
  ];
  for (const c of cases) {
    it(`infers the shape onnxruntime computes: ${c.name}`, async () => {
      const g = new Graph({ dtype: 'float32' });
      const x = g.input('x', 'float32', c.x);
      const w = g.input('w', 'float32', c.w);
      const y = c.transpose ? g.convTranspose(x, w, undefined, c.options) : g.conv(x, w, undefined, c.options);
      expect(y.staticShape()).toEqual(c.expected);
      g.output(y, 'y');
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const r = await run(g, { x: new ort.Tensor('float32', new Float32Array(size(c.x)).fill(1), c.x), w: new ort.Tensor('float32', new Float32Array(size(c.w)).fill(1), c.w) });
      expect(r.y.dims).toEqual(c.expected);
    });
  }

  it('names a channel count that does not match the weight', () => {
    const g = new Graph({ dtype: 'float32' });
    const x = g.input('x', 'float32', [1, 3, 5, 5]);
    const w = g.input('w', 'float32', [4, 2, 3, 3]);
    expect(() => g.conv(x, w)).toThrow(InvalidArgumentError);
    expect(() => g.conv(x, w)).toThrow(/3 channels.*expects 2/);
    expect(() => g.conv(x, g.input('w2', 'float32', [4, 3, 3, 3]), undefined, { strides: [0, 1] })).toThrow(/strides must be integers >= 1/);
    expect(() => g.conv(g.input('small', 'float32', [1, 3, 2, 2]), g.input('w3', 'float32', [4, 3, 3, 3]))).toThrow(/empty output/);
  });
});
