import { describe, expect, it } from 'vitest';
import type { Value } from '@dytrack/onnx';
import type { GradCase } from './gradcheck.js';
import { checkGradients, rng } from './gradcheck.js';

const pos = [0.5, 2] as const;

/** Float64 checks of every built-in rule, with broadcasting, size-1 and non-contiguous axes. */
const cases: GradCase[] = [
  { name: 'Add broadcast [2,3,4]+[3,1]', op: 'Add', inputs: [{ shape: [2, 3, 4] }, { shape: [3, 1] }], build: (g, [a, b]) => g.add(a, b) },
  { name: 'Add broadcast [1,4]+[2,3,4]', op: 'Add', inputs: [{ shape: [1, 4] }, { shape: [2, 3, 4] }], build: (g, [a, b]) => g.add(a, b) },
  { name: 'Sub broadcast [2,1,4]-[3,1]', op: 'Sub', inputs: [{ shape: [2, 1, 4] }, { shape: [3, 1] }], build: (g, [a, b]) => g.sub(a, b) },
  { name: 'Mul broadcast [4]*[2,3,4]', op: 'Mul', inputs: [{ shape: [4] }, { shape: [2, 3, 4] }], build: (g, [a, b]) => g.mul(a, b) },
  { name: 'Mul same input twice', op: 'Mul', inputs: [{ shape: [2, 3] }], build: (g, [a]) => g.mul(a, a) },
  { name: 'Div broadcast [2,3]/[1,3]', op: 'Div', inputs: [{ shape: [2, 3] }, { shape: [1, 3], range: pos }], build: (g, [a, b]) => g.div(a, b) },
  { name: 'Neg', op: 'Neg', inputs: [{ shape: [3, 2] }], build: (g, [a]) => g.neg(a) },
  { name: 'Exp', op: 'Exp', inputs: [{ shape: [3, 2] }], build: (g, [a]) => g.exp(a) },
  { name: 'Log', op: 'Log', inputs: [{ shape: [3, 2], range: pos }], build: (g, [a]) => g.log(a) },
  { name: 'Sqrt', op: 'Sqrt', inputs: [{ shape: [3, 2], range: pos }], build: (g, [a]) => g.sqrt(a) },
  { name: 'Reciprocal', op: 'Reciprocal', inputs: [{ shape: [4], range: pos }], build: (g, [a]) => g.op('Reciprocal', [a]) },
  { name: 'Pow broadcast base and exponent', op: 'Pow', inputs: [{ shape: [2, 3], range: pos }, { shape: [3] }], build: (g, [a, b]) => g.pow(a, b) },
  { name: 'Pow constant exponent', op: 'Pow', inputs: [{ shape: [2, 3] }], build: (g, [a]) => g.pow(a, 2) },
  { name: 'Tanh', op: 'Tanh', inputs: [{ shape: [2, 3] }], build: (g, [a]) => g.tanh(a) },
  { name: 'Sigmoid', op: 'Sigmoid', inputs: [{ shape: [2, 3] }], build: (g, [a]) => g.sigmoid(a) },
  { name: 'Relu', op: 'Relu', inputs: [{ shape: [3, 4] }], build: (g, [a]) => g.relu(a) },
  { name: 'Abs', op: 'Abs', inputs: [{ shape: [3, 4] }], build: (g, [a]) => g.abs(a) },
  { name: 'Erf (float32)', op: 'Erf', dtype: 'float32', inputs: [{ shape: [2, 3] }], build: (g, [a]) => g.erf(a) },
  // Written out from its parts: g.gelu's own closed-form gradient is checked against this in gradients.test.ts.
  {
    name: 'GELU tanh form, from its parts',
    op: 'Tanh',
    inputs: [{ shape: [2, 5], range: [-3, 3] }],
    build: (g, [a]) => g.mul(g.mul(a, 0.5), g.add(g.tanh(g.mul(g.add(a, g.mul(g.mul(g.mul(a, a), a), 0.044715)), Math.sqrt(2 / Math.PI))), 1)),
  },
  { name: 'GELU erf form (float32)', op: 'Erf', dtype: 'float32', inputs: [{ shape: [2, 5], range: [-3, 3] }], build: (g, [a]) => g.gelu(a, 'none') },
  { name: 'Clip constant bounds', op: 'Clip', inputs: [{ shape: [3, 4] }], build: (g, [a]) => g.clip(a, -0.5, 0.4) },
  { name: 'Clip bounds as inputs', op: 'Clip', inputs: [{ shape: [3, 4] }, { shape: [] , range: [-0.6, -0.4] }, { shape: [], range: [0.3, 0.5] }], build: (g, [a, lo, hi]) => g.clip(a, lo, hi) },
  { name: 'Clip upper only', op: 'Clip', inputs: [{ shape: [5] }], build: (g, [a]) => g.clip(a, undefined, 0) },
  {
    name: 'Where broadcast',
    op: 'Where',
    inputs: [{ shape: [2, 3] }, { shape: [3] }, { shape: [2, 1] }],
    build: (g, [c, a, b]) => g.where(g.greater(c, 0), a, b),
  },
  { name: 'Max broadcast', op: 'Max', inputs: [{ shape: [2, 3] }, { shape: [1, 3] }], build: (g, [a, b]) => g.max(a, b) },
  { name: 'Min broadcast', op: 'Min', inputs: [{ shape: [3, 1] }, { shape: [3, 2] }], build: (g, [a, b]) => g.min(a, b) },
  { name: 'Sum variadic broadcast', op: 'Sum', inputs: [{ shape: [2, 3] }, { shape: [3] }, { shape: [2, 1] }], build: (g, xs) => g.op('Sum', xs) },
  { name: 'MatMul [2,3,4]@[4,5]', op: 'MatMul', inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }], build: (g, [a, b]) => g.matmul(a, b) },
  { name: 'MatMul [2,2,3,4]@[4,5] (weight gradient as one GEMM)', op: 'MatMul', inputs: [{ shape: [2, 2, 3, 4] }, { shape: [4, 5] }], build: (g, [a, b]) => g.matmul(a, b) },
  { name: 'MatMul [3,4]@[2,4,5]', op: 'MatMul', inputs: [{ shape: [3, 4] }, { shape: [2, 4, 5] }], build: (g, [a, b]) => g.matmul(a, b) },
  { name: 'MatMul batch broadcast [2,1,3,4]@[1,2,4,2]', op: 'MatMul', inputs: [{ shape: [2, 1, 3, 4] }, { shape: [1, 2, 4, 2] }], build: (g, [a, b]) => g.matmul(a, b) },
  { name: 'MatMul vector@matrix', op: 'MatMul', inputs: [{ shape: [4] }, { shape: [4, 3] }], build: (g, [a, b]) => g.matmul(a, b) },
  { name: 'MatMul matrix@vector', op: 'MatMul', inputs: [{ shape: [2, 3, 4] }, { shape: [4] }], build: (g, [a, b]) => g.matmul(a, b) },
  { name: 'Gemm plain, C [n]', op: 'Gemm', inputs: [{ shape: [3, 4] }, { shape: [4, 2] }, { shape: [2] }], build: (g, [a, b, c]) => g.gemm(a, b, c) },
  {
    name: 'Gemm transA transB alpha beta, C [1,n]',
    op: 'Gemm',
    inputs: [{ shape: [4, 3] }, { shape: [2, 4] }, { shape: [1, 2] }],
    build: (g, [a, b, c]) => g.gemm(a, b, c, { transA: true, transB: true, alpha: 0.7, beta: 1.3 }),
  },
  { name: 'Softmax axis 1 of rank 3', op: 'Softmax', inputs: [{ shape: [2, 3, 4] }], build: (g, [a]) => g.softmax(a, 1) },
  { name: 'Softmax last axis', op: 'Softmax', inputs: [{ shape: [3, 5] }], build: (g, [a]) => g.softmax(a, -1) },
  { name: 'LogSoftmax axis 0', op: 'LogSoftmax', inputs: [{ shape: [3, 4] }], build: (g, [a]) => g.logSoftmax(a, 0) },
  {
    name: 'LayerNormalization last axis',
    op: 'LayerNormalization',
    inputs: [{ shape: [2, 3, 5] }, { shape: [5] }, { shape: [5] }],
    build: (g, [x, s, b]) => g.layerNorm(x, s, b),
  },
  {
    name: 'LayerNormalization axis 1 (two normalised axes), no bias',
    op: 'LayerNormalization',
    inputs: [{ shape: [2, 3, 4] }, { shape: [3, 4] }],
    build: (g, [x, s]) => g.layerNorm(x, s, undefined, { axis: 1, epsilon: 1e-3 }),
  },
  { name: 'ReduceSum axes [0,2] keepdims 0', op: 'ReduceSum', inputs: [{ shape: [2, 3, 4] }], build: (g, [a]) => g.reduceSum(a, [0, 2], false) },
  { name: 'ReduceSum all', op: 'ReduceSum', inputs: [{ shape: [2, 3] }], build: (g, [a]) => g.mul(g.reduceSum(a), g.reduceSum(a)) },
  { name: 'ReduceMean axis 1 keepdims 1', op: 'ReduceMean', inputs: [{ shape: [2, 3, 4] }], build: (g, [a]) => g.reduceMean(a, [1], true) },
  { name: 'ReduceMean negative axis, size-1', op: 'ReduceMean', inputs: [{ shape: [3, 1, 2] }], build: (g, [a]) => g.reduceMean(a, [-2], false) },
  { name: 'ReduceMax axes [0,2]', op: 'ReduceMax', inputs: [{ shape: [2, 3, 4] }], build: (g, [a]) => g.reduceMax(a, [0, 2], false) },
  { name: 'Reshape', op: 'Reshape', inputs: [{ shape: [2, 3, 4] }], build: (g, [a]) => g.mul(g.reshape(a, [4, -1]), g.reshape(a, [4, -1])) },
  { name: 'Transpose [2,0,1]', op: 'Transpose', inputs: [{ shape: [2, 3, 4] }], build: (g, [a]) => g.transpose(a, [2, 0, 1]) },
  { name: 'Transpose default', op: 'Transpose', inputs: [{ shape: [2, 3] }], build: (g, [a]) => g.transpose(a) },
  { name: 'Concat axis 1 (three inputs)', op: 'Concat', inputs: [{ shape: [2, 1, 3] }, { shape: [2, 2, 3] }, { shape: [2, 3, 3] }], build: (g, xs) => g.concat(xs, 1) },
  { name: 'Split uneven, one piece unused', op: 'Split', inputs: [{ shape: [2, 3, 5] }], build: (g, [a]) => g.split(a, [2, 1, 2], 2)[2] },
  { name: 'Split pieces used twice', op: 'Split', inputs: [{ shape: [4, 3] }], build: (g, [a]) => { const [p, q] = g.split(a, [1, 3], 0); return g.mul(g.add(p, q), q); } },
  { name: 'Slice unit steps on two axes', op: 'Slice', inputs: [{ shape: [3, 4, 5] }], build: (g, [a]) => g.slice(a, [1, -4], [3, 4], [0, 2]) },
  { name: 'Slice step 2 and reversed', op: 'Slice', inputs: [{ shape: [5, 4] }], build: (g, [a]) => g.slice(a, [0, -1], [5, -5], [0, 1], [2, -1]) },
  { name: 'Gather axis 1, 2-D indices with repeats', op: 'Gather', inputs: [{ shape: [2, 4, 3] }], build: (g, [a]) => g.gather(a, g.constant(BigInt64Array.from([0n, 3n, 3n, -1n, 1n, 0n]), [2, 3]), 1) },
  { name: 'Gather axis 0, scalar index', op: 'Gather', inputs: [{ shape: [4, 3] }], build: (g, [a]) => g.gather(a, g.constant(BigInt64Array.from([2n]), []), 0) },
  { name: 'Unsqueeze', op: 'Unsqueeze', inputs: [{ shape: [2, 3] }], build: (g, [a]) => g.add(g.unsqueeze(a, [0, 3]), g.unsqueeze(a, [1, 3])) },
  { name: 'Squeeze', op: 'Squeeze', inputs: [{ shape: [2, 1, 3, 1] }], build: (g, [a]) => g.squeeze(a, [1, 3]) },
  { name: 'Expand [3,1] to [2,3,4]', op: 'Expand', inputs: [{ shape: [3, 1] }], build: (g, [a]) => g.expand(a, [2, 3, 4]) },
  { name: 'Identity', op: 'Identity', inputs: [{ shape: [3] }], build: (g, [a]) => g.mul(g.identity(a), a) },
  // onnxruntime's CPU provider has no float64 Conv: float32, with its looser tolerance.
  { name: 'Conv 3x3, pads 1, bias (float32)', op: 'Conv', dtype: 'float32', inputs: [{ shape: [2, 3, 5, 4] }, { shape: [4, 3, 3, 3] }, { shape: [4] }], build: (g, [x, w, b]) => g.conv(x, w, b, { pads: [1, 1, 1, 1] }) },
  { name: 'Conv stride 2, uneven pads, 3x2 kernel (float32)', op: 'Conv', dtype: 'float32', inputs: [{ shape: [1, 2, 7, 6] }, { shape: [3, 2, 3, 2] }], build: (g, [x, w]) => g.conv(x, w, undefined, { strides: [2, 2], pads: [1, 0, 0, 1] }) },
  { name: 'Conv stride 3, rows the kernel never reaches (float32)', op: 'Conv', dtype: 'float32', inputs: [{ shape: [1, 1, 8, 8] }, { shape: [2, 1, 3, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { strides: [3, 3] }) },
  { name: 'Conv dilation 2 (float32)', op: 'Conv', dtype: 'float32', inputs: [{ shape: [1, 2, 7, 7] }, { shape: [2, 2, 3, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { dilations: [2, 2], pads: [2, 2, 2, 2] }) },
  { name: 'Conv two groups (float32)', op: 'Conv', dtype: 'float32', inputs: [{ shape: [1, 4, 5, 5] }, { shape: [6, 2, 3, 3] }, { shape: [6] }], build: (g, [x, w, b]) => g.conv(x, w, b, { group: 2, pads: [1, 1, 1, 1] }) },
  { name: 'Conv depthwise, stride 2 (float32)', op: 'Conv', dtype: 'float32', inputs: [{ shape: [1, 3, 6, 6] }, { shape: [3, 1, 3, 3] }], build: (g, [x, w]) => g.conv(x, w, undefined, { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: 'Conv 1-d, stride 3 (float32)', op: 'Conv', dtype: 'float32', inputs: [{ shape: [2, 3, 9] }, { shape: [2, 3, 4] }], build: (g, [x, w]) => g.conv(x, w, undefined, { strides: [3], pads: [1, 2] }) },
  { name: 'Cast float64 to float64', op: 'Cast', inputs: [{ shape: [3] }], build: (g, [a]) => g.mul(g.cast(a, 'float64'), a) },
];

describe('gradient rules (finite differences, float64 unless noted)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { worst, worstPerturbed } = await checkGradients(c);
      expect(worst, 'analytic gradient matches finite differences').toBeLessThanOrEqual(1);
      // The same check must catch a 1% error in this op's rule.
      expect(worstPerturbed, 'check detects a perturbed rule').toBeGreaterThan(1);
    });
  }

  it('covers every built-in rule', async () => {
    const { defaultGradientRules } = await import('@dytrack/autograd');
    const tested = new Set(cases.map((c) => c.op));
    const untested = Object.keys(defaultGradientRules).filter((op) => !tested.has(op) && op !== 'Flatten');
    expect(untested).toEqual([]);
  });
});

/** Two random shapes that broadcast together: ranks 0–3, dims 1–3, some axes size 1 on one side. */
function randomBroadcastPair(r: () => number): [number[], number[]] {
  const rank = 1 + Math.floor(r() * 3);
  const full = Array.from({ length: rank }, () => 1 + Math.floor(r() * 3));
  const a = full.map((d) => (r() < 0.3 ? 1 : d));
  const b = full.map((d) => (r() < 0.3 ? 1 : d)).slice(Math.floor(r() * (rank + 1)));
  return r() < 0.5 ? [a, b] : [b, a];
}

describe('gradient rules on random broadcast shapes (float64)', () => {
  const r = rng(2024);
  const ops: [string, (g: Parameters<GradCase['build']>[0], a: Value, b: Value) => Value, boolean][] = [
    ['Add', (g, a, b) => g.add(a, b), false],
    ['Sub', (g, a, b) => g.sub(a, b), false],
    ['Mul', (g, a, b) => g.mul(a, b), false],
    ['Div', (g, a, b) => g.div(a, b), true],
    ['Pow', (g, a, b) => g.pow(a, b), true],
    ['Max', (g, a, b) => g.max(a, b), false],
    ['Min', (g, a, b) => g.min(a, b), false],
    ['Where', (g, a, b) => g.where(g.greater(a, b), a, b), false],
  ];
  for (const [op, build, positive] of ops) {
    for (let k = 0; k < 3; k++) {
      const [sa, sb] = randomBroadcastPair(r);
      const range = positive ? ([0.5, 2] as const) : undefined;
      it(`${op} [${sa.join(',')}] with [${sb.join(',')}]`, async () => {
        const { worst, worstPerturbed } = await checkGradients({ name: op, op, inputs: [{ shape: sa, range }, { shape: sb, range }], build: (g, [a, b]) => build(g, a, b) }, 7 + k);
        expect(worst).toBeLessThanOrEqual(1);
        expect(worstPerturbed).toBeGreaterThan(1);
      });
    }
  }
  for (let k = 0; k < 4; k++) {
    const [ba, bb] = randomBroadcastPair(r);
    const [m, kk, n] = [1 + Math.floor(r() * 3), 1 + Math.floor(r() * 3), 1 + Math.floor(r() * 3)];
    it(`MatMul batch [${ba.join(',')}] x [${bb.join(',')}], ${m}x${kk}x${n}`, async () => {
      const { worst, worstPerturbed } = await checkGradients(
        { name: 'MatMul', op: 'MatMul', inputs: [{ shape: [...ba, m, kk] }, { shape: [...bb, kk, n] }], build: (g, [a, b]) => g.matmul(a, b) },
        k,
      );
      expect(worst).toBeLessThanOrEqual(1);
      expect(worstPerturbed).toBeGreaterThan(1);
    });
  }
});
