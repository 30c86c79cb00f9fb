import { afterAll, describe, expect, it } from 'vitest';
import type { HostTensor } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';
import type { FloatDType, Value } from '@dytrack/onnx';
import { Graph } from '@dytrack/onnx';
import {
  asGoodAsLast,
  asGoodAsLastReference,
  boxLoss,
  boxLossReference,
  boxTarget,
  decisionLoss,
  denseSizeLoss,
  denseSizeLossReference,
  denseOffsetLoss,
  denseOffsetLossReference,
  decisionLossReference,
  decodeBoxes,
  decodeBoxesReference,
  dytrackLoss,
  dytrackLossReference,
  featureMimicLoss,
  featureMimicLossReference,
  focalLoss,
  focalLossReference,
  gaussianHeatmap,
  scoreMapKL,
  scoreMapKLReference,
  tokenMask,
  trackingLoss,
  trackingLossReference,
} from '../src/index.js';
import type { ExitHeadArrays, ExitHeadValues, LossConfig, TrackingTargetArrays } from '../src/index.js';
import { disposeBackend, rng, runGraph, tensor, uniform } from './helpers.js';

afterAll(disposeBackend);

const B = 3;
const N = 4; // map side; 16 search tokens
const C = 8;
const CELLS = N * N;
const CROP = 64;

/** Random head outputs of one exit, in the ranges a trained head produces. */
function randomExit(random: () => number): Required<ExitHeadArrays> & Record<string, Float64Array> {
  return {
    scoreMap: uniform(random, B * CELLS, 0.02, 0.98),
    sizeMap: uniform(random, B * 2 * CELLS, 0.1, 0.6),
    offsetMap: uniform(random, B * 2 * CELLS, 0, 1),
    terminatingScore: uniform(random, B, 0.05, 0.95),
    searchTokens: uniform(random, B * CELLS * C, -2, 2),
  };
}

/** Targets of random boxes built with the package's own builders, as the data pipeline would. */
function randomTargets(random: () => number): Required<TrackingTargetArrays> & Record<string, Float32Array> {
  const heatmap = new Float32Array(B * CELLS);
  const boxes = new Float32Array(B * 4);
  const mask = new Float32Array(B * CELLS);
  for (let b = 0; b < B; b++) {
    const box = { x: random() * 40, y: random() * 40, width: 8 + random() * 30, height: 8 + random() * 30 };
    gaussianHeatmap(box, CROP, N, heatmap, b * CELLS);
    boxTarget(box, CROP, boxes, b * 4);
    tokenMask(box, CROP, N, {}, mask, b * CELLS);
  }
  return { heatmap, boxes, tokenMask: mask };
}

const EXIT_DIMS: Record<string, number[]> = {
  scoreMap: [B, 1, N, N],
  sizeMap: [B, 2, N, N],
  offsetMap: [B, 2, N, N],
  terminatingScore: [B, 1],
  searchTokens: [B, CELLS, C],
};
const TARGET_DIMS: Record<string, number[]> = { heatmap: [B, 1, N, N], boxes: [B, 4], tokenMask: [B, CELLS] };

/** Declares graph inputs for exits and targets and collects their feeds. */
function declare(g: Graph, dtype: FloatDType, exits: readonly Record<string, ArrayLike<number>>[], targets: Record<string, ArrayLike<number>>) {
  const feeds: Record<string, HostTensor> = {};
  const input = (name: string, dims: number[], data: ArrayLike<number>) => {
    feeds[name] = tensor(dtype, dims, data);
    return g.input(name, dtype, dims);
  };
  const exitValues = exits.map((e, k) => {
    const v: Record<string, Value> = {};
    for (const key of Object.keys(e)) v[key] = input(`exit${k}.${key}`, EXIT_DIMS[key], e[key]);
    return v as unknown as Required<ExitHeadValues>;
  });
  const t: Record<string, Value> = {};
  for (const key of Object.keys(targets)) t[key] = input(`target.${key}`, TARGET_DIMS[key], targets[key]);
  return { exits: exitValues, targets: t as { heatmap: Value; boxes: Value; tokenMask: Value }, feeds };
}

/** Rounds every array to float32, so the reference sees exactly what a float32 graph gets. */
function asFloat32<T extends Record<string, ArrayLike<number>>>(o: T): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Float64Array.from(Float32Array.from(v))])) as unknown as T;
}

