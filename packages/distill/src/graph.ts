import { InvalidArgumentError } from '@dytrack/core';
import type { Graph, Value } from '@dytrack/onnx';
import { isFloatDType } from '@dytrack/onnx';
import { stopGradient } from '@dytrack/autograd';
import type { LossConfig } from './config.js';
import { defaultLossSettings, resolveLossConfig } from './config.js';
import type { DyTrackLoss, FeatureMimicOptions, FocalLossOptions, ScoreMapKLOptions, TrackingLossTerms } from './reference.js';

// The losses as @dytrack/onnx subgraphs for the training step. Each mirrors its float64
// reference in ./reference.ts op for op, uses only ops @dytrack/autograd differentiates
// (or that carry no gradient: ArgMax, Equal, Less, Cast of a bool), and detaches its
// targets with autograd's stopGradient. Every loss is a rank-0 Value.

function shapeOf(v: Value, what: string): number[] {
  if (!isFloatDType(v.dtype)) throw new InvalidArgumentError(`${what} (${v}) must be a float tensor`);
  return v.staticShape();
}

function expectShape(v: Value, expected: readonly number[], what: string): void {
  const s = shapeOf(v, what);
  if (s.length !== expected.length || s.some((d, i) => d !== expected[i])) {
    throw new InvalidArgumentError(`${what} (${v}) must have shape [${expected.join(', ')}]`);
  }
}

function sameGraph(g: Graph, values: readonly (Value | undefined)[]): void {
  for (const v of values) if (v && v.graph !== g) throw new InvalidArgumentError(`value ${v.name} belongs to another graph`);
}

function sameDType(values: readonly Value[], what: string): void {
  const d = values[0].dtype;
  for (const v of values) if (v.dtype !== d) throw new InvalidArgumentError(`${what}: dtypes differ (${values[0]} vs ${v})`);
}

/** Sum over all axes to a rank-0 value. */
function sumAll(g: Graph, x: Value): Value {
  return g.reduceSum(x, undefined, false);
}

/** Mean over all axes to a rank-0 value. */
function meanAll(g: Graph, x: Value): Value {
  return g.reduceMean(x, undefined, false);
}

/** The map shape `[B, 1, n, n]` of a score map, checked. */
function scoreMapDims(v: Value, what: string): { batch: number; n: number } {
  const s = shapeOf(v, what);
  if (s.length !== 4 || s[1] !== 1 || s[2] !== s[3]) throw new InvalidArgumentError(`${what} (${v}) must have shape [B, 1, n, n]`);
  return { batch: s[0], n: s[2] };
}

/**
 * OSTrack's focal loss in the graph; see {@link focalLossReference}. `prediction` and
 * `target` have the same static shape (`[B, 1, n, n]` for score maps); the target is
 * treated as a constant (detached).
 */
export function focalLoss(g: Graph, prediction: Value, target: Value, options: FocalLossOptions = {}): Value {
  sameGraph(g, [prediction, target]);
  const shape = shapeOf(prediction, 'focalLoss prediction');
  expectShape(target, shape, 'focalLoss target');
  sameDType([prediction, target], 'focalLoss');
  const alpha = options.alpha ?? defaultLossSettings.focalAlpha;
  const beta = options.beta ?? defaultLossSettings.focalBeta;
  const eps = options.epsilon ?? defaultLossSettings.probabilityEpsilon;
  return g.scope('focal_loss', () => {
    const y = stopGradient(g, target);
    const p = g.clip(prediction, eps, 1 - eps);
    const positive = g.cast(g.equal(y, 1), p.dtype);
    const negative = g.cast(g.less(y, 1), p.dtype);
    const negativeWeights = g.pow(g.sub(1, y), beta);
    const oneMinusP = g.sub(1, p);
    const posLoss = sumAll(g, g.mul(g.mul(g.log(p), g.pow(oneMinusP, alpha)), positive));
    const negLoss = sumAll(g, g.mul(g.mul(g.mul(g.log(oneMinusP), g.pow(p, alpha)), negativeWeights), negative));
    const count = g.max(sumAll(g, positive), 1);
    return g.div(g.neg(g.add(posLoss, negLoss)), count);
  });
}

