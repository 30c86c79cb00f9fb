import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeResults, type TrackerEvaluation } from './harness.js';
import { OVERLAP_THRESHOLDS, summarizeCurves, type FailureBreakdown } from './metrics.js';
import { formatComparisonTable, type TrackerComparison } from './compare.js';
import { comparisonPlotSvg, precisionPlotSvg, successPlotSvg, svgToPng } from './plots.js';
import { formatTextTable } from './table.js';

const fmt = (v: number | undefined, digits = 1): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(v >= 1000 ? 0 : digits));


/**
 * The results table: one row per tracker with AUC, P, NP, OP50, OP75 (percent),
 * whole-loop fps, network-only fps and mean stages per frame ('-' where a
 * tracker does not report it).
 */
export function formatResultsTable(evaluations: readonly TrackerEvaluation[]): string {
  const header = ['tracker', 'AUC', 'P@20', 'NP@.20', 'OP50', 'OP75', 'fps', 'net fps', 'stages'];
  const rows = evaluations.map((e) => [
    e.tracker,
    fmt(e.score.auc),
    fmt(e.score.precision),
    fmt(e.score.normPrecision),
    fmt(e.score.op50),
    fmt(e.score.op75),
    fmt(e.speed?.fps),
    fmt(e.speed?.networkFps),
    fmt(e.speed?.meanStages, 2),
  ]);
  return formatTextTable(header, rows);
}

/**
 * Where each tracker's AUC goes ({@link FailureBreakdown}): lost frames (the box does not touch
 * the target) and sequences that lose it, then on the frames it holds the mean IoU, median
 * normalised centre error and median scale error. Low AUC with few lost frames means a poor
 * box; with many, a tracker that drifts off or jumps to something else.
 */
export function formatBreakdownTable(evaluations: readonly TrackerEvaluation[]): string {
  const header = ['tracker', 'lost %', 'seqs losing', 'held IoU', 'held centre err', 'held scale err %'];
  const rows = evaluations.map((e) => {
    const b = e.breakdown;
    return [e.tracker, fmt(b.lostFrames), `${b.sequencesLosing}/${b.sequences}`, fmt(b.heldIoU, 2), fmt(b.heldCenterError, 3), fmt(b.heldScaleError)];
  });
  return formatTextTable(header, rows);
}

/** A JSON-ready summary of evaluations (curves included). */
export function evaluationsToJson(evaluations: readonly TrackerEvaluation[], meta: Record<string, unknown> = {}): unknown {
  return {
    ...meta,
    overlapThresholds: OVERLAP_THRESHOLDS,
    trackers: evaluations.map((e) => ({
      name: e.tracker,
      auc: e.score.auc,
      precision: e.score.precision,
      normPrecision: e.score.normPrecision,
      op50: e.score.op50,
      op75: e.score.op75,
      fps: e.speed?.fps ?? null,
      networkFps: e.speed?.networkFps ?? null,
      meanStages: e.speed?.meanStages ?? null,
      breakdown: e.breakdown,
      successCurve: Array.from(e.score.successCurve),
      precisionCurve: Array.from(e.score.precisionCurve),
      normPrecisionCurve: Array.from(e.score.normPrecisionCurve),
      sequences: e.perSequence.map((p) => ({
        name: p.sequence,
        frames: p.score.frames,
        ...summarizeCurves(p.score.successCurve, p.score.precisionCurve, p.score.normPrecisionCurve),
      })),
    })),
  };
}

/** Files written by {@link writeEvaluationReport}. */
export interface ReportFiles {
  readonly json: string;
  readonly table: string;
  readonly successSvg: string;
  readonly successPng: string | undefined;
  readonly precisionSvg: string;
  readonly precisionPng: string | undefined;
  /** Results directory per tracker that was run here. */
  readonly resultsDirs: readonly string[];
  /** The comparisons' forest plot, when there were comparisons (PNG as the other plots). */
  readonly comparisonSvg?: string;
  readonly comparisonPng?: string;
}

/**
 * Writes an evaluation: `results.json`, `table.txt` (the results, breakdown and, when given,
 * comparison tables), per-sequence results files, the comparisons' forest plot (`comparison.svg`/`.png`)
 * (`results/TRACKER/SEQUENCE.txt`), and the success and precision plots as SVG
 * and PNG (PNG left out, with `pngError` set, when resvg cannot be loaded).
 * `meta` goes into the JSON; a string `meta.title` names the data in the plot titles;
 * `comparisons` ({@link compareEvaluations}) go into the JSON and the table.
 */
export async function writeEvaluationReport(
  outDir: string,
  evaluations: readonly TrackerEvaluation[],
  meta: Record<string, unknown> = {},
  comparisons: readonly TrackerComparison[] = [],
): Promise<ReportFiles & { readonly pngError?: string }> {
  await mkdir(outDir, { recursive: true });
  const json = path.join(outDir, 'results.json');
  await writeFile(json, JSON.stringify(evaluationsToJson(evaluations, comparisons.length > 0 ? { ...meta, comparisons } : meta), null, 2) + '\n');
  const table = path.join(outDir, 'table.txt');
  await writeFile(table, [formatResultsTable(evaluations), formatBreakdownTable(evaluations), ...(comparisons.length > 0 ? [formatComparisonTable(comparisons)] : [])].join('\n\n') + '\n');
  const resultsDirs: string[] = [];
  for (const e of evaluations) {
    if (e.runs === undefined) continue;
    const dir = path.join(outDir, 'results', e.tracker);
    await writeResults(dir, e.runs);
    resultsDirs.push(dir);
  }
  const named = evaluations.map((e) => ({ name: e.tracker, score: e.score }));
  const successSvg = path.join(outDir, 'success.svg');
  const precisionSvg = path.join(outDir, 'precision.svg');
  const where = typeof meta['title'] === 'string' ? ` on ${meta['title']}` : '';
  const sSvg = successPlotSvg(named, `Success plot${where}`);
  const pSvg = precisionPlotSvg(named, `Precision plot${where}`);
  await writeFile(successSvg, sSvg);
  await writeFile(precisionSvg, pSvg);
  const cSvg = comparisons.length > 0 ? comparisonPlotSvg(comparisons, `AUC kept${where}`) : undefined;
  const comparisonSvg = cSvg === undefined ? undefined : path.join(outDir, 'comparison.svg');
  if (cSvg !== undefined) await writeFile(comparisonSvg!, cSvg);
  let successPng: string | undefined;
  let precisionPng: string | undefined;
  let comparisonPng: string | undefined;
  let pngError: string | undefined;
  try {
    successPng = path.join(outDir, 'success.png');
    await writeFile(successPng, await svgToPng(sSvg));
    precisionPng = path.join(outDir, 'precision.png');
    await writeFile(precisionPng, await svgToPng(pSvg));
    if (cSvg !== undefined) {
      comparisonPng = path.join(outDir, 'comparison.png');
      await writeFile(comparisonPng, await svgToPng(cSvg));
    }
  } catch (error) {
    successPng = precisionPng = comparisonPng = undefined;
    pngError = (error as Error).message;
  }
  return {
    json,
    table,
    successSvg,
    successPng,
    precisionSvg,
    precisionPng,
    resultsDirs,
    ...(comparisonSvg === undefined ? {} : { comparisonSvg }),
    ...(comparisonPng === undefined ? {} : { comparisonPng }),
    ...(pngError === undefined ? {} : { pngError }),
  };
}