function expectClose(actual: number, expected: number, relative: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-3);
  expect(err, `${what}: graph ${actual} vs reference ${expected}`).toBeLessThanOrEqual(relative);
}

describe('graph losses agree with their float64 references (onnxruntime, float64)', () => {
  it('every loss on random inputs', async () => {
    const random = rng(42);
    const student = randomExit(random);
    const teacher = randomExit(random);
    const targets = randomTargets(random);
    const g = new Graph({ name: 'losses', dtype: 'float64' });
    const { exits, targets: t, feeds } = declare(g, 'float64', [student, teacher], targets);
    const [s, k] = exits;
    g.output(focalLoss(g, s.scoreMap, t.heatmap), 'focal');
    g.output(focalLoss(g, s.scoreMap, t.heatmap, { alpha: 1.5, beta: 3 }), 'focal_ab');
    const boxes = decodeBoxes(g, s.scoreMap, s.sizeMap, s.offsetMap);
    g.output(boxes, 'boxes');
    const box = boxLoss(g, boxes, t.boxes);
    g.output(box.giou, 'giou');
    g.output(box.l1, 'l1');
    g.output(box.iou, 'iou');
    g.output(decisionLoss(g, s.terminatingScore, box.iou, 'l1'), 'decision_l1');
    g.output(decisionLoss(g, s.terminatingScore, box.iou, 'bce'), 'decision_bce');
    g.output(featureMimicLoss(g, s.searchTokens, k.searchTokens, t.tokenMask), 'feature_mean');
    g.output(featureMimicLoss(g, s.searchTokens, k.searchTokens, t.tokenMask, { reduction: 'sum', epsilon: 1e-5 }), 'feature_sum');
    g.output(scoreMapKL(g, s.scoreMap, k.scoreMap), 'kl');
    g.output(denseSizeLoss(g, s.sizeMap, t.heatmap, t.boxes), 'size_dense');
    g.output(denseOffsetLoss(g, s.offsetMap, t.heatmap, t.boxes), 'offset_dense');
    g.output(scoreMapKL(g, s.sizeMap, k.offsetMap, { input: 'logit', temperature: 3 }), 'kl_logit');
    const out = await runGraph(g, feeds);

    expectClose(out.focal[0], focalLossReference(student.scoreMap, targets.heatmap), 1e-12, 'focal');
    expectClose(out.focal_ab[0], focalLossReference(student.scoreMap, targets.heatmap, { alpha: 1.5, beta: 3 }), 1e-12, 'focal alpha/beta');
    const refBoxes = decodeBoxesReference(student.scoreMap, student.sizeMap, student.offsetMap, B, N);
    expect(Array.from(out.boxes)).toEqual(Array.from(refBoxes).map((v, i) => expect.closeTo(v, 14) as unknown as number));
    const refBox = boxLossReference(refBoxes, targets.boxes, B);
    expectClose(out.giou[0], refBox.giou, 1e-12, 'giou');
    expectClose(out.l1[0], refBox.l1, 1e-12, 'l1');
    refBox.iou.forEach((v, b) => expectClose(out.iou[b], v, 1e-12, `iou[${b}]`));
    expect(refBox.iou.some((v) => v > 0)).toBe(true);
    expectClose(out.decision_l1[0], decisionLossReference(student.terminatingScore, refBox.iou, 'l1'), 1e-12, 'decision l1');
    expectClose(out.decision_bce[0], decisionLossReference(student.terminatingScore, refBox.iou, 'bce'), 1e-12, 'decision bce');
    const feature = (o: object) => featureMimicLossReference(student.searchTokens, teacher.searchTokens, targets.tokenMask, B, CELLS, C, o);
    expectClose(out.feature_mean[0], feature({}), 1e-12, 'feature mean');
    expectClose(out.feature_sum[0], feature({ reduction: 'sum', epsilon: 1e-5 }), 1e-12, 'feature sum');
    expectClose(out.size_dense[0], denseSizeLossReference(student.sizeMap, targets.heatmap, targets.boxes, B, N), 1e-12, 'dense size');
    expectClose(out.offset_dense[0], denseOffsetLossReference(student.offsetMap, targets.heatmap, targets.boxes, B, N), 1e-12, 'dense offset');
    expectClose(out.kl[0], scoreMapKLReference(student.scoreMap, teacher.scoreMap, B, CELLS), 1e-12, 'kl');
    expectClose(out.kl_logit[0], scoreMapKLReference(student.sizeMap, teacher.offsetMap, B, 2 * CELLS, { input: 'logit', temperature: 3 }), 1e-12, 'kl logit');
  });

  it('trackingLoss and dytrackLoss with every component, three exits', async () => {
    const random = rng(7);
    const exits = [randomExit(random), randomExit(random), randomExit(random)];
    const targets = randomTargets(random);
    const config: LossConfig = { decisionLoss: 'bce', temperature: 1.5, weights: { exits: [0.25, 0.5], feature: 0.7, scoreKL: 1.3, decision: 0.5, sizeDense: 2.5, offsetDense: 1.5 } };
    const g = new Graph({ dtype: 'float64' });
    const d = declare(g, 'float64', exits, targets);
    const loss = dytrackLoss(g, d.exits, d.targets, config);
    const names = Object.keys(loss.components);
    names.forEach((name) => g.output(loss.components[name], name.replace('/', '.')));
    const single = trackingLoss(g, d.exits[1], d.targets);
    g.output(single.total, 'single');
    const { terminatingScore: _unused, ...noDecision } = d.exits[0];
    const withoutDecision = trackingLoss(g, noDecision, d.targets);
    expect(withoutDecision.decision).toBeUndefined();
    g.output(withoutDecision.total, 'no_decision');
    const out = await runGraph(g, d.feeds);
    const ref = dytrackLossReference(exits, targets, { batch: B, mapSize: N, channels: C }, config);
    expect(names.sort()).toEqual(Object.keys(ref.components).sort());
    expect(names).toContain('exit1/feature');
    expect(names).toContain('exit2/sizeDense');
    expect(names).toContain('exit0/offsetDense');
    expect(names).not.toContain('exit2/feature');
    for (const name of names) expectClose(out[name.replace('/', '.')][0], ref.components[name], 1e-12, name);
    expectClose(out.single[0], trackingLossReference(exits[1], targets, { batch: B, mapSize: N }).total, 1e-12, 'trackingLoss');
    const { terminatingScore: _t, ...exit0 } = exits[0];
    const refNoDecision = trackingLossReference(exit0, targets, { batch: B, mapSize: N });
    expect(refNoDecision.decision).toBeUndefined();
    expectClose(out.no_decision[0], refNoDecision.total, 1e-12, 'trackingLoss without a decision branch');
  });
});