/**
 * Decodes `[B, 4]` boxes `(cx, cy, w, h)` at the argmax of the predicted score map, in the
 * graph; see {@link decodeBoxesReference}. The argmax (`ArgMax`, first index on ties) and
 * its one-hot mask (`Equal` with the cell indices) carry no gradient; the size and offset
 * read at that cell (a one-hot weighted sum) do.
 */
export function decodeBoxes(g: Graph, scoreMap: Value, sizeMap: Value, offsetMap: Value): Value {
  sameGraph(g, [scoreMap, sizeMap, offsetMap]);
  const { batch, n } = scoreMapDims(scoreMap, 'decodeBoxes scoreMap');
  expectShape(sizeMap, [batch, 2, n, n], 'decodeBoxes sizeMap');
  expectShape(offsetMap, [batch, 2, n, n], 'decodeBoxes offsetMap');
  sameDType([scoreMap, sizeMap, offsetMap], 'decodeBoxes');
  const cells = n * n;
  const dtype = scoreMap.dtype;
  return g.scope('decode_boxes', () => {
    const flat = g.reshape(scoreMap, [batch, cells]);
    // The builder's generic reduce rule misreads ArgMax's axis attribute, so the type is given.
    const index = g.op1('ArgMax', [flat], { axis: 1, keepdims: 1 }, { outputTypes: [{ dtype: 'int64', shape: [batch, 1] }] });
    const cellIndex = g.constant(BigInt64Array.from({ length: cells }, (_, i) => BigInt(i)), [1, cells]);
    const oneHot = g.cast(g.equal(index, cellIndex), dtype); // [B, cells]
    const pick = (map: Value) => g.reduceSum(g.mul(g.reshape(map, [batch, 2, cells]), g.unsqueeze(oneHot, [1])), [2], false); // [B, 2]
    const size = pick(sizeMap);
    const offset = pick(offsetMap);
    const column = g.constant(Array.from({ length: cells }, (_, i) => i % n), [1, cells], dtype);
    const row = g.constant(Array.from({ length: cells }, (_, i) => Math.floor(i / n)), [1, cells], dtype);
    const cell = g.concat([g.reduceSum(g.mul(oneHot, column), [1]), g.reduceSum(g.mul(oneHot, row), [1])], 1); // [B, 2]: (ix, iy)
    const center = g.div(g.add(cell, offset), n);
    return g.concat([center, size], 1);
  });
}

/** The Values {@link boxLoss} returns. */
export interface BoxLossValues {
  /** `mean(1 - GIoU)`, rank 0. */
  readonly giou: Value;
  /** Mean absolute corner error, rank 0. */
  readonly l1: Value;
  /** Per-sample IoU `[B, 1]` (differentiable; detach it before using it as a target). */
  readonly iou: Value;
}

/** Corners `[B, 2]` low (x1, y1) and high (x2, y2) of `[B, 4]` `(cx, cy, w, h)` boxes. */
function corners(g: Graph, boxes: Value): [Value, Value] {
  // Split rather than Slice: its gradient (a Concat) keeps static shapes.
  const [center, size] = g.split(boxes, [2, 2], 1);
  const half = g.mul(size, 0.5);
  return [g.sub(center, half), g.add(center, half)];
}

/** `v[:, 0:1] * v[:, 1:2]` of a `[B, 2]` value. */
function product2(g: Graph, v: Value): Value {
  const [a, b] = g.split(v, [1, 1], 1);
  return g.mul(a, b);
}

/**
 * OSTrack's GIoU and L1 box losses in the graph; see {@link boxLossReference}.
 * `predicted` and `target` are `[B, 4]` `(cx, cy, w, h)`; the target is detached and its
 * corners are clamped to `[0, 1]`.
 */
