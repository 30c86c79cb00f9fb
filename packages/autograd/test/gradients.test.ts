import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { Graph, serializeModel } from '@dytrack/onnx';
import { DyTrackError } from '@dytrack/core';
import { NoGradientRuleError, gradients, stopGradient, sumToShape } from '@dytrack/autograd';

async function run(g: Graph, feeds: Record<string, number[]>, shapes: Record<string, number[]>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(serializeModel(g));
  const out = await session.run(Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor('float64', Float64Array.from(v), shapes[k])])));
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...(v.data as Float64Array)]]));
}

describe('gradients', () => {
  it('fails at build time, naming the op, when an op on the path has no rule', () => {
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [3]);
    const loss = g.reduceSum(g.op('Softplus', [x]), undefined, false);
    let error: unknown;
    try {
      gradients(g, loss, [x]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(NoGradientRuleError);
    expect((error as NoGradientRuleError).opType).toBe('Softplus');
    expect((error as DyTrackError).code).toBe('UNSUPPORTED');
    expect(String(error)).toMatch(/Softplus/);
    // Nothing was emitted before the failure.
    expect(g.nodes.map((n) => n.opType)).toEqual(['Softplus', 'ReduceSum']);
  });

  it('accepts extra rules for ops it does not know', async () => {
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [3]);
    const loss = g.reduceSum(g.op('Softplus', [x]), undefined, false);
    const [dx] = gradients(g, loss, [x], { rules: { Softplus: ({ g: gg, node, dy }) => [gg.mul(dy[0]!, gg.sigmoid(node.inputs[0]!))] } });
    g.output(dx, 'dx');
    const r = await run(g, { x: [-1, 0, 2] }, { x: [3] });
    r.dx.forEach((v, i) => expect(v).toBeCloseTo(1 / (1 + Math.exp(-[-1, 0, 2][i])), 12));
  });

  it('ignores ops without rules off the path, and unused branches', async () => {
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [2, 2]);
    const w = g.input('w', 'float64', [2, 2]);
    const unused = g.op('Softplus', [g.matmul(x, w)]); // no rule, but not on the path to the loss
    g.output(unused, 'side');
    const fromData = g.op('Softplus', [x]); // no rule, depends only on a value we do not differentiate
    const loss = g.reduceSum(g.mul(g.matmul(fromData, w), w), undefined, false);
    const before = g.nodes.length;
    const [dw] = gradients(g, loss, [w]);
    const backwardOps = g.nodes.slice(before).map((n) => n.opType);
    expect(backwardOps).not.toContain('Softplus');
    g.output(dw, 'dw');
    const xs = [0.1, -0.2, 0.3, 0.4];
    const ws = [1, 2, -1, 0.5];
    const r = await run(g, { x: xs, w: ws }, { x: [2, 2], w: [2, 2] });
    const sp = xs.map((v) => Math.log1p(Math.exp(v)));
    // loss = sum((sp @ w) * w) ; d/dw = sp^T @ w + (sp @ w)
    const spw = [0, 1, 2, 3].map((i) => sp[Math.floor(i / 2) * 2] * ws[i % 2] + sp[Math.floor(i / 2) * 2 + 1] * ws[2 + (i % 2)]);
    const want = [0, 1, 2, 3].map((i) => {
      const [k, j] = [Math.floor(i / 2), i % 2];
      return sp[k] * ws[j] + sp[2 + k] * ws[2 + j] + spw[i];
    });
    r.dw.forEach((v, i) => expect(v).toBeCloseTo(want[i], 12));
  });

  it('stops gradients at stopGradient and stopAt, and returns zeros for unreachable values', async () => {
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [3]);
    const unrelated = g.input('u', 'float64', [2]);
    // loss = sum(x * stop(x)) -> d/dx = stop(x) = x (not 2x).
    const loss = g.reduceSum(g.mul(x, stopGradient(g, x)), undefined, false);
    const [dx, du] = gradients(g, loss, [x, unrelated]);
    const y = g.mul(x, x);
    const loss2 = g.reduceSum(g.mul(y, x), undefined, false);
    const [dx2] = gradients(g, loss2, [x], { stopAt: [y] });
    g.output(dx, 'dx');
    g.output(du, 'du');
    g.output(dx2, 'dx2');
    const r = await run(g, { x: [1, -2, 3], u: [5, 6] }, { x: [3], u: [2] });
    expect(r.dx).toEqual([1, -2, 3]);
    expect(r.du).toEqual([0, 0]);
    expect(r.dx2).toEqual([1, 4, 9]);
  });

  it('accumulates gradients of values used several times, through integer side paths', async () => {
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [2, 3]);
    // Shape and comparisons carry no gradient; Where routes it.
    const mask = g.greater(x, 0);
    const y = g.add(g.where(mask, g.mul(x, x), g.neg(x)), g.reshape(x, g.shapeOf(x)));
    const loss = g.reduceSum(y, undefined, false);
    const [dx] = gradients(g, loss, [x]);
    g.output(dx, 'dx');
    const xs = [1, -1, 2, -3, 0.5, -0.5];
    const r = await run(g, { x: xs }, { x: [2, 3] });
    r.dx.forEach((v, i) => expect(v).toBeCloseTo((xs[i] > 0 ? 2 * xs[i] : -1) + 1, 12));
  });

  it('reduces broadcast gradients to the input shape', async () => {
    const g = new Graph({ dtype: 'float64' });
    const grad = g.input('g', 'float64', [2, 3, 4]);
    g.output(sumToShape(g, grad, [3, 1]), 'a');
    g.output(sumToShape(g, grad, [1, 1, 4]), 'b');
    expect(() => sumToShape(g, grad, [2, 4])).toThrow(/cannot reduce/);
    const data = Array.from({ length: 24 }, (_, i) => i);
    const r = await run(g, { g: data }, { g: [2, 3, 4] });
    expect(r.a).toEqual([0, 1, 2].map((j) => data.filter((_, i) => Math.floor(i / 4) % 3 === j).reduce((s, v) => s + v, 0)));
    expect(r.b).toEqual([0, 1, 2, 3].map((k) => data.filter((_, i) => i % 4 === k).reduce((s, v) => s + v, 0)));
  });

  it('takes the output gradient of a non-scalar loss as a seed', async () => {
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [3]);
    const seed = g.input('seed', 'float64', [3]);
    const [dx] = gradients(g, g.mul(x, x), [x], { seed });
    g.output(dx, 'dx');
    const r = await run(g, { x: [1, 2, 3], seed: [1, 0, -2] }, { x: [3], seed: [3] });
    expect(r.dx).toEqual([2, 0, -12]);
    expect(() => gradients(g, g.mul(x, x), [x], { seed: g.input('bad', 'float64', [2]) })).toThrow(/seed/);
  });

  it('uses a gradient override (Graph.setGradient) instead of the chain rule through its parts: GELU', async () => {
    const xs = Array.from({ length: 41 }, (_, i) => -8 + 0.4 * i);
    const c = Math.sqrt(2 / Math.PI);
    // The same tanh GELU written out from its parts, differentiated op by op.
    const parts = new Graph({ dtype: 'float64' });
    const px = parts.input('x', 'float64', [41]);
    const pt = parts.tanh(parts.mul(parts.add(px, parts.mul(parts.mul(parts.mul(px, px), px), 0.044715)), c));
    const py = parts.mul(parts.mul(px, 0.5), parts.add(pt, 1));
    parts.output(py, 'y');
    parts.output(gradients(parts, parts.reduceSum(parts.mul(py, 3), undefined, false), [px])[0]!, 'dx');
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [41]);
    const y = g.gelu(x, 'tanh');
    expect(g.gradientOverride(y)?.inputs).toEqual([x]);
    g.output(y, 'y');
    const before = g.nodes.length;
    g.output(gradients(g, g.reduceSum(g.mul(y, 3), undefined, false), [x])[0]!, 'dx');
    const backward = g.nodes.slice(before);
    const want = await run(parts, { x: xs }, { x: [41] });
    const got = await run(g, { x: xs }, { x: [41] });
    expect(got.y).toEqual(want.y);
    got.dx.forEach((v, i) => expect(v).toBeCloseTo(want.dx[i]!, 12));
    // Closed form: no five-way sum of x's gradient contributions, and fewer nodes.
    expect(backward.some((n) => n.opType === 'Sum')).toBe(false);
    expect(backward.length).toBeLessThan(parts.nodes.length - 7);

    const bad = new Graph({ dtype: 'float64' });
    const bx = bad.input('x', 'float64', [3]);
    const by = bad.mul(bx, 2);
    bad.setGradient(by, { inputs: [bx], backward: (dy) => [bad.reduceSum(dy, undefined, false)] });
    expect(() => gradients(bad, bad.reduceSum(by, undefined, false), [bx])).toThrow(/gradient override of .* returned shape \[\] for x of shape \[3\]/);
    expect(() => bad.setGradient(bx, { inputs: [], backward: () => [] })).toThrow(/x is not computed by a node/);
  });

  it('rejects bad arguments', () => {
    const g = new Graph({ dtype: 'float64' });
    const x = g.input('x', 'float64', [3]);
    const i = g.input('i', 'int64', [3]);
    const loss = g.reduceSum(x, undefined, false);
    expect(() => gradients(g, loss, [i])).toThrow(/int64/);
    expect(() => gradients(new Graph(), loss, [x])).toThrow(/another graph/);
    const sym = g.input('s', 'float64', ['n']);
    expect(() => gradients(g, g.reduceSum(g.mul(sym, sym), undefined, false), [sym])).toThrow(/no static shape/);
  });
});
