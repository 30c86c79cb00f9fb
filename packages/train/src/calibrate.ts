import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, MANIFEST_FILE_NAME, parseManifest, type ModelSource } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { createSyntheticSequence, evaluateTrackers, pairedBootstrap, scorePredictions, successAuc, summarizeSpeed, type PairedDifference, type Sequence, type SequenceScore, type TrackerEntry } from '@dytrack/eval';
import { fixedDepthPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import { createTracker, type DyTrackTracker } from '@dytrack/tracker';
import { HELD_OUT_SEED_BASE, TRAINING_SEED_LIMIT } from './data.js';
import { createTrackingPool } from './tracking-pool.js';

/**
 * First seed of the procedural sequences thresholds are calibrated on: above every
 * training seed ({@link TRAINING_SEED_LIMIT}) and below the held-out test seeds
 * ({@link HELD_OUT_SEED_BASE}), so calibration neither sees training data nor tunes
 * on the sequences the model's figures are reported on.
 */
export const CALIBRATION_SEED_BASE = 850_000_000;

/** The common thresholds {@link calibrateThresholds} tries by default. */
export const DEFAULT_CALIBRATION_CANDIDATES: readonly number[] = Object.freeze([0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9]);

/** Options of {@link calibrateThresholds}. */
export interface CalibrationOptions {
  /** Validation sequences (procedural, seeds from {@link CALIBRATION_SEED_BASE}; default 16). */
  readonly syntheticSequences?: number;
  /** First seed (default {@link CALIBRATION_SEED_BASE}). */
  readonly seedBase?: number;
  /** Frames per sequence (default 100). */
  readonly length?: number;
  /**
   * Rule "retain": share of the full-depth AUC the chosen thresholds must keep on the
   * validation set; the cheapest candidate that keeps it wins (the default rule, 0.985).
   */
  readonly retain?: number;
  /**
   * Rule "budget": the most mean stages per frame allowed, as a share of the model's
   * stages in (0, 1] (0.6: at most 60% of the network on average); the candidate with the
   * highest validation AUC within it wins. Give this or `retain`, not both.
   */
  readonly maxStages?: number;
  /** Common thresholds tried on every early exit (default {@link DEFAULT_CALIBRATION_CANDIDATES}). */
  readonly candidates?: readonly number[];
  /** onnxruntime intra-op threads (per worker; default 1). */
  readonly threads?: number;
  /**
   * Worker threads that track the validation sequences side by side (default 1: this
   * thread). The measured points are identical for any count: each sequence is the same
   * computation wherever it runs; only the wall time changes (on 2 cores, about half).
   */
  readonly workers?: number;
  /** Called after each measured point, in order (full depth first). */
  readonly onPoint?: (point: CalibrationPoint) => void;
}

/** One measured operating point. */
export interface CalibrationPoint {
  /** Thresholds of exits 0..K-1 (the last is always 0), or `undefined` for full depth. */
  readonly thresholds: readonly number[] | undefined;
  /** Success AUC x100 on the validation set. */
  readonly auc: number;
  /** Mean stages per frame. */
  readonly meanStages: number;
}

/** What {@link calibrateThresholds} found (recorded in the manifest's provenance). */
export interface Calibration {
  /** The chosen thresholds, one per exit (the last 0). */
  readonly thresholds: readonly number[];
  /** The validation set. */
  readonly data: string;
  /** The retention target, when the rule was "retain". */
  readonly retain?: number;
  /** The stage budget (share of the model's stages), when the rule was "budget". */
  readonly maxStages?: number;
  /** Full-depth AUC on the validation set. */
  readonly fullDepthAuc: number;
  /** AUC and mean stages at the chosen thresholds. */
  readonly chosen: CalibrationPoint;
  /**
   * Whether the chosen point meets the rule on the validation set; `false` when no
   * candidate did and {@link chooseOperatingPoint} fell back (to the most accurate point
   * for "retain", the cheapest for "budget").
   */
  readonly ruleMet: boolean;
  /** Every measured point, full depth first. */
  readonly points: readonly CalibrationPoint[];
  /**
   * The chosen point against full depth, paired by validation sequence ({@link pairedBootstrap}):
   * the AUC difference and the share of full depth kept, with their 95% intervals. With few
   * sequences the interval is wide: one sequence lost or held moves the point by a point or more.
   * Absent with a single validation sequence.
   */
  readonly keptOfFullDepth?: PairedDifference;
}

/** How {@link chooseOperatingPoint} picks among measured points. */
export type OperatingPointRule =
  /** The cheapest point whose AUC is at least `retain` x the full-depth AUC. */
  | { readonly retain: number }
  /** The most accurate point whose mean stages are at most `maxStages` x the model's stages. */
  | { readonly maxStages: number };

/**
 * Picks one of the measured dynamic points (never the full-depth reference itself) by
 * `rule`. Rule "retain": the fewest mean stages among the points keeping `retain` x
 * `full.auc` (ties go to the higher AUC); when none does, the most accurate point. Rule
 * "budget": the highest AUC among the points within `maxStages` x `stages` mean stages
 * (ties go to fewer stages); when none fits, the cheapest point. Pure: the calibration's
 * choice can be re-made from the points a manifest records.
 */
export function chooseOperatingPoint(full: CalibrationPoint, dynamic: readonly CalibrationPoint[], rule: OperatingPointRule, stages: number): CalibrationPoint {
  if (dynamic.length === 0) throw new InvalidArgumentError('no dynamic operating points to choose from');
  const cheapest = (a: CalibrationPoint, b: CalibrationPoint) => (b.meanStages < a.meanStages || (b.meanStages === a.meanStages && b.auc > a.auc) ? b : a);
  const best = (a: CalibrationPoint, b: CalibrationPoint) => (b.auc > a.auc || (b.auc === a.auc && b.meanStages < a.meanStages) ? b : a);
  const meeting = dynamic.filter((p) => meetsOperatingPointRule(full, p, rule, stages));
  if ('retain' in rule) return meeting.length > 0 ? meeting.reduce(cheapest) : dynamic.reduce(best);
  return meeting.length > 0 ? meeting.reduce(best) : dynamic.reduce(cheapest);
}

/**
 * Whether `point` meets `rule`: for "retain", an AUC of at least `retain` x `full.auc`;
 * for "budget", at most `maxStages` x `stages` mean stages.
 */
export function meetsOperatingPointRule(full: CalibrationPoint, point: CalibrationPoint, rule: OperatingPointRule, stages: number): boolean {
  return 'retain' in rule ? point.auc >= rule.retain * full.auc : point.meanStages <= rule.maxStages * stages + 1e-9;
}

/**
 * Chooses a model's default exit thresholds on validation sequences: tracks them at full
 * depth, then with the threshold policy at each candidate threshold (shared by every early
 * exit), and keeps one candidate by {@link chooseOperatingPoint}: by default the cheapest
 * that keeps `retain` x the full-depth AUC, or with `maxStages` the most accurate within
 * that stage budget. The DyTrack paper's operating point, chosen on data the reported
 * figures do not use.
 */
export async function calibrateThresholds(model: ModelSource, options: CalibrationOptions = {}): Promise<Calibration> {
  if (options.retain !== undefined && options.maxStages !== undefined) throw new InvalidArgumentError('give retain or maxStages, not both: they are two rules for choosing thresholds');
  const rule: OperatingPointRule = options.maxStages !== undefined ? { maxStages: options.maxStages } : { retain: options.retain ?? 0.985 };
  if ('retain' in rule && !(rule.retain > 0 && rule.retain <= 1)) throw new InvalidArgumentError(`retain must be in (0, 1], got ${String(rule.retain)}`);
  if ('maxStages' in rule && !(rule.maxStages > 0 && rule.maxStages <= 1)) throw new InvalidArgumentError(`maxStages must be a share of the stages in (0, 1], got ${String(rule.maxStages)}`);
  const candidates = [...(options.candidates ?? DEFAULT_CALIBRATION_CANDIDATES)];
  if (candidates.length === 0 || candidates.some((t) => !(t >= 0 && t <= 1))) throw new InvalidArgumentError('calibration candidates must be thresholds in [0, 1]');
  const count = options.syntheticSequences ?? 16;
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError(`syntheticSequences must be a positive integer, got ${String(count)}`);
  const base = options.seedBase ?? CALIBRATION_SEED_BASE;
  if (base < TRAINING_SEED_LIMIT || base + count > HELD_OUT_SEED_BASE) {
    throw new InvalidArgumentError(`calibration seeds ${base}..${base + count - 1} must lie between the training seeds (< ${TRAINING_SEED_LIMIT}) and the held-out ones (>= ${HELD_OUT_SEED_BASE})`);
  }
  const workers = options.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1) throw new InvalidArgumentError(`workers must be a positive integer, got ${String(workers)}`);
  const length = options.length ?? 100;
  const sequences: Sequence[] = Array.from({ length: count }, (_, k) => createSyntheticSequence({ seed: base + k, length }));
  const exits = model.manifest.stages.length;
  const settings: (readonly number[] | undefined)[] = [undefined, ...candidates.sort((a, b) => a - b).map((t) => [...Array.from({ length: exits - 1 }, () => t), 0])];
  const measured = workers > 1 ? measureInWorkers(model, sequences, settings, { workers, threads: options.threads ?? 1, seedBase: base, length }) : measureHere(model, sequences, settings, options.threads ?? 1);
  const points: CalibrationPoint[] = [];
  const perSequence = new Map<CalibrationPoint, number[]>();
  for await (const { point, sequenceAuc } of measured) {
    points.push(point);
    perSequence.set(point, sequenceAuc);
    options.onPoint?.(point);
  }
  const [full, ...dynamic] = points as [CalibrationPoint, ...CalibrationPoint[]];
  const chosen = chooseOperatingPoint(full, dynamic, rule, exits);
  const ruleMet = meetsOperatingPointRule(full, chosen, rule, exits);
  const keptOfFullDepth = count > 1 ? pairedBootstrap(perSequence.get(chosen)!, perSequence.get(full)!) : undefined;
  return { thresholds: chosen.thresholds!, data: `synthetic seeds ${base}..${base + count - 1} (validation)`, ...rule, fullDepthAuc: full.auc, chosen, ruleMet, points, ...(keptOfFullDepth ? { keptOfFullDepth } : {}) };
}

