import { InvalidArgumentError } from '@dytrack/core';
import type { TrackerEvaluation } from './harness.js';
import { successAuc } from './metrics.js';
import { formatTextTable } from './table.js';
import { createRng } from './rng.js';

/** Options of {@link pairedBootstrap} and {@link compareEvaluations}. */
export interface PairedBootstrapOptions {
  /** Resamples of the sequences (default 10 000). */
  readonly resamples?: number;
  /** Coverage of the interval (default 0.95: the 2.5th to the 97.5th percentile). */
  readonly confidence?: number;
  /** Seed of the resampling (default 1): the same inputs give the same interval. */
  readonly seed?: number;
}

/** A paired comparison of two trackers over the same sequences. */
export interface PairedDifference {
  /** Mean over sequences of `value - baseline` (for AUC ×100: points). */
  readonly difference: number;
  /** Percentile bootstrap interval of `difference`. */
  readonly differenceLow: number;
  readonly differenceHigh: number;
  /** `Σ value / Σ baseline`: the share of the baseline's score kept (NaN when the baseline sums to 0). */
  readonly ratio: number;
  /** Percentile bootstrap interval of `ratio` (resamples whose baseline sums to 0 are left out). */
  readonly ratioLow: number;
  readonly ratioHigh: number;
  /** Sequences compared. */
  readonly sequences: number;
  /** Sequences on which the two differ by more than `largeDifference` (default 10 points). */
  readonly largeDifferences: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.floor(q * sorted.length)));
  return sorted[i]!;
}

/**
 * The paired bootstrap over sequences: how much `values` (one score per sequence, say a policy's
 * AUC) differ from `baseline` (the same sequences under another tracker), with a percentile
 * interval from resampling the sequences with replacement. Tracking scores are paired by
 * sequence and dominated by a few sequences where one tracker loses the target and the other
 * does not, so the interval is wide: on 32 sequences a 4-point gap can be noise. A difference
 * whose interval excludes 0 is one the sequences support.
 *
 * @throws InvalidArgumentError on unequal lengths, fewer than 2 sequences, non-finite values or bad options.
 */
export function pairedBootstrap(values: ArrayLike<number>, baseline: ArrayLike<number>, options: PairedBootstrapOptions & { readonly largeDifference?: number } = {}): PairedDifference {
  const n = values.length;
  if (baseline.length !== n) throw new InvalidArgumentError(`pairedBootstrap: ${n} values against ${baseline.length} baseline values; they must be paired by sequence`);
  if (n < 2) throw new InvalidArgumentError(`pairedBootstrap needs at least 2 paired sequences, got ${n}`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(values[i]!) || !Number.isFinite(baseline[i]!)) throw new InvalidArgumentError(`pairedBootstrap: sequence ${i} has a non-finite score (${values[i]} vs ${baseline[i]})`);
  }
  const resamples = options.resamples ?? 10_000;
  if (!Number.isInteger(resamples) || resamples < 100) throw new InvalidArgumentError(`pairedBootstrap resamples must be an integer of at least 100, got ${resamples}`);
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new InvalidArgumentError(`pairedBootstrap confidence must be in (0, 1), got ${confidence}`);
  const large = options.largeDifference ?? 10;
  let sumV = 0;
  let sumB = 0;
  let largeDifferences = 0;
  for (let i = 0; i < n; i++) {
    sumV += values[i]!;
    sumB += baseline[i]!;
    if (Math.abs(values[i]! - baseline[i]!) > large) largeDifferences++;
  }
  const rng = createRng(options.seed ?? 1);
  const diffs = new Float64Array(resamples);
  const ratios = new Float64Array(resamples);
  let ratioCount = 0;
  for (let r = 0; r < resamples; r++) {
    let v = 0;
    let b = 0;
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rng.next() * n);
      v += values[k]!;
      b += baseline[k]!;
    }
    diffs[r] = (v - b) / n;
    if (b !== 0) ratios[ratioCount++] = v / b;
  }
  diffs.sort();
  const ratioSample = ratios.subarray(0, ratioCount).sort();
  const tail = (1 - confidence) / 2;
  return {
    difference: (sumV - sumB) / n,
    differenceLow: percentile(diffs, tail),
    differenceHigh: percentile(diffs, 1 - tail),
    ratio: sumB === 0 ? Number.NaN : sumV / sumB,
    ratioLow: percentile(ratioSample, tail),
    ratioHigh: percentile(ratioSample, 1 - tail),
    sequences: n,
    largeDifferences,
  };
}

/** One tracker's AUC against the baseline's, over the sequences both ran. */
export interface TrackerComparison extends PairedDifference {
  readonly tracker: string;
  readonly baseline: string;
}

/**
 * Each evaluation's per-sequence AUC against the baseline's ({@link pairedBootstrap}): the
 * baseline is the evaluation named `baseline`, or the first one. Sequences are paired by name.
 *
 * @throws InvalidArgumentError when the baseline is unknown or the evaluations ran other sequences.
 */
export function compareEvaluations(evaluations: readonly TrackerEvaluation[], options: PairedBootstrapOptions & { readonly baseline?: string } = {}): TrackerComparison[] {
  if (evaluations.length === 0) return [];
  const base = options.baseline === undefined ? evaluations[0]! : evaluations.find((e) => e.tracker === options.baseline);
  if (!base) throw new InvalidArgumentError(`compareEvaluations: no tracker named "${options.baseline}" (have ${evaluations.map((e) => e.tracker).join(', ')})`);
  const baseAuc = new Map(base.perSequence.map((p) => [p.sequence, successAuc(p.score.successCurve)]));
  return evaluations
    .filter((e) => e !== base)
    .map((e) => {
      if (e.perSequence.length !== baseAuc.size) throw new InvalidArgumentError(`compareEvaluations: ${e.tracker} ran ${e.perSequence.length} sequences, ${base.tracker} ${baseAuc.size}`);
      const b = e.perSequence.map((p) => {
        const v = baseAuc.get(p.sequence);
        if (v === undefined) throw new InvalidArgumentError(`compareEvaluations: ${base.tracker} did not run sequence "${p.sequence}"`);
        return v;
      });
      return { tracker: e.tracker, baseline: base.tracker, ...pairedBootstrap(e.perSequence.map((p) => successAuc(p.score.successCurve)), b, options) };
    });
}

/**
 * The comparison table: per tracker, its AUC difference from the baseline with the bootstrap
 * interval, the share of the baseline's AUC it keeps with its interval, and on how many
 * sequences the two differ by more than 10 points.
 */
export function formatComparisonTable(comparisons: readonly TrackerComparison[]): string {
  const f = (v: number, d: number, sign = false): string => (Number.isFinite(v) ? `${sign && v > 0 ? '+' : ''}${v.toFixed(d)}` : '-');
  const header = ['tracker', 'vs', 'ΔAUC', '95% interval', 'AUC share', '95% interval', 'seqs > 10 apart'];
  const rows = comparisons.map((c) => [
    c.tracker,
    c.baseline,
    f(c.difference, 1, true),
    `${f(c.differenceLow, 1, true)} .. ${f(c.differenceHigh, 1, true)}`,
    `${f(100 * c.ratio, 1)}%`,
    `${f(100 * c.ratioLow, 1)}% .. ${f(100 * c.ratioHigh, 1)}%`,
    `${c.largeDifferences}/${c.sequences}`,
  ]);
  return formatTextTable(header, rows, 2);
}