export function boxLoss(g: Graph, predicted: Value, target: Value): BoxLossValues {
  sameGraph(g, [predicted, target]);
  const s = shapeOf(predicted, 'boxLoss predicted');
  if (s.length !== 2 || s[1] !== 4) throw new InvalidArgumentError(`boxLoss predicted (${predicted}) must have shape [B, 4]`);
  const batch = s[0];
  expectShape(target, [batch, 4], 'boxLoss target');
  sameDType([predicted, target], 'boxLoss');
  return g.scope('box_loss', () => {
    const [pLo, pHi] = corners(g, predicted);
    const [tLoRaw, tHiRaw] = corners(g, stopGradient(g, target));
    const tLo = g.clip(tLoRaw, 0, 1);
    const tHi = g.clip(tHiRaw, 0, 1);
    const areaP = product2(g, g.sub(pHi, pLo));
    const areaT = product2(g, g.sub(tHi, tLo));
    const inter = product2(g, g.clip(g.sub(g.min(pHi, tHi), g.max(pLo, tLo)), 0));
    const union = g.sub(g.add(areaP, areaT), inter);
    const iou = g.div(inter, union);
    const enclosing = product2(g, g.clip(g.sub(g.max(pHi, tHi), g.min(pLo, tLo)), 0));
    const giou = g.sub(iou, g.div(g.sub(enclosing, union), enclosing));
    const giouLoss = meanAll(g, g.sub(1, giou));
    const l1 = meanAll(g, g.concat([g.abs(g.sub(pLo, tLo)), g.abs(g.sub(pHi, tHi))], 1));
    return { giou: giouLoss, l1, iou };
  });
}

/**
 * The decision branch's loss in the graph; see {@link decisionLossReference}. `predicted`
 * is the terminating score and `iou` the exit box's IoU, both `[B, 1]`; the IoU is
 * detached here, so the box receives no gradient from this term.
 */
export function decisionLoss(g: Graph, predicted: Value, iou: Value, kind: 'l1' | 'bce' = 'l1', epsilon = defaultLossSettings.probabilityEpsilon): Value {
  sameGraph(g, [predicted, iou]);
  const s = shapeOf(predicted, 'decisionLoss predicted');
  expectShape(iou, s, 'decisionLoss iou');
  sameDType([predicted, iou], 'decisionLoss');
  return g.scope('decision_loss', () => {
    const t = stopGradient(g, iou);
    if (kind === 'l1') return meanAll(g, g.abs(g.sub(predicted, t)));
    if (kind !== 'bce') throw new InvalidArgumentError(`decisionLoss kind must be 'l1' or 'bce', got ${JSON.stringify(kind)}`);
    const p = g.clip(predicted, epsilon, 1 - epsilon);
    return g.neg(meanAll(g, g.add(g.mul(t, g.log(p)), g.mul(g.sub(1, t), g.log(g.sub(1, p))))));
  });
}

/**
 * The `'asGoodAsLast'` decision target in the graph; see {@link asGoodAsLastReference}.
 * `iou` and `lastIoU` are `[B, 1]`; the result (`1` or `0` in their dtype) is detached.
 */
export function asGoodAsLast(g: Graph, iou: Value, lastIoU: Value, margin: number): Value {
  sameGraph(g, [iou, lastIoU]);
  expectShape(lastIoU, shapeOf(iou, 'asGoodAsLast iou'), 'asGoodAsLast lastIoU');
  sameDType([iou, lastIoU], 'asGoodAsLast');
  return g.scope('as_good_as_last', () => {
    const worse = g.less(stopGradient(g, iou), g.sub(stopGradient(g, lastIoU), margin));
    return stopGradient(g, g.sub(1, g.cast(worse, iou.dtype)));
  });
}

/**
 * The target-aware feature-mimicking loss in the graph; see
 * {@link featureMimicLossReference}. `student` (exit k's search tokens) and `teacher` (the
 * last exit's) are `[B, N, C]`, `mask` is `[B, N]`. The teacher is detached after its
 * LayerNorm (`stopgrad(LN(f_K))`); the mask is a constant.
 */
export function featureMimicLoss(g: Graph, student: Value, teacher: Value, mask: Value, options: FeatureMimicOptions = {}): Value {
  sameGraph(g, [student, teacher, mask]);
  const s = shapeOf(student, 'featureMimicLoss student');
  if (s.length !== 3) throw new InvalidArgumentError(`featureMimicLoss student (${student}) must have shape [B, N, C]`);
  expectShape(teacher, s, 'featureMimicLoss teacher');
  expectShape(mask, [s[0], s[1]], 'featureMimicLoss mask');
  sameDType([student, teacher, mask], 'featureMimicLoss');
  const epsilon = options.epsilon ?? defaultLossSettings.layerNormEpsilon;
  const reduction = options.reduction ?? defaultLossSettings.featureReduction;
  const channels = s[2];
  return g.scope('feature_loss', () => {
    const ones = g.constant(new Array<number>(channels).fill(1), [channels], student.dtype);
    const ln = (x: Value) => g.layerNorm(x, ones, undefined, { axis: -1, epsilon });
    const target = stopGradient(g, ln(teacher));
    const d = g.sub(ln(student), target);
    const sq = reduction === 'mean' ? g.reduceMean(g.mul(d, d), [2], false) : g.reduceSum(g.mul(d, d), [2], false); // [B, N]
    const m = stopGradient(g, mask);
    const num = g.reduceSum(g.mul(m, sq), [1], false);
    const den = g.max(g.reduceSum(m, [1], false), 1e-12);
    return meanAll(g, g.div(num, den));
  });
}

