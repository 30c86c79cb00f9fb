import { afterAll, describe, expect, it } from 'vitest';
import type { HostTensor } from '@dytrack/core';
import type { Value } from '@dytrack/onnx';
import { Graph, serializeModel } from '@dytrack/onnx';
import { gradients } from '@dytrack/autograd';
import { boxLoss, boxTarget, decisionLoss, decodeBoxes, denseSizeLoss, denseOffsetLoss, dytrackLoss, featureMimicLoss, focalLoss, gaussianHeatmap, scoreMapKL, tokenMask } from '../src/index.js';
import { backend, disposeBackend, rng, uniform } from './helpers.js';

afterAll(disposeBackend);

// Finite-difference checks of the losses' gradients through @dytrack/autograd, in float64
// on onnxruntime: central differences of the loss graph against the autograd graph.

const B = 2;
const N = 3;
const CELLS = N * N;
const C = 4;
const CROP = 48;

interface Input {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

interface GradResult {
  readonly analytic: Float64Array[];
  readonly numeric: Float64Array[];
}

/**
 * Builds `loss = build(inputs)` and its autograd gradients w.r.t. `wrt` (input names),
 * runs them, and estimates the same gradients by central differences (step 1e-6).
 */
async function gradCheck(inputs: readonly Input[], wrt: readonly string[], build: (g: Graph, x: Record<string, Value>) => Value): Promise<GradResult> {
  const g = new Graph({ dtype: 'float64' });
  const x: Record<string, Value> = {};
  for (const inp of inputs) x[inp.name] = g.input(inp.name, 'float64', inp.dims);
  const loss = build(g, x);
  g.output(loss, 'loss');
  gradients(g, loss, wrt.map((n) => x[n])).forEach((d, i) => g.output(d, `d${i}`));
  const session = await backend().loadModel(serializeModel(g));
  const feeds = (): Record<string, HostTensor> => Object.fromEntries(inputs.map((i) => [i.name, { dtype: 'float64', dims: [...i.dims], data: i.data }]));
  try {
    const out = await session.run(feeds());
    const analytic = wrt.map((_, i) => Float64Array.from(out[`d${i}`].data as Float64Array));
    const h = 1e-6;
    const lossAt = async () => Number((await session.run(feeds(), { outputs: ['loss'] })).loss.data![0]);
    const numeric: Float64Array[] = [];
    for (const name of wrt) {
      const data = inputs.find((i) => i.name === name)!.data;
      const grad = new Float64Array(data.length);
      for (let k = 0; k < data.length; k++) {
        const saved = data[k];
        data[k] = saved + h;
        const plus = await lossAt();
        data[k] = saved - h;
        const minus = await lossAt();
        data[k] = saved;
        grad[k] = (plus - minus) / (2 * h);
      }
      numeric.push(grad);
    }
    return { analytic, numeric };
  } finally {
    await session.release();
  }
}

function expectGradientsMatch(r: GradResult, index: number, what: string): void {
  const a = r.analytic[index];
  const n = r.numeric[index];
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - n[k]) / (1e-6 + 1e-5 * Math.abs(n[k])));
  expect(worst, `${what}: worst scaled error`).toBeLessThanOrEqual(1);
  expect(Math.max(...n.map(Math.abs)), `${what}: the loss depends on it`).toBeGreaterThan(1e-4);
}

/** Puts each sample's score maximum on the heat map's peak, so the decoded box overlaps the truth. */
function peakAtTruth(score: Float64Array, heat: Float64Array): Float64Array {
  for (let b = 0; b < B; b++) {
    const h = heat.subarray(b * CELLS, (b + 1) * CELLS);
    score[b * CELLS + h.indexOf(Math.max(...h))] = 0.95;
  }
  return score;
}

function randomInputs(seed: number) {
  const random = rng(seed);
  const heat = new Float64Array(B * CELLS);
  const boxes = new Float64Array(B * 4);
  const mask = new Float64Array(B * CELLS);
  for (let b = 0; b < B; b++) {
    const box = { x: 4 + random() * 20, y: 4 + random() * 20, width: 10 + random() * 14, height: 10 + random() * 14 };
    gaussianHeatmap(box, CROP, N, heat, b * CELLS);
    boxTarget(box, CROP, boxes, b * 4);
    tokenMask(box, CROP, N, { mode: 'gaussian' }, mask, b * CELLS);
  }
  const exit = (k: number): Input[] => [
    { name: `score${k}`, dims: [B, 1, N, N], data: peakAtTruth(uniform(random, B * CELLS, 0.05, 0.9), heat) },
    // Sizes around the truth's, so that the boxes overlap and GIoU's both parts are live.
    { name: `size${k}`, dims: [B, 2, N, N], data: uniform(random, B * 2 * CELLS, 0.25, 0.5) },
    { name: `offset${k}`, dims: [B, 2, N, N], data: uniform(random, B * 2 * CELLS, 0, 1) },
    { name: `term${k}`, dims: [B, 1], data: uniform(random, B, 0.1, 0.9) },
    { name: `tokens${k}`, dims: [B, CELLS, C], data: uniform(random, B * CELLS * C, -2, 2) },
  ];
  return {
    inputs: [
      ...exit(0),
      ...exit(1),
      { name: 'heat', dims: [B, 1, N, N], data: heat },
      { name: 'boxes', dims: [B, 4], data: boxes },
      { name: 'mask', dims: [B, CELLS], data: mask },
    ],
  };
}

