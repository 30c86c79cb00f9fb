import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@dytrack/core';
import {
  asGoodAsLastReference,
  boxLossReference,
  decisionLossReference,
  denseSizeLossReference,
  denseOffsetLossReference,
  decodeBoxesReference,
  defaultLossWeights,
  dytrackLossReference,
  featureMimicLossReference,
  focalLossReference,
  resolveLossConfig,
  scoreMapKLReference,
  trackingLossReference,
} from '../src/index.js';

describe('focalLossReference', () => {
  it('computes a 2 x 2 map by hand', () => {
    const pred = [0.8, 0.4, 0.1, 0.3];
    const target = [1, 0.5, 0, 0];
    const expected = -(
      Math.log(0.8) * 0.2 ** 2 + // the positive
      Math.log(0.6) * 0.4 ** 2 * 0.5 ** 4 +
      Math.log(0.9) * 0.1 ** 2 * 1 +
      Math.log(0.7) * 0.3 ** 2 * 1
    );
    expect(focalLossReference(pred, target)).toBeCloseTo(expected, 14);
    expect(expected).toBeCloseTo(0.0471883, 6);
  });

  it('divides by the number of positives, and by 1 when there is none', () => {
    const one = focalLossReference([0.8, 0.4], [1, 0]);
    const two = focalLossReference([0.8, 0.4, 0.8, 0.4], [1, 0, 1, 0]);
    expect(two).toBeCloseTo(one, 14);
    expect(focalLossReference([0.3], [0.5])).toBeCloseTo(-Math.log(0.7) * 0.09 * 0.0625, 14);
  });

  it('clamps the prediction so that saturated sigmoids stay finite', () => {
    const v = focalLossReference([1, 0], [1, 0]);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeCloseTo(-(Math.log(1 - 1e-4) * 1e-8 + Math.log(1 - 1e-4) * 1e-8), 14);
  });
});

describe('boxLossReference', () => {
  it('is 0 for identical boxes, with IoU 1', () => {
    const r = boxLossReference([0.5, 0.4, 0.3, 0.2], [0.5, 0.4, 0.3, 0.2], 1);
    expect(r.giou).toBeCloseTo(0, 14);
    expect(r.l1).toBe(0);
    expect(r.iou[0]).toBeCloseTo(1, 14);
  });

  it('gives 1 + (enclosing - union) / enclosing for disjoint boxes', () => {
    // [0.1, 0.1, 0.3, 0.3] vs [0.6, 0.6, 0.8, 0.8]: union 0.08, enclosing 0.49.
    const r = boxLossReference([0.2, 0.2, 0.2, 0.2], [0.7, 0.7, 0.2, 0.2], 1);
    expect(r.giou).toBeCloseTo(1 + 0.41 / 0.49, 12);
    expect(r.l1).toBeCloseTo(0.5, 14);
    expect(r.iou[0]).toBe(0);
  });

  it('averages over the batch (half-overlapping pair: IoU 1/3, GIoU 1/3)', () => {
    // [0, 0, 0.5, 0.5] vs [0.25, 0, 0.75, 0.5]: inter 0.125, union 0.375, enclosing 0.375.
    const r = boxLossReference([0.25, 0.25, 0.5, 0.5, 0.5, 0.4, 0.3, 0.2], [0.5, 0.25, 0.5, 0.5, 0.5, 0.4, 0.3, 0.2], 2);
    expect(r.iou[0]).toBeCloseTo(1 / 3, 14);
    expect(r.giou).toBeCloseTo((2 / 3 + 0) / 2, 12);
    expect(r.l1).toBeCloseTo((0.25 + 0.25) / 8, 14);
  });

  it("clamps the target's corners to the crop, as OSTrack does", () => {
    // target (0.95, 0.5, 0.2, 0.2) -> [0.85, 0.4, 1.05 -> 1, 0.6]
    const r = boxLossReference([0.925, 0.5, 0.15, 0.2], [0.95, 0.5, 0.2, 0.2], 1);
    expect(r.l1).toBeCloseTo(0, 14);
    expect(r.giou).toBeCloseTo(0, 12);
  });
});

