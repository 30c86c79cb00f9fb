import { InvalidArgumentError } from '@dytrack/core';
import type { LossConfig } from './config.js';
import { defaultLossSettings, resolveLossConfig } from './config.js';

// Plain float64 implementations of every loss, on typed arrays. They define what the
// graph builders in ./graph.ts must compute, and serve for logging and debugging.

/** Any array of numbers: a typed array (Float32Array, Float64Array, ...) or a plain array. */
export type Numbers = ArrayLike<number>;

function expectLength(a: Numbers, length: number, what: string): void {
  if (a.length !== length) throw new InvalidArgumentError(`${what} has ${a.length} values, expected ${length}`);
}

function positiveInt(v: number, what: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`${what} must be a positive integer, got ${String(v)}`);
}

function clampProbability(p: number, eps: number): number {
  return p < eps ? eps : p > 1 - eps ? 1 - eps : p;
}

/** Options of {@link focalLossReference} and the graph's `focalLoss`. */
export interface FocalLossOptions {
  /** Exponent on the prediction. Default 2. */
  readonly alpha?: number;
  /** Exponent of the negative weights `(1 - heat)^beta`. Default 4. */
  readonly beta?: number;
  /** Predictions are clamped to `[eps, 1 - eps]`. Default 1e-4. */
  readonly epsilon?: number;
}

/**
 * OSTrack's focal loss (CornerNet's variant) of a score map against the Gaussian heat map,
 * over the whole batch. With `p` the clamped prediction and `y` the target:
 *
 * - positives (`y == 1`): `log(p) · (1 - p)^alpha`;
 * - negatives (`y < 1`): `log(1 - p) · p^alpha · (1 - y)^beta`;
 * - `loss = -(Σ positives + Σ negatives) / max(#positives, 1)`
 *
 * (OSTrack divides by the number of positives when there are any, and by 1 otherwise).
 */
export function focalLossReference(prediction: Numbers, target: Numbers, options: FocalLossOptions = {}): number {
  expectLength(target, prediction.length, 'focal loss target');
  const alpha = options.alpha ?? defaultLossSettings.focalAlpha;
  const beta = options.beta ?? defaultLossSettings.focalBeta;
  const eps = options.epsilon ?? defaultLossSettings.probabilityEpsilon;
  let pos = 0;
  let neg = 0;
  let count = 0;
  for (let i = 0; i < prediction.length; i++) {
    const p = clampProbability(prediction[i], eps);
    const y = target[i];
    if (y === 1) {
      pos += Math.log(p) * Math.pow(1 - p, alpha);
      count++;
    } else if (y < 1) {
      neg += Math.log(1 - p) * Math.pow(p, alpha) * Math.pow(1 - y, beta);
    }
  }
  return -(pos + neg) / Math.max(count, 1);
}

/**
 * Decodes one box per sample at the argmax of the predicted score map, as OSTrack's
 * `cal_bbox` does in training (no Hann window; the first cell in row-major order on ties):
 * `cx = (ix + offset_x) / n`, `cy = (iy + offset_y) / n`, `w = size_w`, `h = size_h` at
 * that cell. Maps are `[B, 1, n, n]` and `[B, 2, n, n]`, row-major. Returns `[B, 4]`
 * `(cx, cy, w, h)` in fractions of the crop.
 */
export function decodeBoxesReference(scoreMap: Numbers, sizeMap: Numbers, offsetMap: Numbers, batch: number, mapSize: number, out = new Float64Array(batch * 4)): Float64Array {
  positiveInt(batch, 'batch');
  positiveInt(mapSize, 'mapSize');
  const cells = mapSize * mapSize;
  expectLength(scoreMap, batch * cells, 'score map');
  expectLength(sizeMap, batch * 2 * cells, 'size map');
  expectLength(offsetMap, batch * 2 * cells, 'offset map');
  expectLength(out, batch * 4, 'decoded boxes out');
  for (let b = 0; b < batch; b++) {
    let best = -Infinity;
    let index = 0;
    for (let i = 0; i < cells; i++) {
      const v = scoreMap[b * cells + i];
      if (v > best) {
        best = v;
        index = i;
      }
    }
    const iy = Math.floor(index / mapSize);
    const ix = index - iy * mapSize;
    const base = b * 2 * cells + index;
    out[b * 4] = (ix + offsetMap[base]) / mapSize;
    out[b * 4 + 1] = (iy + offsetMap[base + cells]) / mapSize;
    out[b * 4 + 2] = sizeMap[base];
    out[b * 4 + 3] = sizeMap[base + cells];
  }
  return out;
}

