import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, InvalidBoxError, type Box, type ImageFrame } from '@dytrack/core';
import { DatasetFormatError, formatBoxFile, parseBoxFile } from './box-file.js';
import type { Sequence } from './dataset.js';
import { aggregateScores, failureBreakdown, scoreSequence, sequenceErrors, type AggregateScore, type FailureBreakdown, type SequenceScore } from './metrics.js';

/**
 * What the harness needs from a tracker, OpenCV style. A DyTrack `Tracker`
 * (from `@dytrack/tracker`'s `createTracker`) fits as it is; peers are wrapped.
 */
export interface TrackerLike {
  /** Starts tracking `box` in `frame`. */
  init(frame: ImageFrame, box: Box): Promise<void> | void;
  /** Tracks the target into the next frame. */
  update(frame: ImageFrame): Promise<TrackerStep> | TrackerStep;
  /** Releases resources; called once per sequence after the last frame. */
  dispose?(): Promise<void> | void;
}

/** One frame's answer. Only `box` is required; the rest feeds the speed columns. */
export interface TrackerStep {
  /** The predicted box in frame pixels. */
  readonly box: Box;
  /** Stages (network depth) run on this frame, for dynamic trackers. */
  readonly stagesRun?: number;
  /** Time spent in the network alone, in milliseconds (DyTrack's `FrameResult.timings`). */
  readonly timings?: { readonly inferenceMs: number };
}

/** A named way to make a fresh tracker for each sequence. */
export interface TrackerEntry {
  /** Name shown in tables and used for the results directory. */
  readonly name: string;
  /** Makes a tracker for one sequence (called once per sequence). */
  create(): Promise<TrackerLike> | TrackerLike;
}

/** A tracker's run over one sequence. */
export interface SequenceRun {
  /** Sequence name. */
  readonly sequence: string;
  /** One box per frame; frame 0 is the init box. */
  readonly boxes: Box[];
  /** Wall time of each `update` call (ms); index 0 (init) is 0. */
  readonly frameMs: Float64Array;
  /** Network time per frame (ms) when the tracker reports it, else undefined. */
  readonly networkMs: Float64Array | undefined;
  /** Stages run per frame when the tracker reports it, else undefined. */
  readonly stagesRun: Float64Array | undefined;
  /** Wall time of `init` (ms). */
  readonly initMs: number;
}

/** Progress of {@link runTrackerOnSequence} and {@link evaluateTrackers}. */
export interface ProgressEvent {
  /** Tracker being run. */
  readonly tracker: string;
  /** Sequence being run. */
  readonly sequence: string;
  /** Frames done so far over all trackers and sequences. */
  readonly framesDone: number;
  /** Frames to do in total. */
  readonly framesTotal: number;
}

function checkBox(box: Box, what: string): void {
  if (box === null || typeof box !== 'object') throw new InvalidBoxError(`${what} is not a box`);
  for (const k of ['x', 'y', 'width', 'height'] as const) {
    if (typeof box[k] !== 'number' || Number.isNaN(box[k])) throw new InvalidBoxError(`${what}.${k} is ${String(box[k])}; a tracker must return numbers`);
  }
}

/**
 * Runs a tracker over a sequence: `init` on frame 0 with the truth box, then
 * `update` on every later frame. Frames are decoded one at a time; decoding is
 * not counted in the timings.
 */