/**
 * Dense size supervision in the graph; see {@link denseSizeLossReference}. `sizeMap` is
 * `[B, 2, n, n]`, `heatmap` `[B, 1, n, n]` and `boxes` `[B, 4]`; heat map and boxes are
 * detached.
 */
export function denseSizeLoss(g: Graph, sizeMap: Value, heatmap: Value, boxes: Value): Value {
  const batch = checkDenseInputs(g, 'denseSizeLoss', 'sizeMap', sizeMap, heatmap, boxes).batch;
  return g.scope('size_dense_loss', () => {
    const [, wh] = g.split(stopGradient(g, boxes), [2, 2], 1);
    return heatWeightedL1(g, sizeMap, g.reshape(wh, [batch, 2, 1, 1]), heatmap);
  });
}

/**
 * Dense offset supervision in the graph; see {@link denseOffsetLossReference}. `offsetMap`
 * is `[B, 2, n, n]`, `heatmap` `[B, 1, n, n]` and `boxes` `[B, 4]`; heat map and boxes are
 * detached.
 */
export function denseOffsetLoss(g: Graph, offsetMap: Value, heatmap: Value, boxes: Value): Value {
  const { batch, n } = checkDenseInputs(g, 'denseOffsetLoss', 'offsetMap', offsetMap, heatmap, boxes);
  return g.scope('offset_dense_loss', () => {
    const [centre] = g.split(stopGradient(g, boxes), [2, 2], 1);
    // Each cell's own (ix, iy), channel-first like the offset map.
    const grid: number[] = [];
    for (let c = 0; c < 2; c++) for (let iy = 0; iy < n; iy++) for (let ix = 0; ix < n; ix++) grid.push(c === 0 ? ix : iy);
    const cells = g.constant(grid, [1, 2, n, n], offsetMap.dtype);
    return heatWeightedL1(g, offsetMap, g.sub(g.mul(g.reshape(centre, [batch, 2, 1, 1]), n), cells), heatmap);
  });
}

/** Shapes and dtypes of a dense term's `[B, 2, n, n]` map, `[B, 1, n, n]` heat map and `[B, 4]` boxes. */
function checkDenseInputs(g: Graph, loss: string, mapName: string, map: Value, heatmap: Value, boxes: Value): { batch: number; n: number } {
  sameGraph(g, [map, heatmap, boxes]);
  const dims = scoreMapDims(heatmap, `${loss} heatmap`);
  expectShape(map, [dims.batch, 2, dims.n, dims.n], `${loss} ${mapName}`);
  expectShape(boxes, [dims.batch, 4], `${loss} boxes`);
  sameDType([map, heatmap, boxes], loss);
  return dims;
}

/**
 * Per sample `Σ_c heat_c · mean_k |map_kc - target_kc| / Σ_c heat_c` (k the two channels),
 * then the mean over the batch; the heat map is detached, `target` broadcasts to the map.
 */
function heatWeightedL1(g: Graph, map: Value, target: Value, heatmap: Value): Value {
  const heat = stopGradient(g, heatmap);
  const err = g.reduceMean(g.abs(g.sub(map, target)), [1], true); // [B, 1, n, n]
  const num = g.reduceSum(g.mul(err, heat), [1, 2, 3], false);
  const den = g.max(g.reduceSum(heat, [1, 2, 3], false), 1e-12);
  return meanAll(g, g.div(num, den));
}

/**
 * The temperature-scaled KL between two score maps in the graph; see
 * {@link scoreMapKLReference}. `student` and `teacher` are `[B, 1, n, n]` (or any
 * `[B, ...]`: each sample's values form one distribution); the teacher is detached.
 */