/** Result of {@link boxLossReference}. */
export interface BoxLossResult {
  /** `mean_b (1 - GIoU_b)`. */
  readonly giou: number;
  /** Mean absolute difference of the corner coordinates, over `B · 4` values. */
  readonly l1: number;
  /** IoU of each sample's boxes, `[B]`. */
  readonly iou: Float64Array;
}

/**
 * OSTrack's box losses. Both box sets are `[B, 4]` `(cx, cy, w, h)`; they are turned into
 * corners `(cx - w/2, cy - h/2, cx + w/2, cy + h/2)` and the target's corners are clamped
 * to `[0, 1]`. Then, per sample, `IoU = inter / union` and
 * `GIoU = IoU - (enclosing - union) / enclosing` (enclosing: the smallest box holding
 * both); the GIoU loss is `mean(1 - GIoU)` and the L1 loss the mean of `|corner difference|`.
 */
export function boxLossReference(predicted: Numbers, target: Numbers, batch: number): BoxLossResult {
  positiveInt(batch, 'batch');
  expectLength(predicted, batch * 4, 'predicted boxes');
  expectLength(target, batch * 4, 'target boxes');
  const iou = new Float64Array(batch);
  let giouSum = 0;
  let l1Sum = 0;
  const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let b = 0; b < batch; b++) {
    const o = b * 4;
    const px1 = predicted[o] - 0.5 * predicted[o + 2];
    const py1 = predicted[o + 1] - 0.5 * predicted[o + 3];
    const px2 = predicted[o] + 0.5 * predicted[o + 2];
    const py2 = predicted[o + 1] + 0.5 * predicted[o + 3];
    const tx1 = clamp01(target[o] - 0.5 * target[o + 2]);
    const ty1 = clamp01(target[o + 1] - 0.5 * target[o + 3]);
    const tx2 = clamp01(target[o] + 0.5 * target[o + 2]);
    const ty2 = clamp01(target[o + 1] + 0.5 * target[o + 3]);
    const areaP = (px2 - px1) * (py2 - py1);
    const areaT = (tx2 - tx1) * (ty2 - ty1);
    const iw = Math.max(Math.min(px2, tx2) - Math.max(px1, tx1), 0);
    const ih = Math.max(Math.min(py2, ty2) - Math.max(py1, ty1), 0);
    const inter = iw * ih;
    const union = areaP + areaT - inter;
    const iouB = inter / union;
    const ew = Math.max(Math.max(px2, tx2) - Math.min(px1, tx1), 0);
    const eh = Math.max(Math.max(py2, ty2) - Math.min(py1, ty1), 0);
    const enclosing = ew * eh;
    iou[b] = iouB;
    giouSum += 1 - (iouB - (enclosing - union) / enclosing);
    l1Sum += Math.abs(px1 - tx1) + Math.abs(py1 - ty1) + Math.abs(px2 - tx2) + Math.abs(py2 - ty2);
  }
  return { giou: giouSum / batch, l1: l1Sum / (batch * 4), iou };
}

/**
 * The decision branch's loss: the predicted IoU `p` (its terminating score, a
 * probability) against the IoU `t` of the exit's decoded box with the truth (a constant
 * target). `'l1'`: `mean |p - t|`; `'bce'`: `mean -(t log p + (1 - t) log(1 - p))` with `p`
 * clamped to `[eps, 1 - eps]`.
 */
export function decisionLossReference(predicted: Numbers, iou: Numbers, kind: 'l1' | 'bce' = 'l1', epsilon = defaultLossSettings.probabilityEpsilon): number {
  expectLength(iou, predicted.length, 'decision IoU target');
  if (predicted.length === 0) throw new InvalidArgumentError('decision loss needs at least one sample');
  let sum = 0;
  for (let i = 0; i < predicted.length; i++) {
    const t = iou[i];
    if (kind === 'l1') sum += Math.abs(predicted[i] - t);
    else {
      const p = clampProbability(predicted[i], epsilon);
      sum -= t * Math.log(p) + (1 - t) * Math.log(1 - p);
    }
  }
  return sum / predicted.length;
}

/**
 * The `'asGoodAsLast'` decision target of an early exit, per sample: `1` when its box's
 * IoU is at least the last exit's less `margin`, else `0`. (See `LossSettings.decisionTarget`.)
 */