export async function runTrackerOnSequence(
  tracker: TrackerLike,
  sequence: Sequence,
  onFrame?: (frameIndex: number) => void,
): Promise<SequenceRun> {
  const n = sequence.length;
  const init = sequence.groundTruth[0]!;
  if (!(init.width > 0 && init.height > 0)) throw new InvalidBoxError(`${sequence.name}: the first truth box (${init.x}, ${init.y}, ${init.width}, ${init.height}) cannot initialise a tracker`);
  const boxes: Box[] = [init];
  const frameMs = new Float64Array(n);
  let networkMs: Float64Array | undefined;
  let stagesRun: Float64Array | undefined;
  let next: Promise<ImageFrame> = sequence.frame(0);
  let frame = await next;
  if (n > 1) next = sequence.frame(1);
  const t0 = performance.now();
  await tracker.init(frame, init);
  const initMs = performance.now() - t0;
  onFrame?.(0);
  for (let i = 1; i < n; i++) {
    frame = await next;
    // Decode the next frame while the tracker works on this one.
    if (i + 1 < n) next = sequence.frame(i + 1);
    const t = performance.now();
    const step = await tracker.update(frame);
    frameMs[i] = performance.now() - t;
    checkBox(step.box, `${sequence.name} frame ${i} prediction`);
    boxes.push({ x: step.box.x, y: step.box.y, width: step.box.width, height: step.box.height });
    if (step.timings !== undefined) (networkMs ??= new Float64Array(n))[i] = step.timings.inferenceMs;
    if (step.stagesRun !== undefined) (stagesRun ??= new Float64Array(n))[i] = step.stagesRun;
    onFrame?.(i);
  }
  return { sequence: sequence.name, boxes, frameMs, networkMs, stagesRun, initMs };
}

/** Speed figures of a set of runs. */
export interface SpeedSummary {
  /**
   * Frames per second of the whole per-frame loop: updates after warm-up divided by the time
   * they took (throughput, 1000 / mean update time).
   */
  readonly fps: number;
  /** Frames per second of the network alone (1000 / mean network time), when the tracker reports it. */
  readonly networkFps: number | undefined;
  /** Mean stages run per frame (updates only), when reported. */
  readonly meanStages: number | undefined;
}

/**
 * Speed over runs: frames per second over every update after the first `warmup` updates of
 * each sequence (so one-time costs such as JIT and session warm-up do not count), from the
 * mean per-frame time. Not the median: a dynamic tracker's frame times are bimodal (frames
 * that stop at the first exit, frames that run every stage), and the median reports one mode,
 * the cheap one when most frames stop early and full depth's when most do not, so a policy
 * running 2.2 stages on average would read as fast as full depth.
 */
export function summarizeSpeed(runs: readonly SequenceRun[], warmup = 3): SpeedSummary {
  let frames = 0;
  let totalMs = 0;
  let networkMs = 0;
  let stagesSum = 0;
  let stagesCount = 0;
  let haveNetwork = true;
  let haveStages = true;
  for (const run of runs) {
    const n = run.frameMs.length;
    const start = Math.min(1 + warmup, n - 1 > 0 ? n - 1 : 1);
    for (let i = start; i < n; i++) {
      frames++;
      totalMs += run.frameMs[i]!;
      if (run.networkMs !== undefined) networkMs += run.networkMs[i]!;
    }
    if (run.networkMs === undefined) haveNetwork = false;
    if (run.stagesRun === undefined) haveStages = false;
    else for (let i = 1; i < n; i++) {
      stagesSum += run.stagesRun[i]!;
      stagesCount++;
    }
  }
  return {
    fps: frames > 0 ? (1000 * frames) / totalMs : Number.NaN,
    networkFps: haveNetwork && frames > 0 ? (1000 * frames) / networkMs : undefined,
    meanStages: haveStages && stagesCount > 0 ? stagesSum / stagesCount : undefined,
  };
}

/** One tracker's evaluation over a dataset. */
export interface TrackerEvaluation {
  /** Tracker name. */
  readonly tracker: string;
  /** Accuracy over all sequences (equal weight). */
  readonly score: AggregateScore;
  /** Per-sequence curves, in the order of the sequences. */
  readonly perSequence: readonly { readonly sequence: string; readonly score: SequenceScore }[];
  /** Lost versus held frames, and how well held frames are measured. */
  readonly breakdown: FailureBreakdown;
  /** Speed, when the tracker was run here (absent when scoring existing results). */
  readonly speed: SpeedSummary | undefined;
  /** The runs (boxes and timings), when the tracker was run here. */
  readonly runs: readonly SequenceRun[] | undefined;
}