describe('decodeBoxesReference', () => {
  it('reads size and offset at the argmax (first on ties) of each sample', () => {
    const n = 2;
    const score = [0.1, 0.9, 0.2, 0.3, /* sample 1: tie */ 0.7, 0.1, 0.7, 0.2];
    const size = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, /* 1 */ 0.15, 0, 0, 0, 0.25, 0, 0, 0];
    const offset = [0, 0.5, 0, 0, 0, 0.25, 0, 0, /* 1 */ 0.2, 0, 0, 0, 0.4, 0, 0, 0];
    const boxes = decodeBoxesReference(score, size, offset, 2, n);
    // sample 0: cell 1 = (ix 1, iy 0): cx = (1 + 0.5)/2, cy = (0 + 0.25)/2, w 0.2, h 0.6.
    // sample 1: cell 0: cx = 0.2/2, cy = 0.4/2, w 0.15, h 0.25.
    expect(Array.from(boxes)).toEqual([0.75, 0.125, 0.2, 0.6, 0.1, 0.2, 0.15, 0.25]);
  });
});

describe('decisionLossReference', () => {
  it('L1 and BCE against the IoU', () => {
    expect(decisionLossReference([0.5, 0.2], [0.7, 0.2], 'l1')).toBeCloseTo(0.1, 14);
    const bce = -(0.7 * Math.log(0.5) + 0.3 * Math.log(0.5) + 0.2 * Math.log(0.2) + 0.8 * Math.log(0.8)) / 2;
    expect(decisionLossReference([0.5, 0.2], [0.7, 0.2], 'bce')).toBeCloseTo(bce, 14);
  });
});

describe('featureMimicLossReference', () => {
  it('weights the squared LayerNorm difference by the mask', () => {
    // C = 2: LN([0, 1]) = [-1, 1], LN([1, 0]) = [1, -1] (epsilon negligible).
    const student = [0, 1, 0, 1];
    const teacher = [1, 0, 0, 1];
    const mask = [1, 0.1];
    const opts = { epsilon: 1e-14 };
    expect(featureMimicLossReference(student, teacher, mask, 1, 2, 2, { ...opts, reduction: 'sum' })).toBeCloseTo(8 / 1.1, 10);
    expect(featureMimicLossReference(student, teacher, mask, 1, 2, 2, opts)).toBeCloseTo(4 / 1.1, 10);
    // Only the second token differs now: its weight 0.1 of the 1.1 total.
    expect(featureMimicLossReference([0, 1, 1, 0], [0, 1, 0, 1], mask, 1, 2, 2, opts)).toBeCloseTo((0.1 * 4) / 1.1, 10);
  });

  it('is 0 for equal features and for a sample whose mask is all 0', () => {
    const f = [0.3, -1, 2, 0.5, 0.1, 0.7];
    expect(featureMimicLossReference(f, f, [1, 0.5], 1, 2, 3)).toBe(0);
    expect(featureMimicLossReference([0, 1, 0, 1], [1, 0, 1, 0], [0, 0], 1, 2, 2)).toBe(0);
  });

  it('ignores a per-token offset and scale of the features (LayerNorm)', () => {
    const student = [1, 2, 3, 10, 20, 30];
    const teacher = [5, 6, 7, -1, 0, 1];
    expect(featureMimicLossReference(student, teacher, [1, 1], 1, 2, 3, { epsilon: 1e-14 })).toBeCloseTo(0, 10);
  });
});