/** A measured point and its AUC on each validation sequence, in sequence order. */
interface Measured {
  readonly point: CalibrationPoint;
  readonly sequenceAuc: number[];
}

/** AUC x100 of each sequence (their mean is the point's AUC). */
function sequenceAucs(perSequence: readonly { readonly score: SequenceScore }[]): number[] {
  return perSequence.map(({ score }) => successAuc(score.successCurve));
}

/** Measures the settings one after another in this thread, with one tracker per setting. */
async function* measureHere(model: ModelSource, sequences: readonly Sequence[], settings: readonly (readonly number[] | undefined)[], threads: number): AsyncGenerator<Measured> {
  const exits = model.manifest.stages.length;
  const backend = createNodeBackend({ intraOpNumThreads: threads });
  const trackers: DyTrackTracker[] = [];
  try {
    for (const thresholds of settings) {
      const policy = thresholds ? thresholdPolicy({ thresholds }) : fixedDepthPolicy({ exit: exits - 1 });
      const tracker = await createTracker({ backend, model, exitPolicy: policy });
      trackers.push(tracker);
      const entry: TrackerEntry = { name: 'dytrack', create: () => ({ init: (f, b) => tracker.init(f, b), update: (f) => tracker.update(f) }) };
      const [r] = await evaluateTrackers([entry], sequences);
      yield { point: { thresholds, auc: r!.score.auc, meanStages: r!.speed?.meanStages ?? exits }, sequenceAuc: sequenceAucs(r!.perSequence) };
    }
  } finally {
    for (const t of trackers) await t.dispose();
    await backend.dispose();
  }
}