describe("the 'asGoodAsLast' decision target in the graph", () => {
  it('matches the reference, on random exits and on a hand case', async () => {
    const random = rng(11);
    const exits = [randomExit(random), randomExit(random), randomExit(random)];
    const targets = randomTargets(random);
    // Sample 0 of exit 1 decodes exactly where the last exit does: its target must be 1.
    (exits[1].scoreMap as Float64Array).set((exits[2].scoreMap as Float64Array).subarray(0, CELLS));
    (exits[1].sizeMap as Float64Array).set((exits[2].sizeMap as Float64Array).subarray(0, 2 * CELLS));
    (exits[1].offsetMap as Float64Array).set((exits[2].offsetMap as Float64Array).subarray(0, 2 * CELLS));
    for (const decisionLoss of ['l1', 'bce'] as const) {
      const config: LossConfig = { decisionLoss, decisionTarget: 'asGoodAsLast', decisionMargin: 0.1, weights: { feature: 0.5, scoreKL: 0.5 } };
      const g = new Graph({ dtype: 'float64' });
      const d = declare(g, 'float64', exits, targets);
      const loss = dytrackLoss(g, d.exits, d.targets, config);
      const names = Object.keys(loss.components);
      names.forEach((name) => g.output(loss.components[name], name.replace('/', '.')));
      const last = boxLoss(g, decodeBoxes(g, d.exits[2].scoreMap, d.exits[2].sizeMap, d.exits[2].offsetMap), d.targets.boxes).iou;
      const mine = boxLoss(g, decodeBoxes(g, d.exits[1].scoreMap, d.exits[1].sizeMap, d.exits[1].offsetMap), d.targets.boxes).iou;
      g.output(asGoodAsLast(g, mine, last, 0.1), 'target');
      const out = await runGraph(g, d.feeds);
      const ref = dytrackLossReference(exits, targets, { batch: B, mapSize: N, channels: C }, config);
      for (const name of names) expectClose(out[name.replace('/', '.')][0], ref.components[name], 1e-12, `${decisionLoss} ${name}`);
      const refLast = boxLossReference(decodeBoxesReference(exits[2].scoreMap, exits[2].sizeMap, exits[2].offsetMap, B, N), targets.boxes, B).iou;
      const refMine = boxLossReference(decodeBoxesReference(exits[1].scoreMap, exits[1].sizeMap, exits[1].offsetMap, B, N), targets.boxes, B).iou;
      expect(Array.from(out.target)).toEqual(Array.from(asGoodAsLastReference(refMine, refLast, 0.1)));
      expect(out.target[0]).toBe(1);
    }
  });
});