describe('scoreMapKLReference', () => {
  it('is 0 for equal maps', () => {
    const m = [0.1, 0.8, 0.3, 0.05];
    expect(scoreMapKLReference(m, m, 1, 4)).toBeCloseTo(0, 14);
  });

  it('computes a two-cell case by hand, with the T^2 factor', () => {
    // T = 1: student softmax([0, ln 3]) = [1/4, 3/4], teacher uniform: KL = 0.5 ln 2 + 0.5 ln(2/3).
    const kl1 = scoreMapKLReference([0, Math.log(3)], [0, 0], 1, 2, { temperature: 1, input: 'logit' });
    expect(kl1).toBeCloseTo(0.5 * Math.log(4 / 3), 14);
    const kl2 = scoreMapKLReference([0, 2 * Math.log(3)], [0, 0], 1, 2, { temperature: 2, input: 'logit' });
    expect(kl2).toBeCloseTo(4 * 0.5 * Math.log(4 / 3), 14);
    // Probabilities: sigmoid(0) = 0.5, sigmoid(ln 3) = 0.75.
    expect(scoreMapKLReference([0.5, 0.75], [0.5, 0.5], 1, 2, { temperature: 1 })).toBeCloseTo(kl1, 12);
  });
});

describe('denseSizeLossReference', () => {
  it('weights each cell\'s size error by the heat map, per sample, then averages samples', () => {
    // n = 2, two samples. Sample 0: heat 1 at cell 1 and 0.5 at cell 3; truth w 0.4, h 0.2.
    const sizeMap = [
      ...[0.4, 0.9, 0.1, 0.7], // w, sample 0
      ...[0.2, 0.2, 0.5, 0.3], // h, sample 0
      ...[0.3, 0.3, 0.3, 0.3], // w, sample 1
      ...[0.3, 0.3, 0.3, 0.3], // h, sample 1
    ];
    const heatmap = [0, 1, 0, 0.5, 0, 0, 0, 0];
    const boxes = [0.5, 0.5, 0.4, 0.2, 0.5, 0.5, 0.1, 0.1];
    // Sample 0: cell 1 errs (0.5 + 0) / 2 = 0.25, cell 3 errs (0.3 + 0.1) / 2 = 0.2;
    // (1 · 0.25 + 0.5 · 0.2) / 1.5 = 0.35 / 1.5. Sample 1 has no heat: 0.
    expect(denseSizeLossReference(sizeMap, heatmap, boxes, 2, 2)).toBeCloseTo(0.35 / 1.5 / 2, 14);
    expect(() => denseSizeLossReference(sizeMap.slice(1), heatmap, boxes, 2, 2)).toThrow(/size map/);
  });
});

describe('denseOffsetLossReference', () => {
  it('weights each cell\'s error against the offset that decodes to the truth centre', () => {
    // n = 2, one sample; truth centre (0.6, 0.3) = (1.2, 0.6) cells. Heat 1 at cell (1, 0), 0.5 at (0, 1).
    // Targets: cell (1, 0) -> (0.2, 0.6); cell (0, 1) -> (1.2, -0.4).
    const offsetMap = [
      ...[9, 0.2, 0.7, 9], // x offsets: cell (1, 0) exact, cell (0, 1) off by 0.5
      ...[9, 0.5, -0.4, 9], // y offsets: cell (1, 0) off by 0.1, cell (0, 1) exact
    ];
    const heatmap = [0, 1, 0.5, 0];
    const boxes = [0.6, 0.3, 0.2, 0.2];
    // (1 · (0 + 0.1) / 2 + 0.5 · (0.5 + 0) / 2) / 1.5 = (0.05 + 0.125) / 1.5; cells without heat do not count.
    expect(denseOffsetLossReference(offsetMap, heatmap, boxes, 1, 2)).toBeCloseTo(0.175 / 1.5, 14);
    // A perfect neighbourhood costs nothing, and a sample without heat contributes 0 to the mean.
    expect(denseOffsetLossReference([0, 0.2, 1.2, 0, 0, 0.6, -0.4, 0, ...new Array(8).fill(5)], [0, 1, 0.5, 0, 0, 0, 0, 0], [...boxes, ...boxes], 2, 2)).toBeCloseTo(0, 14);
    expect(() => denseOffsetLossReference(offsetMap.slice(1), heatmap, boxes, 1, 2)).toThrow(/offset map/);
  });
});

