import type { ExitPolicy, ModelSource } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { createSyntheticSequence, evaluateTrackers, openDataset, type Sequence, type TrackerEntry } from '@dytrack/eval';
import { fixedDepthPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import { createTracker, type DyTrackTracker } from '@dytrack/tracker';
import { HELD_OUT_SEED_BASE } from './data.js';

/** Options of {@link evaluateModel}. */
export interface ModelEvaluationOptions {
  /** Held-out procedural sequences (default 32: with 8, figures move by 3-5 AUC between neighbouring checkpoints; seeds from {@link HELD_OUT_SEED_BASE}). */
  readonly syntheticSequences?: number;
  /** First seed of them (default {@link HELD_OUT_SEED_BASE}). */
  readonly seedBase?: number;
  /** Frames per procedural sequence (default 100). */
  readonly length?: number;
  /** Dataset directories to evaluate on as well (OTB, LaSOT or GOT-10k layout). */
  readonly datasets?: readonly string[];
  /** onnxruntime intra-op threads (default 1). */
  readonly threads?: number;
  /** The tracker's lost threshold on the score-map peak (default: the tracker's, 0.2). */
  readonly lostThreshold?: number;
}

/** AUC (x100) and depth of one policy on one sequence set. */
export interface PolicyFigures {
  /** Success AUC x100. */
  readonly auc: number;
  /** Precision at 20 px, x100. */
  readonly precision: number;
  /** Mean stages run per frame. */
  readonly meanStages: number | undefined;
  /** Frames per second of the whole loop (median). */
  readonly fps: number;
}

/** Evaluation figures of a model on one sequence set (what the manifest's provenance records). */
export interface ModelEvaluation {
  /** What the set is (`synthetic seeds A..B`, or a directory). */
  readonly data: string;
  /** Names of the sequences. */
  readonly sequences: readonly string[];
  /** Always exit k, for every exit (static baselines). */
  readonly perExit: readonly PolicyFigures[];
  /** The dynamic policy at the model's default thresholds. */
  readonly dynamic: PolicyFigures;
}

function held(count: number, base: number, length: number): Sequence[] {
  return Array.from({ length: count }, (_, k) => createSyntheticSequence({ seed: base + k, length }));
}

/**
 * Tracks held-out sequences with a model under every fixed depth ("always exit k")
 * and under the threshold policy at the manifest's default thresholds, and scores them
 * (`@dytrack/eval`'s harness and metrics).
 */
export async function evaluateModel(model: ModelSource, options: ModelEvaluationOptions = {}): Promise<ModelEvaluation[]> {
  const backend = createNodeBackend({ intraOpNumThreads: options.threads ?? 1 });
  const trackers: DyTrackTracker[] = [];
  try {
    const exits = model.manifest.stages.length;
    const policies: ExitPolicy[] = [...Array.from({ length: exits }, (_, k) => fixedDepthPolicy({ exit: k })), thresholdPolicy({ manifest: model.manifest })];
    const entries: TrackerEntry[] = policies.map((policy, i) => {
      let tracker: Promise<DyTrackTracker> | undefined;
      return {
        name: i < exits ? `exit${i}` : 'dynamic',
        async create() {
          tracker ??= createTracker({ backend, model, exitPolicy: policy, ...(options.lostThreshold !== undefined ? { lostThreshold: options.lostThreshold } : {}) }).then((t) => (trackers.push(t), t));
          const t = await tracker;
          return { init: (frame, box) => t.init(frame, box), update: (frame) => t.update(frame) };
        },
      };
    });
    const sets: { data: string; sequences: readonly Sequence[] }[] = [];
    const n = options.syntheticSequences ?? 32;
    const base = options.seedBase ?? HELD_OUT_SEED_BASE;
    if (n > 0) sets.push({ data: `synthetic seeds ${base}..${base + n - 1} (held out)`, sequences: held(n, base, options.length ?? 100) });
    for (const dir of options.datasets ?? []) sets.push({ data: dir, sequences: (await openDataset(dir)).sequences });
    const out: ModelEvaluation[] = [];
    for (const set of sets) {
      const results = await evaluateTrackers(entries, set.sequences);
      const figures = results.map(
        (r): PolicyFigures => ({ auc: r.score.auc, precision: r.score.precision, meanStages: r.speed?.meanStages, fps: r.speed?.fps ?? Number.NaN }),
      );
      out.push({ data: set.data, sequences: set.sequences.map((s) => s.name), perExit: figures.slice(0, exits), dynamic: figures[exits]! });
    }
    return out;
  } finally {
    for (const t of trackers) await t.dispose();
    await backend.dispose();
  }
}