export function asGoodAsLastReference(iou: Numbers, lastIoU: Numbers, margin: number): Float64Array {
  expectLength(lastIoU, iou.length, 'last exit IoU');
  const out = new Float64Array(iou.length);
  for (let i = 0; i < iou.length; i++) out[i] = iou[i] >= lastIoU[i] - margin ? 1 : 0;
  return out;
}

/** Options of {@link featureMimicLossReference} and the graph's `featureMimicLoss`. */
export interface FeatureMimicOptions {
  /** LayerNorm epsilon. Default 1e-6. */
  readonly epsilon?: number;
  /** `'mean'` (default) or `'sum'` of the squared difference over channels. */
  readonly reduction?: 'mean' | 'sum';
}

/** Affine-free LayerNorm of one row, as ONNX `LayerNormalization` computes it (biased variance). */
function layerNormRow(x: Numbers, offset: number, channels: number, epsilon: number, out: Float64Array): void {
  let mean = 0;
  for (let c = 0; c < channels; c++) mean += x[offset + c];
  mean /= channels;
  let variance = 0;
  for (let c = 0; c < channels; c++) {
    const d = x[offset + c] - mean;
    variance += d * d;
  }
  variance /= channels;
  const inv = 1 / Math.sqrt(variance + epsilon);
  for (let c = 0; c < channels; c++) out[c] = (x[offset + c] - mean) * inv;
}

/**
 * The target-aware feature-mimicking loss of DESIGN 7, per sample
 * `Σ_i m_i · ||LN(f_k,i) - LN(f_K,i)||^2 / Σ_i m_i` over the search tokens `i`
 * (`||·||^2` divided by the channel count with `reduction: 'mean'`), then the mean over
 * the batch. `LN` normalises each token over its channels without scale or bias. A sample
 * whose mask sums to 0 contributes 0. `student` and `teacher` are `[B, N, C]`, `mask` `[B, N]`.
 */
export function featureMimicLossReference(
  student: Numbers,
  teacher: Numbers,
  mask: Numbers,
  batch: number,
  tokens: number,
  channels: number,
  options: FeatureMimicOptions = {},
): number {
  positiveInt(batch, 'batch');
  positiveInt(tokens, 'tokens');
  positiveInt(channels, 'channels');
  expectLength(student, batch * tokens * channels, 'student features');
  expectLength(teacher, batch * tokens * channels, 'teacher features');
  expectLength(mask, batch * tokens, 'token mask');
  const eps = options.epsilon ?? defaultLossSettings.layerNormEpsilon;
  const divisor = (options.reduction ?? defaultLossSettings.featureReduction) === 'mean' ? channels : 1;
  const a = new Float64Array(channels);
  const t = new Float64Array(channels);
  let total = 0;
  for (let b = 0; b < batch; b++) {
    let num = 0;
    let den = 0;
    for (let i = 0; i < tokens; i++) {
      const row = (b * tokens + i) * channels;
      layerNormRow(student, row, channels, eps, a);
      layerNormRow(teacher, row, channels, eps, t);
      let sq = 0;
      for (let c = 0; c < channels; c++) sq += (a[c] - t[c]) ** 2;
      const m = mask[b * tokens + i];
      num += m * (sq / divisor);
      den += m;
    }
    total += num / Math.max(den, 1e-12);
  }
  return total / batch;
}

/** Options of {@link scoreMapKLReference} and the graph's `scoreMapKL`. */
export interface ScoreMapKLOptions {
  /** Temperature `T`. Default 2. */
  readonly temperature?: number;
  /** Probabilities are clamped to `[eps, 1 - eps]` before taking logits. Default 1e-4. */
  readonly epsilon?: number;
  /** Whether the maps hold sigmoid probabilities (default) or logits. */
  readonly input?: 'probability' | 'logit';
}

/**
 * The temperature-scaled KL divergence between two score maps over their cells:
 * with logits `z` (`log(p / (1 - p))` of the clamped probabilities, or the maps as given),
 * `q = softmax(z_teacher / T)`, `log p = log_softmax(z_student / T)`,
 * `KL = T^2 · mean_b Σ_i q_i (log q_i - log p_i)`. Maps are `[B, cells]` (any layout
 * whose last `cells` values are one sample's map).
 */
