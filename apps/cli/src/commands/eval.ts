import path from 'node:path';
import type { ModelManifest } from '@dytrack/core';
import {
  compareEvaluations,
  createStaticTracker,
  formatComparisonTable,
  createSyntheticSequence,
  evaluateTrackers,
  formatBreakdownTable,
  formatResultsTable,
  LOSING_SEQUENCE_SHARE,
  openCvTrackerEntry,
  openDataset,
  readResults,
  scorePredictions,
  writeEvaluationReport,
  type DatasetFormat,
  type ProgressEvent,
  type Sequence,
  type TrackerEntry,
  type TrackerEvaluation,
} from '@dytrack/eval';
import { createTracker, type DyTrackTracker } from '@dytrack/tracker';
import { numberOption, parseOptions, UsageError, type CliIO, type Command } from '../command.js';
import { openBackend, openModel, openPolicy, threadCount, trackingHelp, sequenceOptions } from '../wiring.js';

/** First seed of `--synthetic` evaluation sequences: far from the small seeds training uses. */
export const EVAL_SEED_BASE = 900_000_000;

const HELP = `Usage: dytrack eval --dataset DIR [options]
       dytrack eval --synthetic N [options]
       dytrack eval --results DIR --dataset DIR

Runs trackers over every sequence of a dataset (OTB, LaSOT or GOT-10k layout,
or N procedural sequences), then prints AUC, precision at 20 px, normalised
precision at 0.20, OP50, OP75, whole-loop fps, network-only fps and mean stages
per frame, and writes results.json, table.txt, results/TRACKER/SEQUENCE.txt and
success/precision plots (SVG and PNG) to --out. With --results, scores existing
results files (SEQUENCE.txt per tracker directory, from any tracker) instead.

Data:
  --dataset DIR        a sequence directory, a directory of sequences, or a LaSOT root
  --format F           otb | lasot | got10k (default: detected per sequence)
  --sequences A,B      only these sequences
  --synthetic N        N procedural sequences (seeds ${EVAL_SEED_BASE}+k unless --seed)
  --seed S             first seed of --synthetic sequences
  --size WxH           frame size of --synthetic sequences (default 320x240)
  --length N           frames per --synthetic sequence (default 150)

Trackers (repeatable; default: dytrack, static and opencv-mil):
  --tracker NAME       dytrack | static (never moves: a lower bound) | opencv-mil (OpenCV.js TrackerMIL)
DyTrack (--policy is repeatable here: one table row per policy):
${trackingHelp}

Scoring existing results:
  --results DIR        a directory of tracker directories (each SEQUENCE.txt), or one such directory

Comparison (two or more trackers or policies, two or more sequences):
  --baseline NAME      the row the others are compared with (default: the first), e.g.
                       "dytrack[full]": per row, the AUC difference and the share of the
                       baseline's AUC kept, each with a 95% paired bootstrap interval over
                       the sequences (a few sequences lost or held decide most gaps)

Output:
  --out DIR            where to write (default eval-out)
  --warmup N           updates per sequence left out of the fps figures (default 3)

Examples:
  dytrack eval --dataset ../shared/data/sequences --tracker static --tracker opencv-mil
  dytrack eval --dataset ~/LaSOT --format lasot --model runs/tiny/model --policy threshold --policy fixed:1
  dytrack eval --synthetic 10 --model runs/tiny/model
  dytrack eval --results ~/pytracking/results --dataset ~/OTB100
`;

/** DyTrack trackers for one model and several policies, sharing one backend. */
export interface DyTrackEntries {
  readonly manifest: ModelManifest;
  readonly entries: TrackerEntry[];
  /** Disposes the trackers and the backend. */
  dispose(): Promise<void>;
}

/** The results row of DyTrack under one `--policy` spec: `dytrack[threshold]`, `dytrack[fixed:0]`. */
function dytrackRowName(spec: string): string {
  return `dytrack[${spec}]`;
}