export function scoreMapKL(g: Graph, student: Value, teacher: Value, options: ScoreMapKLOptions = {}): Value {
  sameGraph(g, [student, teacher]);
  const s = shapeOf(student, 'scoreMapKL student');
  expectShape(teacher, s, 'scoreMapKL teacher');
  sameDType([student, teacher], 'scoreMapKL');
  if (s.length < 2) throw new InvalidArgumentError(`scoreMapKL student (${student}) must have a batch axis and at least one more`);
  const T = options.temperature ?? defaultLossSettings.temperature;
  const eps = options.epsilon ?? defaultLossSettings.probabilityEpsilon;
  const batch = s[0];
  const cells = s.slice(1).reduce((a, b) => a * b, 1);
  return g.scope('score_kl', () => {
    const logits = (x: Value) => {
      const flat = g.reshape(x, [batch, cells]);
      if (options.input === 'logit') return flat;
      const p = g.clip(flat, eps, 1 - eps);
      return g.sub(g.log(p), g.log(g.sub(1, p)));
    };
    const logQ = g.logSoftmax(g.div(logits(stopGradient(g, teacher)), T), 1);
    const logP = g.logSoftmax(g.div(logits(student), T), 1);
    const kl = g.reduceSum(g.mul(g.exp(logQ), g.sub(logQ, logP)), [1], false);
    return g.mul(meanAll(g, kl), T * T);
  });
}

/** One exit's head outputs in the training graph. `B` is the batch, `n` the map side. */
export interface ExitHeadValues {
  /** `[B, 1, n, n]` sigmoid score map. */
  readonly scoreMap: Value;
  /** `[B, 2, n, n]` size map (w, h as fractions of the crop). */
  readonly sizeMap: Value;
  /** `[B, 2, n, n]` offset map (x, y in cells). */
  readonly offsetMap: Value;
  /** `[B, 1]` decision branch output (predicted IoU); without it the decision term is skipped. */
  readonly terminatingScore?: Value;
  /** `[B, n·n, C]` search tokens of this exit, for the feature loss. */
  readonly searchTokens?: Value;
}

/** The targets in the training graph (graph inputs fed by the data pipeline). */
export interface TrackingTargetValues {
  /** `[B, 1, n, n]` Gaussian heat maps. */
  readonly heatmap: Value;
  /** `[B, 4]` `(cx, cy, w, h)` in fractions of the crop. */
  readonly boxes: Value;
  /** `[B, n·n]` token weights of the feature loss. */
  readonly tokenMask?: Value;
}

/** {@link TrackingLossTerms} in the graph, plus the decoded boxes and their IoU. */
export interface TrackingLossValues extends TrackingLossTerms<Value> {
  /** Decoded boxes `[B, 4]` `(cx, cy, w, h)`. */
  readonly boxes: Value;
  /** IoU of each decoded box with the truth, `[B, 1]`. */
  readonly iou: Value;
}

/**
 * One exit's tracking loss in the graph (OSTrack's loss plus the decision branch):
 * `giou · L_giou + l1 · L_l1 + focal · L_focal + decision · L_decision` on the box decoded
 * at the argmax of the exit's own score map. See {@link trackingLossReference}; `lastIoU`
 * (`[B, 1]`, the last exit's IoU) is what an early exit's `'asGoodAsLast'` target compares with.
 */
