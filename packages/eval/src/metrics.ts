import { InvalidArgumentError, InvalidBoxError, type Box } from '@dytrack/core';

/**
 * The overlap thresholds of the success curve: 0, 0.05, ..., 1.0 (21 values),
 * as pytracking's `torch.arange(0, 1.05, 0.05)`.
 */
export const OVERLAP_THRESHOLDS: readonly number[] = Object.freeze(Array.from({ length: 21 }, (_, i) => i / 20));

/** Centre-error thresholds of the precision curve: 0, 1, ..., 50 pixels. */
export const CENTER_THRESHOLDS: readonly number[] = Object.freeze(Array.from({ length: 51 }, (_, i) => i));

/** Normalised centre-error thresholds: 0, 0.01, ..., 0.50. */
export const NORM_CENTER_THRESHOLDS: readonly number[] = Object.freeze(Array.from({ length: 51 }, (_, i) => i / 100));

/** Index of 20 px in {@link CENTER_THRESHOLDS} and of 0.20 in {@link NORM_CENTER_THRESHOLDS}. */
const AT_20 = 20;

/**
 * IoU in pytracking's inclusive-pixel convention: `br = xy + wh - 1`,
 * intersection `prod(max(br - tl + 1, 0))`.
 */
export function iouInclusive(a: Box, b: Box): number {
  const tlx = Math.max(a.x, b.x);
  const tly = Math.max(a.y, b.y);
  const brx = Math.min(a.x + a.width - 1, b.x + b.width - 1);
  const bry = Math.min(a.y + a.height - 1, b.y + b.height - 1);
  const inter = Math.max(brx - tlx + 1, 0) * Math.max(bry - tly + 1, 0);
  const union = a.width * a.height + b.width * b.height - inter;
  return inter / union;
}

/** Centre distance in pixels; centres are `x + (w - 1) / 2`. */
export function centerError(pred: Box, truth: Box): number {
  const dx = pred.x + 0.5 * (pred.width - 1) - (truth.x + 0.5 * (truth.width - 1));
  const dy = pred.y + 0.5 * (pred.height - 1) - (truth.y + 0.5 * (truth.height - 1));
  return Math.sqrt(dx * dx + dy * dy);
}

/** Centre distance with each axis divided by the truth's size (pytracking's normalised error). */
export function normalizedCenterError(pred: Box, truth: Box): number {
  const dx = (pred.x + 0.5 * (pred.width - 1)) / truth.width - (truth.x + 0.5 * (truth.width - 1)) / truth.width;
  const dy = (pred.y + 0.5 * (pred.height - 1)) / truth.height - (truth.y + 0.5 * (truth.height - 1)) / truth.height;
  return Math.sqrt(dx * dx + dy * dy);
}

/** Per-frame errors of one sequence, after the rules of DESIGN section 6. */
export interface SequenceErrors {
  /** IoU per frame; -1 where the truth is invalid or the target absent. */
  readonly overlap: Float64Array;
  /** Centre error in pixels; `Infinity` where the truth is invalid or the target absent. */
  readonly center: Float64Array;
  /** Normalised centre error; -1 where the truth is invalid, `Infinity` where the target is absent. */
  readonly normalizedCenter: Float64Array;
  /** Frames with a valid truth box and a present target. */
  readonly valid: Uint8Array;
  /** `ln(√(w·h) / √(w*·h*))` of prediction against truth per frame (the box's scale error); NaN where not valid. */
  readonly logScale: Float64Array;
}

/** Inputs of {@link sequenceErrors}. */
export interface SequenceErrorsInput {
  /** One predicted box per frame (frame 0 is replaced by the truth). */
  readonly predictions: readonly Box[];
  /** One truth box per frame. */
  readonly truth: readonly Box[];
  /**
   * Per-frame absence (LaSOT full occlusion or out of view, GOT-10k absence).
   * Absent frames count as failures in every measure.
   */
  readonly absent?: readonly boolean[];
  /** Sequence name, for error messages. */
  readonly name?: string;
}

/**
 * Per-frame IoU and centre errors of one sequence, pytracking's
 * `calc_seq_err_robust`:
 * - a prediction with NaN or negative size is an error ({@link InvalidBoxError});
 * - a zero-size prediction after frame 0 repeats the previous (already repaired)
 *   prediction, on frames whose truth has no NaN;
 * - frame 0's prediction is then replaced by the truth (and counted);
 * - invalid truth (width or height not > 0, or any NaN) gives IoU -1, centre
 *   error +inf and normalised centre error -1 (which, as in pytracking, passes
 *   every normalised-precision threshold);
 * - absent frames give IoU -1 and both centre errors +inf (pytracking's LaSOT
 *   rule, applied to every dataset with absence flags): failures everywhere.
 *
 * A truth box at x = 0 or y = 0 is valid: like pytracking, only the size is
 * checked.
 */