describe('trackingLossReference and dytrackLossReference', () => {
  const n = 2;
  const exit = {
    scoreMap: [0.1, 0.9, 0.2, 0.3],
    sizeMap: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    offsetMap: [0, 0.5, 0, 0, 0, 0.5, 0, 0],
    terminatingScore: [0.4],
  };
  // Decoded: cell (1, 0): cx = 0.75, cy = 0.25, w = h = 0.5. Truth: the same box.
  const targets = { heatmap: [0, 1, 0, 0], boxes: [0.75, 0.25, 0.5, 0.5] };

  it('is the weighted sum of its terms; IoU 1 makes the decision target 1', () => {
    const t = trackingLossReference(exit, targets, { batch: 1, mapSize: n });
    expect(t.giou).toBeCloseTo(0, 14);
    expect(t.l1).toBeCloseTo(0, 14);
    expect(t.meanIoU).toBeCloseTo(1, 14);
    expect(t.decision).toBeCloseTo(0.6, 14);
    expect(t.focal).toBeCloseTo(focalLossReference(exit.scoreMap, targets.heatmap), 14);
    expect(t.total).toBeCloseTo(2 * t.giou + 5 * t.l1 + t.focal + t.decision!, 14);
    const bce = trackingLossReference(exit, targets, { batch: 1, mapSize: n }, { decisionLoss: 'bce', weights: { decision: 3 } });
    expect(bce.decision).toBeCloseTo(-Math.log(0.4), 12);
    expect(bce.total).toBeCloseTo(t.total - 0.6 + 3 * -Math.log(0.4), 12);
  });

  it('adds the self-distillation terms of the early exits', () => {
    const deep = { ...exit, scoreMap: [0.05, 0.95, 0.1, 0.2], searchTokens: [0, 1, 1, 0, 2, 3, 4, 4] };
    const early = { ...exit, searchTokens: [0, 1, 0, 1, 3, 2, 4, 4.5] };
    const withMask = { ...targets, tokenMask: [1, 0.1, 0.1, 0.1] };
    const dims = { batch: 1, mapSize: n, channels: 2 };
    const r = dytrackLossReference([early, deep], withMask, dims, { weights: { exits: [0.5], feature: 2, scoreKL: 3 } });
    const t0 = trackingLossReference(early, withMask, dims);
    const t1 = trackingLossReference(deep, withMask, dims);
    const f = featureMimicLossReference(early.searchTokens, deep.searchTokens, withMask.tokenMask, 1, 4, 2);
    const kl = scoreMapKLReference(early.scoreMap, deep.scoreMap, 1, 4);
    expect(r.total).toBeCloseTo(0.5 * t0.total + t1.total + 2 * f + 3 * kl, 12);
    expect(r.components['exit0/feature']).toBe(f);
    expect(r.components['exit0/scoreKL']).toBe(kl);
    expect(r.components['exit1/feature']).toBeUndefined();
    expect(r.components['exit1/tracking']).toBe(t1.total);
    expect(r.components.total).toBe(r.total);
    expect(() => dytrackLossReference([early, deep], targets, dims)).toThrow(/tokenMask/);
  });
});