/**
 * Loads a model directory and makes one {@link TrackerEntry} per policy. Each
 * entry keeps one tracker (sessions load once) and re-inits it per sequence.
 */
export async function loadDyTrackEntries(
  modelDir: string | undefined,
  policySpecs: readonly string[],
  options: { threads?: string | undefined; label?: (spec: string) => string } = {},
): Promise<DyTrackEntries> {
  const model = await openModel(modelDir);
  const specs = policySpecs.length > 0 ? policySpecs : ['threshold'];
  const policies = specs.map((s) => openPolicy(s, model));
  const backend = openBackend(options.threads);
  const trackers: DyTrackTracker[] = [];
  const entries: TrackerEntry[] = specs.map((spec, i) => {
    let tracker: Promise<DyTrackTracker> | undefined;
    return {
      name: options.label ? options.label(spec) : dytrackRowName(spec),
      async create() {
        tracker ??= createTracker({ backend, model, exitPolicy: policies[i]! }).then((t) => {
          trackers.push(t);
          return t;
        });
        const t = await tracker;
        // The shared tracker outlives the sequence: init restarts it, dispose happens at the end.
        return { init: (frame, box) => t.init(frame, box), update: (frame) => t.update(frame) };
      },
    };
  });
  return {
    manifest: model.manifest,
    entries,
    async dispose() {
      for (const t of trackers) await t.dispose();
      await backend.dispose();
    },
  };
}

/** Reads the sequences named by --dataset / --synthetic options. */
export async function loadSequences(values: {
  dataset?: string | undefined;
  format?: string | undefined;
  sequences?: string | undefined;
  synthetic?: string | undefined;
  seed?: string | undefined;
  size?: string | undefined;
  length?: string | undefined;
}, io: CliIO): Promise<{ sequences: Sequence[]; description: string; title: string }> {
  if (values.dataset !== undefined && values.synthetic !== undefined) throw new UsageError('give --dataset or --synthetic, not both');
  if (values.dataset !== undefined) {
    const format = values.format;
    if (format !== undefined && format !== 'otb' && format !== 'lasot' && format !== 'got10k') throw new UsageError(`--format must be otb, lasot or got10k, got "${format}"`);
    const root = path.resolve(io.cwd, values.dataset);
    const ds = await openDataset(root, {
      ...(format === undefined ? {} : { format: format as DatasetFormat }),
      ...(values.sequences === undefined ? {} : { sequences: values.sequences.split(',').map((s) => s.trim()) }),
    });
    return { sequences: [...ds.sequences], description: root, title: path.basename(root) };
  }
  if (values.synthetic !== undefined) {
    const count = numberOption(values.synthetic, 'synthetic', 0);
    if (!Number.isInteger(count) || count < 1) throw new UsageError(`--synthetic must be a positive integer, got ${values.synthetic}`);
    const seed = numberOption(values.seed, 'seed', EVAL_SEED_BASE);
    const length = numberOption(values.length, 'length', 150);
    if (!Number.isInteger(length) || length < 1) throw new UsageError(`--length must be a positive integer, got ${values.length}`);
    const m = /^(\d+)x(\d+)$/.exec(values.size ?? '320x240');
    if (!m) throw new UsageError(`--size must look like 320x240, got "${values.size}"`);
    const sequences = Array.from({ length: count }, (_, k) => createSyntheticSequence({ seed: seed + k, width: Number(m[1]), height: Number(m[2]), length }));
    return { sequences, title: `${count} synthetic sequences`, description: `${count} synthetic sequences (seeds ${seed}..${seed + count - 1}, ${m[1]}x${m[2]}, ${length} frames)` };
  }
  throw new UsageError('--dataset DIR or --synthetic N is required');
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/**
 * A progress reporter for stderr: a redrawn bar with ETA on a terminal, a line
 * every 10% otherwise (logs stay short).
 */
export function createProgressBar(io: CliIO): { update(e: ProgressEvent, extra?: string): void; done(): void } {
  const start = performance.now();
  const tty = io.stderr.isTTY === true;
  let lastDecile = -1;
  let lastDraw = 0;
  return {
    update(e, extra = '') {
      const frac = e.framesTotal > 0 ? e.framesDone / e.framesTotal : 1;
      const elapsed = (performance.now() - start) / 1000;
      const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : Number.NaN;
      const text = `${(100 * frac).toFixed(0).padStart(3)}% ${e.framesDone}/${e.framesTotal} frames  ETA ${clock(eta)}  ${extra}${e.tracker} on ${e.sequence}`;
      if (tty) {
        const now = performance.now();
        if (now - lastDraw < 100 && e.framesDone < e.framesTotal) return;
        lastDraw = now;
        const width = 24;
        const filled = Math.round(width * frac);
        const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
        const cols = io.stderr.columns ?? 100;
        io.stderr.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
      } else {
        const decile = Math.floor(frac * 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          io.stderr.write(`${text}\n`);
        }
      }
    },
    done() {
      if (tty) io.stderr.write('\n');
    },
  };
}

async function scoreExistingResults(resultsDir: string, sequences: readonly Sequence[]): Promise<TrackerEvaluation[]> {
  const { readdir, stat } = await import('node:fs/promises');
  let names: string[];
  try {
    names = (await readdir(resultsDir)).sort();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`--results ${resultsDir}: ${code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (error as Error).message}`);
  }
  const dirs: string[] = [];
  for (const n of names) if ((await stat(path.join(resultsDir, n))).isDirectory()) dirs.push(n);
  // Either one tracker's directory (SEQUENCE.txt files) or a directory of tracker directories.
  const trackers = names.some((n) => n.endsWith('.txt')) ? [[path.basename(resultsDir), resultsDir] as const] : dirs.map((d) => [d, path.join(resultsDir, d)] as const);
  if (trackers.length === 0) throw new UsageError(`${resultsDir}: no results files (SEQUENCE.txt) or tracker directories`);
  const out: TrackerEvaluation[] = [];
  for (const [name, dir] of trackers) {
    const predictions = await readResults(dir, sequences);
    const { score, perSequence, breakdown } = scorePredictions(sequences, predictions);
    out.push({ tracker: name, score, perSequence, breakdown, speed: undefined, runs: undefined });
  }
  return out;
}