describe('gradients through @dytrack/autograd match finite differences (float64)', () => {
  it('focal loss w.r.t. the score map', async () => {
    const { inputs } = randomInputs(1);
    const r = await gradCheck(inputs, ['score0'], (g, x) => focalLoss(g, x.score0, x.heat));
    expectGradientsMatch(r, 0, 'd focal / d score');
  });

  it('GIoU + L1 of the decoded box w.r.t. the size and offset maps (only at the argmax cell)', async () => {
    const { inputs } = randomInputs(2);
    const r = await gradCheck(inputs, ['size0', 'offset0', 'score0'], (g, x) => {
      const b = boxLoss(g, decodeBoxes(g, x.score0, x.size0, x.offset0), x.boxes);
      return g.add(g.mul(b.giou, 2), g.mul(b.l1, 5));
    });
    expectGradientsMatch(r, 0, 'd box / d size');
    expectGradientsMatch(r, 1, 'd box / d offset');
    // The argmax is not differentiable: no gradient reaches the score map, and the maps
    // get gradient at one cell per sample and channel.
    expect(r.analytic[2].every((v) => v === 0)).toBe(true);
    expect(r.analytic[0].filter((v) => v !== 0).length).toBe(B * 2);
    expect(r.analytic[1].filter((v) => v !== 0).length).toBe(B * 2);
  });

  it('dense size loss w.r.t. the size map: every cell the heat map covers, none to the heat map', async () => {
    const { inputs } = randomInputs(12);
    const r = await gradCheck(inputs, ['size0', 'heat'], (g, x) => denseSizeLoss(g, x.size0, x.heat, x.boxes));
    expectGradientsMatch(r, 0, 'd dense size / d size');
    const heat = inputs.find((i) => i.name === 'heat')!.data;
    expect(r.analytic[0].filter((v) => v !== 0).length).toBe(2 * Array.from(heat).filter((v) => v > 0).length);
    expect(r.analytic[1].every((v) => v === 0)).toBe(true);
  });

  it('dense offset loss w.r.t. the offset map: every cell the heat map covers, none to the heat map or boxes', async () => {
    const { inputs } = randomInputs(13);
    const r = await gradCheck(inputs, ['offset0', 'heat', 'boxes'], (g, x) => denseOffsetLoss(g, x.offset0, x.heat, x.boxes));
    expectGradientsMatch(r, 0, 'd dense offset / d offset');
    const heat = inputs.find((i) => i.name === 'heat')!.data;
    expect(r.analytic[0].filter((v) => v !== 0).length).toBe(2 * Array.from(heat).filter((v) => v > 0).length);
    expect(r.analytic[1].every((v) => v === 0)).toBe(true);
    expect(r.analytic[2].every((v) => v === 0)).toBe(true);
  });

  it('decision loss: gradient to the terminating score, none through the detached IoU', async () => {
    const { inputs } = randomInputs(3);
    for (const kind of ['l1', 'bce'] as const) {
      const r = await gradCheck(inputs, ['term0', 'size0'], (g, x) => decisionLoss(g, x.term0, boxLoss(g, decodeBoxes(g, x.score0, x.size0, x.offset0), x.boxes).iou, kind));
      expectGradientsMatch(r, 0, `d decision(${kind}) / d terminating score`);
      // Finite differences see the IoU target move; autograd must not (it is detached).
      expect(r.analytic[1].every((v) => v === 0)).toBe(true);
      expect(Math.max(...r.numeric[1].map(Math.abs))).toBeGreaterThan(1e-3);
    }
  });

  it('feature mimicking: gradient to the student, none to the detached teacher', async () => {
    const { inputs } = randomInputs(4);
    const r = await gradCheck(inputs, ['tokens0', 'tokens1'], (g, x) => featureMimicLoss(g, x.tokens0, x.tokens1, x.mask));
    expectGradientsMatch(r, 0, 'd feature / d student tokens');
    expect(r.analytic[1].every((v) => v === 0)).toBe(true);
  });

  it('score-map KL: gradient to the student, none to the detached teacher', async () => {
    const { inputs } = randomInputs(5);
    const r = await gradCheck(inputs, ['score0', 'score1'], (g, x) => scoreMapKL(g, x.score0, x.score1, { temperature: 2 }));
    expectGradientsMatch(r, 0, 'd KL / d student score');
    expect(r.analytic[1].every((v) => v === 0)).toBe(true);
  });

  it('the whole dytrackLoss w.r.t. the early exit (score map, tokens, terminating score)', async () => {
    const { inputs } = randomInputs(6);
    const r = await gradCheck(inputs, ['score0', 'tokens0', 'term0'], (g, x) => {
      const exit = (k: number) => ({ scoreMap: x[`score${k}`], sizeMap: x[`size${k}`], offsetMap: x[`offset${k}`], terminatingScore: x[`term${k}`], searchTokens: x[`tokens${k}`] });
      return dytrackLoss(g, [exit(0), exit(1)], { heatmap: x.heat, boxes: x.boxes, tokenMask: x.mask }).total;
    });
    expectGradientsMatch(r, 0, 'd total / d early score map');
    expectGradientsMatch(r, 1, 'd total / d early tokens');
    expectGradientsMatch(r, 2, 'd total / d early terminating score');
  });
});
