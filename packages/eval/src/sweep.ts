import { InvalidArgumentError } from '@dytrack/core';
import type { Sequence } from './dataset.js';
import { evaluateTrackers, type ProgressEvent, type TrackerEntry } from './harness.js';
import { lineChartSvg } from './plots.js';

/** One operating point of a sweep: a configuration (for DyTrack, an exit policy) and how it is drawn. */
export interface OperatingPoint<C> {
  /** Short label drawn beside the point (for example `t=0.6` or `exit 2`). */
  readonly label: string;
  /** `'dynamic'` points form the speed/accuracy curve; `'fixed'` ones are the always-exit-k baselines. */
  readonly group: 'dynamic' | 'fixed';
  /** What {@link SweepOptions.makeTracker} turns into a tracker. */
  readonly config: C;
}

/** Options of {@link runSweep}. */
export interface SweepOptions<C> {
  /** The sequences to run on (the same frames for every point). */
  readonly sequences: readonly Sequence[];
  /** The operating points. */
  readonly points: readonly OperatingPoint<C>[];
  /** Makes the tracker for one point. */
  makeTracker(point: OperatingPoint<C>): TrackerEntry | Promise<TrackerEntry>;
  /** Runs per point; fps is the median over runs (default 1). Accuracy is from the first run. */
  readonly repeats?: number;
  /** Progress callback. */
  readonly onProgress?: (event: ProgressEvent & { readonly point: string; readonly run: number }) => void;
}

/** A measured operating point. */
export interface SweepResult {
  readonly label: string;
  readonly group: 'dynamic' | 'fixed';
  /** Success AUC (x100). */
  readonly auc: number;
  /** Precision at 20 px (x100). */
  readonly precision: number;
  /** Whole-loop fps (median over repeats). */
  readonly fps: number;
  /** Network-only fps, when reported. */
  readonly networkFps: number | undefined;
  /** Mean stages run per frame, when reported. */
  readonly meanStages: number | undefined;
}

function median(v: number[]): number {
  const s = v.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : 0.5 * (s[m - 1]! + s[m]!);
}

/**
 * Measures accuracy and speed at each operating point on the same sequences:
 * the DyTrack paper's speed/accuracy curve across exit thresholds, with the
 * fixed-exit baselines beside it.
 */
export async function runSweep<C>(options: SweepOptions<C>): Promise<SweepResult[]> {
  const repeats = options.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) throw new InvalidArgumentError(`repeats must be a positive integer, got ${String(repeats)}`);
  if (options.points.length === 0) throw new InvalidArgumentError('a sweep needs at least one operating point');
  const results: SweepResult[] = [];
  for (const point of options.points) {
    const entry = await options.makeTracker(point);
    const fps: number[] = [];
    const networkFps: number[] = [];
    let first: Awaited<ReturnType<typeof evaluateTrackers>>[number] | undefined;
    for (let run = 0; run < repeats; run++) {
      const [evaluation] = await evaluateTrackers([entry], options.sequences, {
        onProgress: (e) => options.onProgress?.({ ...e, point: point.label, run }),
      });
      first ??= evaluation;
      fps.push(evaluation!.speed!.fps);
      if (evaluation!.speed!.networkFps !== undefined) networkFps.push(evaluation!.speed!.networkFps);
    }
    results.push({
      label: point.label,
      group: point.group,
      auc: first!.score.auc,
      precision: first!.score.precision,
      fps: median(fps),
      networkFps: networkFps.length === repeats ? median(networkFps) : undefined,
      meanStages: first!.speed!.meanStages,
    });
  }
  return results;
}

/**
 * The speed/accuracy plot as the DyTrack paper draws it: AUC against fps, the
 * dynamic operating points joined in a curve, each fixed-exit baseline a marker.
 */
export function sweepPlotSvg(results: readonly SweepResult[], title = 'Speed vs. accuracy across exit thresholds', useNetworkFps = false): string {
  const xOf = (r: SweepResult): number => (useNetworkFps ? (r.networkFps ?? r.fps) : r.fps);
  const dynamic = results.filter((r) => r.group === 'dynamic').sort((a, b) => xOf(a) - xOf(b));
  const fixed = results.filter((r) => r.group === 'fixed').sort((a, b) => xOf(a) - xOf(b));
  const xs = results.map(xOf).filter(Number.isFinite);
  const ys = results.map((r) => r.auc);
  const xPad = Math.max(1, (Math.max(...xs) - Math.min(...xs)) * 0.15);
  const yPad = Math.max(2, (Math.max(...ys) - Math.min(...ys)) * 0.2);
  return lineChartSvg({
    title,
    xLabel: useNetworkFps ? 'Network speed (fps)' : 'Speed (fps, whole per-frame loop)',
    yLabel: 'Success AUC (%)',
    xRange: [Math.max(0, Math.min(...xs) - xPad), Math.max(...xs) + xPad],
    yRange: [Math.max(0, Math.min(...ys) - yPad), Math.min(100, Math.max(...ys) + yPad)],
    legend: 'bottom-left',
    series: [
      ...(dynamic.length > 0 ? [{ label: 'dynamic exits (thresholds)', x: dynamic.map(xOf), y: dynamic.map((r) => r.auc), markers: true, pointLabels: dynamic.map((r) => r.label), color: '#d62728' }] : []),
      ...(fixed.length > 0 ? [{ label: 'fixed exit (always exit k)', x: fixed.map(xOf), y: fixed.map((r) => r.auc), markers: true, dashed: true, pointLabels: fixed.map((r) => r.label), color: '#1f77b4' }] : []),
    ],
  });
}