export function scoreMapKLReference(student: Numbers, teacher: Numbers, batch: number, cells: number, options: ScoreMapKLOptions = {}): number {
  positiveInt(batch, 'batch');
  positiveInt(cells, 'cells');
  expectLength(student, batch * cells, 'student score map');
  expectLength(teacher, batch * cells, 'teacher score map');
  const T = options.temperature ?? defaultLossSettings.temperature;
  const eps = options.epsilon ?? defaultLossSettings.probabilityEpsilon;
  const logit = (v: number) => {
    if (options.input === 'logit') return v;
    const p = clampProbability(v, eps);
    return Math.log(p) - Math.log(1 - p);
  };
  const zs = new Float64Array(cells);
  const zt = new Float64Array(cells);
  let total = 0;
  for (let b = 0; b < batch; b++) {
    let ms = -Infinity;
    let mt = -Infinity;
    for (let i = 0; i < cells; i++) {
      zs[i] = logit(student[b * cells + i]) / T;
      zt[i] = logit(teacher[b * cells + i]) / T;
      ms = Math.max(ms, zs[i]);
      mt = Math.max(mt, zt[i]);
    }
    let ss = 0;
    let st = 0;
    for (let i = 0; i < cells; i++) {
      ss += Math.exp(zs[i] - ms);
      st += Math.exp(zt[i] - mt);
    }
    const lse = ms + Math.log(ss);
    const lte = mt + Math.log(st);
    let kl = 0;
    for (let i = 0; i < cells; i++) {
      const logq = zt[i] - lte;
      kl += Math.exp(logq) * (logq - (zs[i] - lse));
    }
    total += kl;
  }
  return (T * T * total) / batch;
}

/** One exit's head outputs as host arrays (see the graph's `ExitHeadValues` for the layouts). */
export interface ExitHeadArrays {
  /** `[B, 1, n, n]` sigmoid score map. */
  readonly scoreMap: Numbers;
  /** `[B, 2, n, n]` size map (w, h as fractions of the crop). */
  readonly sizeMap: Numbers;
  /** `[B, 2, n, n]` offset map (x, y in cells). */
  readonly offsetMap: Numbers;
  /** `[B, 1]` decision branch output (predicted IoU); the decision term is skipped without it. */
  readonly terminatingScore?: Numbers;
  /** `[B, n·n, C]` search tokens compared by the feature loss. */
  readonly searchTokens?: Numbers;
}

/** The per-sample targets as host arrays. */
export interface TrackingTargetArrays {
  /** `[B, 1, n, n]` Gaussian heat maps ({@link gaussianHeatmap}). */
  readonly heatmap: Numbers;
  /** `[B, 4]` `(cx, cy, w, h)` in fractions of the crop ({@link boxTarget}). */
  readonly boxes: Numbers;
  /** `[B, n·n]` token weights of the feature loss ({@link tokenMask}). */
  readonly tokenMask?: Numbers;
}

/** Sizes the reference losses need (the graph reads them from the values' shapes). */
export interface LossDims {
  /** Batch size `B`. */
  readonly batch: number;
  /** Side `n` of the maps; the search tokens are the `n·n` cells. */
  readonly mapSize: number;
  /** Channels `C` of the search tokens (only for the feature loss). */
  readonly channels?: number;
}

/** The terms of one exit's tracking loss (numbers for the reference, Values in the graph). */
export interface TrackingLossTerms<T> {
  /** `giou·L_giou + l1·L_l1 + focal·L_focal + decision·L_decision`. */
  readonly total: T;
  /** `mean(1 - GIoU)`. */
  readonly giou: T;
  /** Mean absolute corner error. */
  readonly l1: T;
  /** Focal loss of the score map. */
  readonly focal: T;
  /** Decision branch loss (absent without a terminating score). */
  readonly decision?: T;
  /** Dense size loss (present when its weight is positive). */
  readonly sizeDense?: T;
  /** Dense offset loss (present when its weight is positive). */
  readonly offsetDense?: T;
  /** Mean IoU of the decoded boxes with the truth (for logging; carries no gradient). */
  readonly meanIoU: T;
}

/**
 * Dense size supervision: per sample, `Σ_c heat_c · (|w_c - w| + |h_c - h|) / 2 / Σ_c heat_c`
 * over the map cells `c`, with `(w_c, h_c)` the size map and `(w, h)` the truth (fractions
 * of the crop, entries 2 and 3 of `boxes`); the mean over the batch. A sample whose heat
 * map is all zero contributes 0. `sizeMap` is `[B, 2, n, n]`, `heatmap` `[B, 1, n, n]`.
 */