/** Scores one tracker's predictions against sequences (DESIGN section 6 rules). */
export function scorePredictions(
  sequences: readonly Sequence[],
  predictions: ReadonlyMap<string, readonly Box[]>,
): { score: AggregateScore; perSequence: { sequence: string; score: SequenceScore }[]; breakdown: FailureBreakdown } {
  const errors = sequences.map((seq) => {
    const boxes = predictions.get(seq.name);
    if (boxes === undefined) throw new InvalidArgumentError(`no predictions for sequence ${seq.name}`);
    return sequenceErrors({ predictions: boxes, truth: seq.groundTruth, ...(seq.absent === undefined ? {} : { absent: seq.absent }), name: seq.name });
  });
  const perSequence = sequences.map((seq, k) => ({ sequence: seq.name, score: scoreSequence(errors[k]!) }));
  return { score: aggregateScores(perSequence.map((p) => p.score)), perSequence, breakdown: failureBreakdown(errors) };
}

/** Options of {@link evaluateTrackers}. */
export interface EvaluateOptions {
  /** Called after every frame. */
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Updates per sequence left out of the speed figures (default 3). */
  readonly warmup?: number;
}

/**
 * Runs every tracker over every sequence (a fresh tracker per sequence) and
 * scores them. Sequences are read lazily, so memory stays at a frame or two.
 */
export async function evaluateTrackers(entries: readonly TrackerEntry[], sequences: readonly Sequence[], options: EvaluateOptions = {}): Promise<TrackerEvaluation[]> {
  const framesTotal = entries.length * sequences.reduce((s, q) => s + q.length, 0);
  let framesDone = 0;
  const out: TrackerEvaluation[] = [];
  for (const entry of entries) {
    const runs: SequenceRun[] = [];
    for (const seq of sequences) {
      const tracker = await entry.create();
      try {
        runs.push(
          await runTrackerOnSequence(tracker, seq, () => {
            framesDone++;
            options.onProgress?.({ tracker: entry.name, sequence: seq.name, framesDone, framesTotal });
          }),
        );
      } finally {
        await tracker.dispose?.();
      }
    }
    const predictions = new Map(runs.map((r) => [r.sequence, r.boxes] as const));
    const { score, perSequence, breakdown } = scorePredictions(sequences, predictions);
    out.push({ tracker: entry.name, score, perSequence, breakdown, speed: summarizeSpeed(runs, options.warmup ?? 3), runs });
  }
  return out;
}

/** Writes `dir/SEQUENCE.txt` (one `x,y,w,h` per line) for every run: the field's results layout. */
export async function writeResults(dir: string, runs: readonly SequenceRun[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const run of runs) await writeFile(path.join(dir, `${run.sequence}.txt`), formatBoxFile(run.boxes));
}

/**
 * Reads a tracker's results directory (`SEQUENCE.txt` per sequence, as
 * pytracking and the OTB/LaSOT toolkits write them; separators comma, tab or
 * space). A results file must have one line per frame.
 */
export async function readResults(dir: string, sequences: readonly Sequence[]): Promise<Map<string, Box[]>> {
  const out = new Map<string, Box[]>();
  for (const seq of sequences) {
    const file = path.join(dir, `${seq.name}.txt`);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (cause) {
      throw new DatasetFormatError(file, undefined, `no results for sequence ${seq.name}: ${(cause as Error).message}`, { cause });
    }
    const boxes = parseBoxFile(text, file);
    if (boxes.length !== seq.length) {
      throw new DatasetFormatError(file, Math.min(boxes.length, seq.length) + 1, `has ${boxes.length} boxes but ${seq.name} has ${seq.length} frames`);
    }
    boxes.forEach((b, i) => {
      if (b.width < 0 || b.height < 0) throw new DatasetFormatError(file, i + 1, `negative box size ${b.width}x${b.height}`);
    });
    out.set(seq.name, boxes);
  }
  return out;
}

/**
 * The `static` baseline: reports the init box on every frame. An honest lower
 * bound: any tracker worth running beats it.
 */
export function createStaticTracker(): TrackerLike {
  let box: Box | undefined;
  return {
    init(_frame, initBox) {
      box = { x: initBox.x, y: initBox.y, width: initBox.width, height: initBox.height };
    },
    update() {
      if (box === undefined) throw new InvalidArgumentError('static tracker: update before init');
      return { box };
    },
  };
}