/**
 * Measures every setting at once on a {@link createTrackingPool} (all runs are queued up
 * front, so no worker waits at the end of a point) and scores them here as they finish.
 */
async function* measureInWorkers(
  model: ModelSource,
  sequences: readonly Sequence[],
  settings: readonly (readonly number[] | undefined)[],
  options: { workers: number; threads: number; seedBase: number; length: number },
): AsyncGenerator<Measured> {
  const exits = model.manifest.stages.length;
  // A worker beyond one per run would only load the model.
  const workers = Math.min(options.workers, settings.length * sequences.length);
  const pool = await createTrackingPool(model, { workers, threads: options.threads });
  try {
    const sources = sequences.map((_, k) => ({ synthetic: { seed: options.seedBase + k, length: options.length } }));
    const pending = settings.map((thresholds) => pool.track(thresholds ? { thresholds } : { exit: exits - 1 }, sources));
    // Every promise gets a handler now: a failure of a later point must not go unhandled while an earlier one is awaited.
    for (const p of pending) p.catch(() => undefined);
    for (let i = 0; i < settings.length; i++) {
      const runs = await pending[i]!;
      const { score, perSequence } = scorePredictions(sequences, new Map(runs.map((r) => [r.sequence, r.boxes] as const)));
      yield { point: { thresholds: settings[i], auc: score.auc, meanStages: summarizeSpeed(runs).meanStages ?? exits }, sequenceAuc: sequenceAucs(perSequence) };
    }
  } finally {
    await pool.close();
  }
}

/**
 * Writes `thresholds` as the default thresholds of the model in `dir` (each stage's
 * `exit.defaultThreshold`, and `provenance.architecture.defaultThresholds` when present),
 * merging `provenance` into the manifest's provenance. The ONNX files are untouched;
 * the new manifest is validated before it is written.
 */
export async function writeDefaultThresholds(dir: string, thresholds: readonly number[], provenance: Readonly<Record<string, unknown>> = {}): Promise<void> {
  const path = join(resolve(dir), MANIFEST_FILE_NAME);
  const value = JSON.parse(await readFile(path, 'utf8')) as { stages: { exit: { defaultThreshold: number } }[]; provenance?: Record<string, unknown> };
  if (!Array.isArray(value.stages) || value.stages.length !== thresholds.length) {
    throw new InvalidArgumentError(`${path}: ${thresholds.length} thresholds for ${Array.isArray(value.stages) ? value.stages.length : 'no'} stages`);
  }
  value.stages.forEach((s, k) => (s.exit.defaultThreshold = thresholds[k]!));
  const architecture = value.provenance?.architecture as { defaultThresholds?: number[] } | undefined;
  if (architecture && Array.isArray(architecture.defaultThresholds)) architecture.defaultThresholds = [...thresholds];
  value.provenance = { ...value.provenance, ...provenance };
  parseManifest(JSON.parse(JSON.stringify(value)));
  await writeFile(path, JSON.stringify(value, null, 2) + '\n');
}