describe('decodeBoxes in the graph', () => {
  it('picks the first cell on ties, as the reference and torch.max do', async () => {
    const g = new Graph({ dtype: 'float32' });
    const score = g.input('score', 'float32', [2, 1, 2, 2]);
    const size = g.input('size', 'float32', [2, 2, 2, 2]);
    const offset = g.input('offset', 'float32', [2, 2, 2, 2]);
    g.output(decodeBoxes(g, score, size, offset), 'boxes');
    const scoreData = [0.1, 0.9, 0.2, 0.9, /* sample 1 */ 0.3, 0.1, 0.7, 0.7];
    const sizeData = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85];
    const offsetData = [0, 0.5, 0, 0.25, 0, 0.25, 0, 0.75, 0.2, 0.4, 0.6, 0.8, 0.1, 0.3, 0.5, 0.7];
    const out = await runGraph(g, {
      score: tensor('float32', [2, 1, 2, 2], scoreData),
      size: tensor('float32', [2, 2, 2, 2], sizeData),
      offset: tensor('float32', [2, 2, 2, 2], offsetData),
    });
    // Sample 0: cell 1 (ix 1, iy 0); sample 1: cell 2 (ix 0, iy 1).
    expect(Array.from(out.boxes)).toEqual([0.75, 0.125, 0.2, 0.6, 0.3, 0.75, 0.35, 0.75].map((v) => Math.fround(v)));
    const ref = decodeBoxesReference(scoreData, sizeData, offsetData, 2, 2);
    expect(Array.from(out.boxes).map((v, i) => Math.abs(v - ref[i]) < 1e-6)).toEqual(new Array<boolean>(8).fill(true));
  });
});

describe('float32 graphs', () => {
  it('dytrackLoss agrees with the reference to ~1e-5', async () => {
    const random = rng(99);
    const exits = [randomExit(random), randomExit(random)].map(asFloat32);
    const targets = asFloat32(randomTargets(random));
    const g = new Graph({ dtype: 'float32' });
    const d = declare(g, 'float32', exits, targets);
    const loss = dytrackLoss(g, d.exits, d.targets);
    for (const [name, v] of Object.entries(loss.components)) g.output(v, name.replace('/', '.'));
    const out = await runGraph(g, d.feeds);
    const ref = dytrackLossReference(exits, targets, { batch: B, mapSize: N, channels: C });
    for (const [name, v] of Object.entries(ref.components)) expectClose(out[name.replace('/', '.')][0], v, 2e-5, `float32 ${name}`);
  });
});

describe('graph builders validate their inputs', () => {
  it('names the bad value', () => {
    const g = new Graph({ dtype: 'float64' });
    const score = g.input('score', 'float64', [2, 1, 4, 4]);
    const size = g.input('size', 'float64', [2, 2, 4, 5]);
    expect(() => decodeBoxes(g, score, size, size)).toThrow(/sizeMap \(size/);
    expect(() => focalLoss(g, score, g.input('t', 'float64', [2, 1, 4, 5]))).toThrow(InvalidArgumentError);
    expect(() => focalLoss(g, score, g.input('t32', 'float32', [2, 1, 4, 4]))).toThrow(/dtypes differ/);
    const other = new Graph({ dtype: 'float64' });
    expect(() => focalLoss(g, score, other.input('o', 'float64', [2, 1, 4, 4]))).toThrow(/another graph/);
    expect(() => dytrackLoss(g, [], { heatmap: score, boxes: score })).toThrow(/at least one exit/);
  });
});