export function trackingLoss(g: Graph, exit: ExitHeadValues, targets: TrackingTargetValues, config: LossConfig = {}, lastIoU?: Value): TrackingLossValues {
  const c = resolveLossConfig(config);
  const w = c.weights;
  const boxes = decodeBoxes(g, exit.scoreMap, exit.sizeMap, exit.offsetMap);
  const box = boxLoss(g, boxes, targets.boxes);
  const focal = focalLoss(g, exit.scoreMap, targets.heatmap, { alpha: c.focalAlpha, beta: c.focalBeta, epsilon: c.probabilityEpsilon });
  const decision = exit.terminatingScore ? decisionLoss(g, exit.terminatingScore, c.decisionTarget === 'asGoodAsLast' && lastIoU ? asGoodAsLast(g, box.iou, lastIoU, c.decisionMargin) : box.iou, c.decisionLoss, c.probabilityEpsilon) : undefined;
  let total = g.add(g.add(g.mul(box.giou, w.giou), g.mul(box.l1, w.l1)), g.mul(focal, w.focal));
  if (decision) total = g.add(total, g.mul(decision, w.decision));
  const sizeDense = (w.sizeDense ?? 0) > 0 ? denseSizeLoss(g, exit.sizeMap, targets.heatmap, targets.boxes) : undefined;
  if (sizeDense) total = g.add(total, g.mul(sizeDense, w.sizeDense!));
  const offsetDense = (w.offsetDense ?? 0) > 0 ? denseOffsetLoss(g, exit.offsetMap, targets.heatmap, targets.boxes) : undefined;
  if (offsetDense) total = g.add(total, g.mul(offsetDense, w.offsetDense!));
  const meanIoU = meanAll(g, stopGradient(g, box.iou));
  return { total, giou: box.giou, l1: box.l1, focal, ...(decision ? { decision } : {}), ...(sizeDense ? { sizeDense } : {}), ...(offsetDense ? { offsetDense } : {}), meanIoU, boxes, iou: box.iou };
}

/**
 * The DyTrack loss over all exits in the graph (ordered shallow to deep; the last exit
 * is the teacher of the self-distillation terms, and is detached in them). See
 * {@link dytrackLossReference} for the formula and the component names. Terms whose
 * weight is 0 are not built. Each exit's subgraph is scoped `exit{k}/`.
 */
export function dytrackLoss(g: Graph, exits: readonly ExitHeadValues[], targets: TrackingTargetValues, config: LossConfig = {}): DyTrackLoss<Value> {
  if (exits.length === 0) throw new InvalidArgumentError('dytrackLoss needs at least one exit');
  const c = resolveLossConfig(config, exits.length);
  const last = exits[exits.length - 1];
  const components: Record<string, Value> = {};
  let total: Value | undefined;
  const accumulate = (v: Value, weight: number) => {
    const term = weight === 1 ? v : g.mul(v, weight);
    total = total ? g.add(total, term) : term;
  };
  // With the 'asGoodAsLast' target, each early exit's decision compares its IoU with the last exit's.
  const lastIoU =
    c.decisionTarget === 'asGoodAsLast' && exits.length > 1
      ? g.scope('decision_target', () => boxLoss(g, decodeBoxes(g, last.scoreMap, last.sizeMap, last.offsetMap), targets.boxes).iou)
      : undefined;
  exits.forEach((exit, k) =>
    g.scope(`exit${k}`, () => {
      const t = trackingLoss(g, exit, targets, c, k < exits.length - 1 ? lastIoU : undefined);
      accumulate(t.total, c.weights.exits![k]);
      components[`exit${k}/tracking`] = t.total;
      components[`exit${k}/giou`] = t.giou;
      components[`exit${k}/l1`] = t.l1;
      components[`exit${k}/focal`] = t.focal;
      if (t.decision) components[`exit${k}/decision`] = t.decision;
      if (t.sizeDense) components[`exit${k}/sizeDense`] = t.sizeDense;
      if (t.offsetDense) components[`exit${k}/offsetDense`] = t.offsetDense;
      components[`exit${k}/meanIoU`] = t.meanIoU;
      if (k === exits.length - 1) return;
      if (c.weights.feature > 0) {
        if (!exit.searchTokens || !last.searchTokens || !targets.tokenMask) {
          throw new InvalidArgumentError(`dytrackLoss: the feature loss (weight ${c.weights.feature}) needs searchTokens on exit ${k} and the last exit, and targets.tokenMask`);
        }
        const f = featureMimicLoss(g, exit.searchTokens, last.searchTokens, targets.tokenMask, { epsilon: c.layerNormEpsilon, reduction: c.featureReduction });
        components[`exit${k}/feature`] = f;
        accumulate(f, c.weights.feature);
      }
      if (c.weights.scoreKL > 0) {
        const kl = scoreMapKL(g, exit.scoreMap, last.scoreMap, { temperature: c.temperature, epsilon: c.probabilityEpsilon });
        components[`exit${k}/scoreKL`] = kl;
        accumulate(kl, c.weights.scoreKL);
      }
    }),
  );
  components.total = total!;
  return { total: total!, components };
}