export function denseSizeLossReference(sizeMap: Numbers, heatmap: Numbers, boxes: Numbers, batch: number, mapSize: number): number {
  expectLength(sizeMap, batch * 2 * mapSize * mapSize, 'size map');
  expectLength(boxes, batch * 4, 'boxes');
  return heatWeightedL1Reference(sizeMap, heatmap, batch, mapSize, (b, k) => boxes[b * 4 + 2 + k]);
}

/**
 * Dense offset supervision: per sample,
 * `Σ_c heat_c · (|ox_c - (cx·n - ix_c)| + |oy_c - (cy·n - iy_c)|) / 2 / Σ_c heat_c` over the
 * map cells `c = (ix_c, iy_c)`, with `(ox_c, oy_c)` the offset map (in cells) and `(cx, cy)`
 * the truth's centre (fractions of the crop, entries 0 and 1 of `boxes`): every cell near
 * the truth learns the offset that decodes (`(ix + ox)/n`) to the truth's centre. The mean
 * over the batch; a sample whose heat map is all zero contributes 0. `offsetMap` is
 * `[B, 2, n, n]`, `heatmap` `[B, 1, n, n]`.
 */
export function denseOffsetLossReference(offsetMap: Numbers, heatmap: Numbers, boxes: Numbers, batch: number, mapSize: number): number {
  const n = mapSize;
  expectLength(offsetMap, batch * 2 * n * n, 'offset map');
  expectLength(boxes, batch * 4, 'boxes');
  // Channel 0: cx·n - ix; channel 1: cy·n - iy.
  return heatWeightedL1Reference(offsetMap, heatmap, batch, n, (b, k, ix, iy) => boxes[b * 4 + k] * n - (k === 0 ? ix : iy));
}

/**
 * Per sample `Σ_c heat_c · (|map_0c - t_0| + |map_1c - t_1|) / 2 / Σ_c heat_c` with the target
 * `t_k = target(b, k, ix, iy)` of cell `c = (ix, iy)`; the mean over the batch. A sample
 * without heat contributes 0.
 */
function heatWeightedL1Reference(map: Numbers, heatmap: Numbers, batch: number, n: number, target: (b: number, k: number, ix: number, iy: number) => number): number {
  const cells = n * n;
  expectLength(heatmap, batch * cells, 'heat map');
  let total = 0;
  for (let b = 0; b < batch; b++) {
    let num = 0;
    let den = 0;
    for (let c = 0; c < cells; c++) {
      const h = heatmap[b * cells + c];
      const ix = c % n;
      const iy = (c - ix) / n;
      num += (h * (Math.abs(map[b * 2 * cells + c] - target(b, 0, ix, iy)) + Math.abs(map[b * 2 * cells + cells + c] - target(b, 1, ix, iy)))) / 2;
      den += h;
    }
    total += num / Math.max(den, 1e-12);
  }
  return total / batch;
}

/**
 * One exit's tracking loss (see {@link TrackingLossTerms}), in float64. The decision
 * branch learns its box's IoU; with the `'asGoodAsLast'` target and `lastIoU` (the last
 * exit's IoU per sample) given, whether its box is as good as the last exit's.
 */
export function trackingLossReference(exit: ExitHeadArrays, targets: TrackingTargetArrays, dims: LossDims, config: LossConfig = {}, lastIoU?: Numbers): TrackingLossTerms<number> {
  const c = resolveLossConfig(config);
  const { batch, mapSize } = dims;
  const boxes = decodeBoxesReference(exit.scoreMap, exit.sizeMap, exit.offsetMap, batch, mapSize);
  const box = boxLossReference(boxes, targets.boxes, batch);
  expectLength(targets.heatmap, batch * mapSize * mapSize, 'target heat map');
  const focal = focalLossReference(exit.scoreMap, targets.heatmap, { alpha: c.focalAlpha, beta: c.focalBeta, epsilon: c.probabilityEpsilon });
  const decision = exit.terminatingScore ? decisionLossReference(exit.terminatingScore, c.decisionTarget === 'asGoodAsLast' && lastIoU ? asGoodAsLastReference(box.iou, lastIoU, c.decisionMargin) : box.iou, c.decisionLoss, c.probabilityEpsilon) : undefined;
  const w = c.weights;
  const sizeDense = (w.sizeDense ?? 0) > 0 ? denseSizeLossReference(exit.sizeMap, targets.heatmap, targets.boxes, batch, mapSize) : undefined;
  const offsetDense = (w.offsetDense ?? 0) > 0 ? denseOffsetLossReference(exit.offsetMap, targets.heatmap, targets.boxes, batch, mapSize) : undefined;
  const total =
    w.giou * box.giou +
    w.l1 * box.l1 +
    w.focal * focal +
    (decision === undefined ? 0 : w.decision * decision) +
    (sizeDense === undefined ? 0 : w.sizeDense! * sizeDense) +
    (offsetDense === undefined ? 0 : w.offsetDense! * offsetDense);
  const meanIoU = box.iou.reduce((s, v) => s + v, 0) / batch;
  return { total, giou: box.giou, l1: box.l1, focal, ...(decision === undefined ? {} : { decision }), ...(sizeDense === undefined ? {} : { sizeDense }), ...(offsetDense === undefined ? {} : { offsetDense }), meanIoU };
}

