/**
 * `@dytrack/eval`: tracking datasets (OTB, LaSOT and GOT-10k layouts, read
 * lazily), a seeded procedural sequence generator, the benchmark metrics exactly
 * as pytracking computes them (success AUC, precision, normalised precision,
 * OP50/OP75), a harness that runs any {@link TrackerLike} over sequences, paired
 * comparisons of trackers with bootstrap intervals over sequences,
 * speed/accuracy sweeps, and SVG/PNG plots.
 *
 * @packageDocumentation
 */
export type { ParseBoxFileOptions } from './box-file.js';
export { DatasetFormatError, parseBoxFile, parseFlagFile, formatBoxFile } from './box-file.js';

export type { SequenceErrors, SequenceErrorsInput, SequenceScore, MetricSummary, AggregateScore, FailureBreakdown } from './metrics.js';
export {
  OVERLAP_THRESHOLDS,
  CENTER_THRESHOLDS,
  NORM_CENTER_THRESHOLDS,
  iouInclusive,
  centerError,
  normalizedCenterError,
  sequenceErrors,
  scoreSequence,
  summarizeCurves,
  successAuc,
  aggregateScores,
  failureBreakdown,
  LOSING_SEQUENCE_SHARE,
} from './metrics.js';

export type { DatasetFormat, Sequence, FileSequence, Dataset, OpenDatasetOptions } from './dataset.js';
export { readOtbSequence, readLasotSequence, readGot10kSequence, detectSequenceFormat, openDataset } from './dataset.js';

export type { Rng } from './rng.js';
export { createRng } from './rng.js';

export type { AssetLibrary, SyntheticSequenceOptions, SyntheticSequence } from './generator.js';
export { createSyntheticSequence, findSystemAssets, MAX_SPRITE_PIXELS, MAX_BACKGROUND_PIXELS } from './generator.js';

export type { WriteSequenceOptions, SyntheticDatasetOptions } from './writer.js';
export { writeOtbSequence, writeSyntheticDataset } from './writer.js';

export type { TrackerLike, TrackerStep, TrackerEntry, SequenceRun, ProgressEvent, SpeedSummary, TrackerEvaluation, EvaluateOptions } from './harness.js';
export { runTrackerOnSequence, summarizeSpeed, scorePredictions, evaluateTrackers, writeResults, readResults, createStaticTracker } from './harness.js';

export type { OpenCvMat, OpenCvModule, OpenCvTrackerKind } from './opencv.js';
export { loadOpenCv, openCvTrackerKinds, createOpenCvTracker, openCvTrackerEntry } from './opencv.js';

export type { ChartSeries, ChartSpec, NamedScore } from './plots.js';
export { lineChartSvg, successPlotSvg, precisionPlotSvg, comparisonPlotSvg, svgToPng } from './plots.js';

export type { OperatingPoint, SweepOptions, SweepResult } from './sweep.js';
export { runSweep, sweepPlotSvg } from './sweep.js';

export type { PairedBootstrapOptions, PairedDifference, TrackerComparison } from './compare.js';
export { pairedBootstrap, compareEvaluations, formatComparisonTable } from './compare.js';

export type { ReportFiles } from './report.js';
export { formatResultsTable, formatBreakdownTable, evaluationsToJson, writeEvaluationReport } from './report.js';