describe("the 'asGoodAsLast' decision target", () => {
  const n = 2;
  const targets = { heatmap: [0, 1, 0, 0], boxes: [0.75, 0.25, 0.5, 0.5] };
  // Peak at cell (1, 0): decodes to the truth (IoU 1). Peak at cell (0, 0): to (0, 0, 0.5, 0.5), IoU 0.
  const hit = { scoreMap: [0.1, 0.9, 0.2, 0.3], sizeMap: [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], offsetMap: [0, 0.5, 0, 0, 0, 0.5, 0, 0], terminatingScore: [0.4] };
  const miss = { ...hit, scoreMap: [0.9, 0.1, 0.2, 0.3], terminatingScore: [0.3] };
  const dims = { batch: 1, mapSize: n };
  const relative = { decisionTarget: 'asGoodAsLast', weights: { feature: 0, scoreKL: 0 } } as const;

  it('is 1 where an IoU is within the margin of the last exit', () => {
    expect(Array.from(asGoodAsLastReference([0.6, 0.5, 0.9, 0.2, 0], [0.64, 0.6, 0.7, 0.2, 0], 0.05))).toEqual([1, 0, 1, 1, 1]);
    expect(Array.from(asGoodAsLastReference([0.6, 0.5], [0.64, 0.6], 0))).toEqual([0, 0]);
    expect(() => asGoodAsLastReference([0.5], [0.5, 0.5], 0.05)).toThrow(/last exit IoU/);
  });

  it('lets an early exit stop when the last exit misses too, and not when the last one hits', () => {
    // Both miss: the IoU target is 0 (loss |0.3 - 0|), the relative one 1 (|0.3 - 1|).
    const bothMiss = dytrackLossReference([miss, miss], targets, dims, relative);
    expect(bothMiss.components['exit0/decision']).toBeCloseTo(0.7, 14);
    expect(bothMiss.components['exit1/decision']).toBeCloseTo(0.3, 14);
    expect(dytrackLossReference([miss, miss], targets, dims, { weights: relative.weights }).components['exit0/decision']).toBeCloseTo(0.3, 14);
    // The early exit misses, the last hits: target 0; the last exit's branch keeps its IoU (1).
    const lastHits = dytrackLossReference([miss, hit], targets, dims, relative);
    expect(lastHits.components['exit0/decision']).toBeCloseTo(0.3, 14);
    expect(lastHits.components['exit1/decision']).toBeCloseTo(0.6, 14);
    // The early exit hits, the last misses: target 1, as with the IoU.
    expect(dytrackLossReference([hit, miss], targets, dims, relative).components['exit0/decision']).toBeCloseTo(0.6, 14);
    // BCE against the relative target.
    const bce = dytrackLossReference([miss, miss], targets, dims, { ...relative, decisionLoss: 'bce' });
    expect(bce.components['exit0/decision']).toBeCloseTo(-Math.log(0.3), 12);
    // The total carries the changed term.
    const base = dytrackLossReference([miss, miss], targets, dims, { weights: relative.weights });
    expect(bothMiss.total - base.total).toBeCloseTo(0.7 - 0.3, 12);
  });

  it('a margin of 1 makes every early target 1', () => {
    expect(dytrackLossReference([miss, hit], targets, dims, { ...relative, decisionMargin: 1 }).components['exit0/decision']).toBeCloseTo(0.7, 14);
  });
});

describe('loss configuration', () => {
  it("defaults to OSTrack's box and focal weights", () => {
    expect(defaultLossWeights).toMatchObject({ giou: 2, l1: 5, focal: 1 });
    const c = resolveLossConfig({ weights: { exits: [0.5] } }, 3);
    expect(c.weights.exits).toEqual([0.5, 1, 1]);
    expect(c.focalAlpha).toBe(2);
    expect(c.focalBeta).toBe(4);
  });

  it('rejects bad weights and settings', () => {
    expect(() => resolveLossConfig({ weights: { giou: -1 } })).toThrow(InvalidArgumentError);
    expect(() => resolveLossConfig({ temperature: 0 })).toThrow(/temperature/);
    expect(() => resolveLossConfig({ decisionLoss: 'mse' as 'l1' })).toThrow(/decisionLoss/);
    expect(() => resolveLossConfig({ decisionTarget: 'relative' as 'iou' })).toThrow(/decisionTarget/);
    expect(() => resolveLossConfig({ decisionMargin: -0.1 })).toThrow(/decisionMargin/);
    expect(() => resolveLossConfig({ decisionMargin: NaN })).toThrow(/decisionMargin/);
    expect(resolveLossConfig({})).toMatchObject({ decisionTarget: 'iou', decisionMargin: 0.05 });
    expect(() => resolveLossConfig({ weights: { exits: [1, 1, 1] } }, 2)).toThrow(/exits/);
  });
});