/** The whole DyTrack loss: its total and named components (`exit0/giou`, `exit1/feature`, ...). */
export interface DyTrackLoss<T> {
  /** The scalar to minimise. */
  readonly total: T;
  /**
   * Every term by name, for logging: per exit `k`, `exit{k}/tracking` (its tracking loss
   * before the per-exit weight), `exit{k}/giou`, `/l1`, `/focal`, `/decision`, `/meanIoU`,
   * and for early exits with a non-zero weight `exit{k}/feature` and `exit{k}/scoreKL`.
   */
  readonly components: Readonly<Record<string, T>>;
}

/**
 * The DyTrack loss over all exits (ordered shallow to deep; the last one teaches):
 * `Σ_k exits[k] · tracking_k + Σ_{k<K} (feature · L_feature(k, K) + scoreKL · L_kl(k, K))`,
 * in float64. Terms whose weight is 0 are not computed.
 */
export function dytrackLossReference(exits: readonly ExitHeadArrays[], targets: TrackingTargetArrays, dims: LossDims, config: LossConfig = {}): DyTrackLoss<number> {
  if (exits.length === 0) throw new InvalidArgumentError('dytrackLoss needs at least one exit');
  const c = resolveLossConfig(config, exits.length);
  const components: Record<string, number> = {};
  const last = exits[exits.length - 1];
  const cells = dims.mapSize * dims.mapSize;
  let total = 0;
  // With the 'asGoodAsLast' target, each early exit's decision compares its IoU with the last exit's.
  const lastIoU =
    c.decisionTarget === 'asGoodAsLast' && exits.length > 1
      ? boxLossReference(decodeBoxesReference(last.scoreMap, last.sizeMap, last.offsetMap, dims.batch, dims.mapSize), targets.boxes, dims.batch).iou
      : undefined;
  exits.forEach((exit, k) => {
    const t = trackingLossReference(exit, targets, dims, c, k < exits.length - 1 ? lastIoU : undefined);
    total += c.weights.exits![k] * t.total;
    components[`exit${k}/tracking`] = t.total;
    components[`exit${k}/giou`] = t.giou;
    components[`exit${k}/l1`] = t.l1;
    components[`exit${k}/focal`] = t.focal;
    if (t.decision !== undefined) components[`exit${k}/decision`] = t.decision;
    if (t.sizeDense !== undefined) components[`exit${k}/sizeDense`] = t.sizeDense;
    if (t.offsetDense !== undefined) components[`exit${k}/offsetDense`] = t.offsetDense;
    components[`exit${k}/meanIoU`] = t.meanIoU;
    if (k === exits.length - 1) return;
    if (c.weights.feature > 0) {
      if (!exit.searchTokens || !last.searchTokens || !targets.tokenMask || dims.channels === undefined) {
        throw new InvalidArgumentError(`dytrackLoss: the feature loss (weight ${c.weights.feature}) needs searchTokens on exit ${k} and the last exit, targets.tokenMask and dims.channels`);
      }
      const f = featureMimicLossReference(exit.searchTokens, last.searchTokens, targets.tokenMask, dims.batch, cells, dims.channels, {
        epsilon: c.layerNormEpsilon,
        reduction: c.featureReduction,
      });
      components[`exit${k}/feature`] = f;
      total += c.weights.feature * f;
    }
    if (c.weights.scoreKL > 0) {
      const kl = scoreMapKLReference(exit.scoreMap, last.scoreMap, dims.batch, cells, { temperature: c.temperature, epsilon: c.probabilityEpsilon });
      components[`exit${k}/scoreKL`] = kl;
      total += c.weights.scoreKL * kl;
    }
  });
  components.total = total;
  return { total, components };
}