export function sequenceErrors(input: SequenceErrorsInput): SequenceErrors {
  const { truth, absent } = input;
  const name = input.name ?? 'sequence';
  const n = truth.length;
  if (n === 0) throw new InvalidArgumentError(`${name}: no truth boxes`);
  if (input.predictions.length !== n) {
    throw new InvalidArgumentError(`${name}: ${input.predictions.length} predictions for ${n} truth boxes`);
  }
  if (absent !== undefined && absent.length !== n) {
    throw new InvalidArgumentError(`${name}: ${absent.length} absence flags for ${n} truth boxes`);
  }
  const pred: Box[] = input.predictions.slice();
  for (let i = 0; i < n; i++) {
    const p = pred[i]!;
    if ([p.x, p.y, p.width, p.height].some((v) => Number.isNaN(v)) || p.width < 0 || p.height < 0) {
      throw new InvalidBoxError(
        `${name}: invalid prediction at frame ${i} (${p.x}, ${p.y}, ${p.width}, ${p.height}); NaN or negative size`,
      );
    }
  }
  for (let i = 1; i < n; i++) {
    const p = pred[i]!;
    const t = truth[i]!;
    const truthHasNaN = Number.isNaN(t.x) || Number.isNaN(t.y) || Number.isNaN(t.width) || Number.isNaN(t.height);
    if ((p.width === 0 || p.height === 0) && !truthHasNaN) pred[i] = pred[i - 1]!;
  }
  pred[0] = truth[0]!;

  const overlap = new Float64Array(n);
  const center = new Float64Array(n);
  const normalizedCenter = new Float64Array(n);
  const valid = new Uint8Array(n);
  const logScale = new Float64Array(n).fill(Number.NaN);
  for (let i = 0; i < n; i++) {
    const t = truth[i]!;
    const p = pred[i]!;
    const isAbsent = absent?.[i] === true;
    // pytracking tests only the size (`anno[:, 2:] > 0`, false for NaN); a NaN corner
    // would make every error NaN, so it is invalid too.
    const truthValid = t.width > 0 && t.height > 0 && !Number.isNaN(t.x) && !Number.isNaN(t.y);
    if (truthValid && !isAbsent) {
      valid[i] = 1;
      overlap[i] = iouInclusive(p, t);
      center[i] = centerError(p, t);
      normalizedCenter[i] = normalizedCenterError(p, t);
      logScale[i] = 0.5 * Math.log((p.width * p.height) / (t.width * t.height));
    } else {
      overlap[i] = -1;
      center[i] = Number.POSITIVE_INFINITY;
      normalizedCenter[i] = isAbsent ? Number.POSITIVE_INFINITY : -1;
    }
  }
  return { overlap, center, normalizedCenter, valid, logScale };
}

/**
 * Where a tracker's AUC goes: losing the target versus measuring it poorly. Frame 0 (the
 * given box) and frames without a valid, present truth are left out; the rest are "lost"
 * (IoU 0: the box does not touch the target) or "held" (IoU > 0).
 */
export interface FailureBreakdown {
  /** Lost frames, percent of all counted frames. */
  readonly lostFrames: number;
  /** Sequences where at least {@link LOSING_SEQUENCE_SHARE} of the counted frames are lost. */
  readonly sequencesLosing: number;
  /** Sequences considered. */
  readonly sequences: number;
  /** Median normalised centre error (pytracking's: by the truth's width and height) on held frames. */
  readonly heldCenterError: number;
  /** Median scale error on held frames, percent: `100·(e^m − 1)`, `m` the median of `|ln(√(wh) / √(w*h*))|`. */
  readonly heldScaleError: number;
  /** Mean IoU on held frames. */
  readonly heldIoU: number;
}

/** Share of lost frames from which a sequence counts as losing the target (0.1). */
export const LOSING_SEQUENCE_SHARE = 0.1;

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const m = values.length >> 1;
  return values.length % 2 === 1 ? values[m]! : 0.5 * (values[m - 1]! + values[m]!);
}

/** The {@link FailureBreakdown} of a tracker over sequences (their {@link sequenceErrors}). */
export function failureBreakdown(sequences: readonly SequenceErrors[]): FailureBreakdown {
  if (sequences.length === 0) throw new InvalidArgumentError('failureBreakdown needs at least one sequence');
  let counted = 0;
  let lost = 0;
  let losing = 0;
  let iouSum = 0;
  const center: number[] = [];
  const scale: number[] = [];
  for (const e of sequences) {
    let seqCounted = 0;
    let seqLost = 0;
    for (let i = 1; i < e.overlap.length; i++) {
      if (e.valid[i] !== 1) continue;
      seqCounted++;
      if (e.overlap[i]! <= 0) {
        seqLost++;
        continue;
      }
      iouSum += e.overlap[i]!;
      center.push(e.normalizedCenter[i]!);
      scale.push(Math.abs(e.logScale[i]!));
    }
    counted += seqCounted;
    lost += seqLost;
    if (seqCounted > 0 && seqLost >= LOSING_SEQUENCE_SHARE * seqCounted) losing++;
  }
  const held = counted - lost;
  return {
    lostFrames: counted === 0 ? Number.NaN : (100 * lost) / counted,
    sequencesLosing: losing,
    sequences: sequences.length,
    heldCenterError: median(center),
    heldScaleError: 100 * (Math.exp(median(scale)) - 1),
    heldIoU: held === 0 ? Number.NaN : iouSum / held,
  };
}