/** `dytrack eval`: accuracy and speed of trackers over a dataset (logic in `@dytrack/eval`). */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'score trackers on a dataset: AUC, P, NP, OP50/75, fps, stages; plots',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      ...sequenceOptions,
      tracker: { type: 'string', multiple: true },
      model: { type: 'string' },
      policy: { type: 'string', multiple: true },
      threads: { type: 'string' },
      results: { type: 'string' },
      out: { type: 'string', default: 'eval-out' },
      warmup: { type: 'string' },
      baseline: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (see dytrack eval --help)`);
    // Every option is checked before the sequences are read or generated, which can take minutes.
    const names = values.tracker ?? ['dytrack', 'static', 'opencv-mil'];
    let warmup = 3;
    if (values.results !== undefined) {
      if (values.tracker !== undefined || values.model !== undefined || values.policy !== undefined) throw new UsageError('--results scores existing files; it takes no --tracker, --model or --policy');
    } else {
      for (const n of names) if (n !== 'dytrack' && n !== 'static' && n !== 'opencv-mil') throw new UsageError(`unknown --tracker "${n}" (dytrack, static, opencv-mil)`);
      if (values.policy !== undefined && !names.includes('dytrack')) throw new UsageError('--policy applies to --tracker dytrack');
      warmup = numberOption(values.warmup, 'warmup', 3);
      threadCount(values.threads);
      if (values.baseline !== undefined) {
        const rows = names.flatMap((n) => (n === 'dytrack' ? (values.policy ?? ['threshold']).map(dytrackRowName) : [n]));
        if (!rows.includes(values.baseline)) throw new UsageError(`--baseline "${values.baseline}" is not one of the rows: ${rows.join(', ')}`);
      }
    }
    const { sequences, description, title } = await loadSequences(values, io);
    const frames = sequences.reduce((s, q) => s + q.length, 0);
    io.stderr.write(`dataset: ${description}: ${sequences.length} sequences, ${frames} frames\n`);
    const out = path.resolve(io.cwd, values.out);

    let evaluations: TrackerEvaluation[];
    let meta: Record<string, unknown>;
    if (values.results !== undefined) {
      const resultsDir = path.resolve(io.cwd, values.results);
      evaluations = await scoreExistingResults(resultsDir, sequences);
      meta = { title, dataset: description, results: resultsDir };
    } else {
      const entries: TrackerEntry[] = [];
      let dytrack: DyTrackEntries | undefined;
      try {
        for (const n of names) {
          if (n === 'dytrack') {
            dytrack = await loadDyTrackEntries(values.model === undefined ? undefined : path.resolve(io.cwd, values.model), values.policy ?? ['threshold'], { threads: values.threads });
            entries.push(...dytrack.entries);
          } else if (n === 'static') entries.push({ name: 'static', create: createStaticTracker });
          else entries.push(await openCvTrackerEntry('MIL'));
        }
        const progress = createProgressBar(io);
        evaluations = await evaluateTrackers(entries, sequences, { warmup, onProgress: (e) => progress.update(e) });
        progress.done();
      } finally {
        await dytrack?.dispose();
      }
      meta = { title, dataset: description, model: values.model === undefined ? (names.includes('dytrack') ? 'default' : null) : path.resolve(io.cwd, values.model), policies: values.policy ?? null, warmup, threads: values.threads ?? null };
    }
    if (values.baseline !== undefined && !evaluations.some((e) => e.tracker === values.baseline)) {
      throw new UsageError(`--baseline "${values.baseline}" is not one of the rows: ${evaluations.map((e) => e.tracker).join(', ')}`);
    }
    const comparisons = evaluations.length > 1 && sequences.length > 1 ? compareEvaluations(evaluations, values.baseline === undefined ? {} : { baseline: values.baseline }) : [];
    const files = await writeEvaluationReport(out, evaluations, meta, comparisons);
    io.stdout.write(`${formatResultsTable(evaluations)}\n\n`);
    io.stdout.write(`AUC: mean of the success rate at IoU > 0, 0.05, ..., 1 (x100); P@20: centre error <= 20 px; NP@.20: normalised centre error <= 0.20\n\n`);
    io.stdout.write(`${formatBreakdownTable(evaluations)}\n\n`);
    io.stdout.write(`lost: frames whose box does not touch the target (IoU 0); a sequence is losing from ${100 * LOSING_SEQUENCE_SHARE}% lost frames; held: the other frames (frame 0 left out)\n`);
    if (comparisons.length > 0) {
      io.stdout.write(`\n${formatComparisonTable(comparisons)}\n\n`);
      io.stdout.write(`ΔAUC: mean over the ${sequences.length} sequences of each row's AUC less ${comparisons[0]!.baseline}'s; AUC share: the share of its AUC kept; intervals: 95% paired bootstrap over the sequences\n`);
      if (sequences.length < 10) io.stdout.write(`(with ${sequences.length} sequences an interval is little more than the range of their differences)\n`);
    } else if (values.baseline !== undefined) {
      io.stdout.write(`\nno comparison with ${values.baseline}: it needs two or more sequences\n`);
    }
    io.stdout.write(`wrote ${files.json}, ${files.table}, ${files.successSvg}, ${files.precisionSvg}${files.successPng ? `, ${files.successPng}, ${files.precisionPng}` : ''}${files.comparisonSvg ? `, ${files.comparisonPng ?? files.comparisonSvg}` : ''}${files.resultsDirs.length > 0 ? `, ${path.join(out, 'results')}/` : ''}\n`);
    if (files.pngError !== undefined) io.stderr.write(`PNG plots skipped: ${files.pngError}\n`);
    return 0;
  },
};