/** Curves and summary numbers of one sequence (fractions in [0, 1]). */
export interface SequenceScore {
  /** Success rate at each of {@link OVERLAP_THRESHOLDS} (strict `IoU > t`). */
  readonly successCurve: Float64Array;
  /** Precision at each of {@link CENTER_THRESHOLDS} (`error <= t`). */
  readonly precisionCurve: Float64Array;
  /** Normalised precision at each of {@link NORM_CENTER_THRESHOLDS}. */
  readonly normPrecisionCurve: Float64Array;
  /** Frame count (the denominator). */
  readonly frames: number;
}

/** Success, precision and normalised precision curves of one sequence's errors. */
export function scoreSequence(errors: SequenceErrors): SequenceScore {
  const n = errors.overlap.length;
  const success = new Float64Array(OVERLAP_THRESHOLDS.length);
  const precision = new Float64Array(CENTER_THRESHOLDS.length);
  const normPrecision = new Float64Array(NORM_CENTER_THRESHOLDS.length);
  for (let i = 0; i < n; i++) {
    const o = errors.overlap[i]!;
    const c = errors.center[i]!;
    const nc = errors.normalizedCenter[i]!;
    for (let k = 0; k < OVERLAP_THRESHOLDS.length; k++) if (o > OVERLAP_THRESHOLDS[k]!) success[k]! += 1;
    for (let k = 0; k < CENTER_THRESHOLDS.length; k++) if (c <= CENTER_THRESHOLDS[k]!) precision[k]! += 1;
    for (let k = 0; k < NORM_CENTER_THRESHOLDS.length; k++) if (nc <= NORM_CENTER_THRESHOLDS[k]!) normPrecision[k]! += 1;
  }
  for (const curve of [success, precision, normPrecision]) for (let k = 0; k < curve.length; k++) curve[k]! /= n;
  return { successCurve: success, precisionCurve: precision, normPrecisionCurve: normPrecision, frames: n };
}

/** Benchmark summary, in percent (x100) as papers print it. */
export interface MetricSummary {
  /** Area under the success curve: the mean of the 21 success values, x100. */
  readonly auc: number;
  /** Precision at 20 px, x100. */
  readonly precision: number;
  /** Normalised precision at 0.20, x100. */
  readonly normPrecision: number;
  /** Success at IoU > 0.5, x100. */
  readonly op50: number;
  /** Success at IoU > 0.75, x100. */
  readonly op75: number;
}

/** Mean curves over sequences (each sequence weighs the same) and their summary. */
export interface AggregateScore extends MetricSummary {
  /** Mean success curve over {@link OVERLAP_THRESHOLDS}, fractions. */
  readonly successCurve: Float64Array;
  /** Mean precision curve over {@link CENTER_THRESHOLDS}, fractions. */
  readonly precisionCurve: Float64Array;
  /** Mean normalised precision curve over {@link NORM_CENTER_THRESHOLDS}, fractions. */
  readonly normPrecisionCurve: Float64Array;
  /** The summary numbers (x100). */
  readonly summary: MetricSummary;
  /** Number of sequences averaged. */
  readonly sequences: number;
}

/** Success AUC x100 of a success curve (one sequence's or a mean): the mean of its values. */
export function successAuc(success: ArrayLike<number>): number {
  let sum = 0;
  for (let k = 0; k < success.length; k++) sum += success[k]!;
  return (100 * sum) / success.length;
}

/** Summary numbers of one set of curves. */
export function summarizeCurves(success: ArrayLike<number>, precision: ArrayLike<number>, normPrecision: ArrayLike<number>): MetricSummary {
  return {
    auc: successAuc(success),
    precision: 100 * precision[AT_20]!,
    normPrecision: 100 * normPrecision[AT_20]!,
    op50: 100 * success[10]!,
    op75: 100 * success[15]!,
  };
}

/** Averages sequence curves with equal weight and summarises them. */
export function aggregateScores(scores: readonly SequenceScore[]): AggregateScore {
  if (scores.length === 0) throw new InvalidArgumentError('aggregateScores needs at least one sequence');
  const success = new Float64Array(OVERLAP_THRESHOLDS.length);
  const precision = new Float64Array(CENTER_THRESHOLDS.length);
  const normPrecision = new Float64Array(NORM_CENTER_THRESHOLDS.length);
  for (const s of scores) {
    for (let k = 0; k < success.length; k++) success[k]! += s.successCurve[k]! / scores.length;
    for (let k = 0; k < precision.length; k++) precision[k]! += s.precisionCurve[k]! / scores.length;
    for (let k = 0; k < normPrecision.length; k++) normPrecision[k]! += s.normPrecisionCurve[k]! / scores.length;
  }
  const summary = summarizeCurves(success, precision, normPrecision);
  return { ...summary, summary, successCurve: success, precisionCurve: precision, normPrecisionCurve: normPrecision, sequences: scores.length };
}
