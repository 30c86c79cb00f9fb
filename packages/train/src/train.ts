import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type HostTensor } from '@dytrack/core';
import { Trainer, type StepResult } from '@dytrack/autograd';
import { createNodeBackend } from '@dytrack/backend-node';
import { resolveLossConfig, type LossConfig } from '@dytrack/distill';
import { findSystemAssets, lineChartSvg, svgToPng } from '@dytrack/eval';
import { exportModel, initWeights, modelCost, modelGeometry, parameterSpecs, resizePositionEmbeddings, validateModelConfig, validateWeights, type InitWeightsOptions, type ModelConfig, type ModelWeights } from '@dytrack/model';
import { loadModelDirectory, writeModelDirectory, writeWeightsFile } from '@dytrack/model/node';
import { checkpointFromBytes, checkpointToBytes, readCheckpointFile, writeCheckpoint, type CheckpointInfo, type HistoryEntry } from './checkpoint.js';
import type { BatchBuffers, DataSourceSpec, SamplerOptions } from './data.js';
import { evaluateModel, type ModelEvaluation, type ModelEvaluationOptions } from './evaluate.js';
import { createBatchLoader, type LoaderStats } from './loader.js';
import { learningRateAt, validateSchedule, type LearningRateSchedule } from './schedule.js';
import { BATCH_INPUTS, buildDyTrackTrainingStep, DEFAULT_OPTIMIZER, selectParameters } from './step.js';
import type { AdamWOptions } from '@dytrack/autograd';
import type { AugmentationOptions, BoxJitter, DEFAULT_AUGMENTATION, DEFAULT_SEARCH_JITTER, DEFAULT_TEMPLATE_JITTER } from './augment.js';

/** Options of {@link trainModel}. */
export interface TrainOptions {
  /** The architecture to train. */
  readonly model: ModelConfig;
  /** Where pairs come from. */
  readonly data: readonly DataSourceSpec[];
  /** Total optimizer steps of the run. */
  readonly steps: number;
  /** Samples per step (default 8). */
  readonly batchSize?: number;
  /** Run seed: initial weights and every batch derive from it (default 1). */
  readonly seed?: number;
  /** Directory of checkpoints, loss curve, history and final weights (created). */
  readonly outDir: string;
  /** Where the exported model goes (default `outDir/model`). */
  readonly exportDir?: string;
  /** Peak learning rate (default 4e-4, OSTrack's, for batch 32: scale with the batch as you see fit). */
  readonly lr?: number;
  /** Warm-up steps (default 5% of the run). */
  readonly warmupSteps?: number;
  /** Decay after warm-up (default cosine). */
  readonly decay?: LearningRateSchedule['decay'];
  /** Loss weights and settings (default `@dytrack/distill`'s). */
  readonly loss?: LossConfig;
  /** How the initial weights are drawn, besides the seed (default `@dytrack/model`'s {@link initWeights} defaults). */
  readonly init?: Omit<InitWeightsOptions, 'seed'>;
  /**
   * Start from these weights instead of a random initialisation (a fine-tuning phase: the
   * optimizer state and the schedule start fresh). `initialWeightsLabel` names them in the
   * provenance (a file path, say).
   */
  readonly initialWeights?: ModelWeights;
  /** What {@link TrainOptions.initialWeights} are, for the provenance. */
  readonly initialWeightsLabel?: string;
  /** AdamW settings (default {@link DEFAULT_OPTIMIZER}). */
  readonly optimizer?: AdamWOptions;
  /**
   * Train only the parameters these patterns name ({@link selectParameters}: `decision` for
   * every exit's decision branch, say); the rest stay exactly as given. Default: all. Meant
   * for fine-tuning from {@link TrainOptions.initialWeights}.
   */
  readonly trainOnly?: readonly string[];
  /** Augmentation (default {@link DEFAULT_AUGMENTATION}). */
  readonly augmentation?: AugmentationOptions;
  /** Search-crop jitter (default {@link DEFAULT_SEARCH_JITTER}). */
  readonly searchJitter?: BoxJitter;
  /** Template-crop jitter (default {@link DEFAULT_TEMPLATE_JITTER}). */
  readonly templateJitter?: BoxJitter;
  /** Consecutive samples of a batch that share a sequence (default 1; see `SamplerOptions.pairsPerSequence`). */
  readonly pairsPerSequence?: number;
  /** Skip pairs showing less than this fraction of the target (default 0; see `SamplerOptions.minVisibility`). */
  readonly minVisibility?: number;
  /** Probability that a sample's template is its sequence's first frame (default 0; see `SamplerOptions.firstFrameTemplates`). */
  readonly firstFrameTemplates?: number;
  /** Probability of a hidden-target negative sample (default 0; see `SamplerOptions.hiddenNegatives`). */
  readonly hiddenNegatives?: number;
  /** Write a checkpoint every this many steps (default 100) and at the end. */
  readonly checkpointEvery?: number;
  /** Resume from `outDir/checkpoint.safetensors` when it exists (default false). */
  readonly resume?: boolean;
  /** Stop after this step (a checkpoint is written; no export). For splitting a run. */
  readonly stopAfter?: number;
  /** onnxruntime intra-op threads of the training step (default 2). */
  readonly threads?: number;
  /** Produce batches on a worker thread (default true). */
  readonly workerLoader?: boolean;
  /** Store exported weights as float16 (default false). */
  readonly fp16?: boolean;
  /** Evaluation of the exported model recorded in its manifest; `false` skips it. */
  readonly evaluation?: ModelEvaluationOptions | false;
  /** Free-form provenance merged into the manifest (the command line, say). */
  readonly provenance?: Readonly<Record<string, unknown>>;
  /** Called after every step. */
  readonly onProgress?: (event: TrainProgress) => void;
  /** Called with phase messages (export, evaluation). */
  readonly onLog?: (message: string) => void;
}

/** Progress after one step. */
export interface TrainProgress {
  /** Steps taken. */
  readonly step: number;
  /** Steps of the whole run. */
  readonly totalSteps: number;
  /** This step's loss. */
  readonly loss: number;
  /** Exponential moving average of the loss (factor 0.95). */
  readonly smoothedLoss: number;
  /** This step's learning rate. */
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Steps per second over this session. */
  readonly stepsPerSecond: number;
  /** Estimated seconds to the end. */
  readonly etaSeconds: number;
  /** Per-component losses of this step (exit0/giou, ...). */
  readonly metrics: Readonly<Record<string, number>>;
}

/** What {@link trainModel} returns. */
export interface TrainResult {
  /** Steps taken in total (including resumed ones). */
  readonly steps: number;
  /** Loss of the last step. */
  readonly finalLoss: number;
  /** Its exponential moving average (factor 0.95). */
  readonly finalSmoothedLoss: number;
  /** Seconds of training (accumulated over resumes). */
  readonly trainSeconds: number;
  /** The final parameters by name. */
  readonly weights: Map<string, Float32Array>;
  /** Loss (and each exit's training IoU) per step. */
  readonly history: readonly HistoryEntry[];
  /**
   * Each exit's mean IoU on the training pairs of the last steps (EMA 0.99 of
   * {@link HistoryEntry.exitIoU}, shallowest exit first; empty when no step recorded it).
   */
  readonly finalExitIoU: readonly number[];
  /** Data-loading counters (how much loading overlapped the steps). */
  readonly loader: LoaderStats;
  /** Where the model was exported (absent when stopped early). */
  readonly exportDir: string | undefined;
  /** Evaluation figures recorded in the manifest. */
  readonly evaluation: readonly ModelEvaluation[] | undefined;
}

/** File name of the checkpoint inside `outDir`. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The ViT blocks of `config` that `given` has no parameter of: a model grown by blocks from
 * `given`'s. Blocks are named by their index over the whole backbone, so appending blocks to
 * the last stage keeps every earlier block's name and weights.
 */
function identityBlocks(config: ModelConfig, given: ReadonlyMap<string, unknown>): number[] {
  const present = new Set<number>();
  const blocks = new Set<number>();
  for (const p of parameterSpecs(config)) {
    if (p.owner.kind !== 'block') continue;
    blocks.add(p.owner.block);
    if (given.has(p.name)) present.add(p.owner.block);
  }
  return [...blocks].filter((b) => !present.has(b));
}

function feeds(b: BatchBuffers, config: ModelConfig, B: number, n: number): Record<string, HostTensor> {
  return {
    [BATCH_INPUTS.templateImage]: { dtype: 'float32', dims: [B, 3, config.templateSize, config.templateSize], data: b.templateImage },
    [BATCH_INPUTS.searchImage]: { dtype: 'float32', dims: [B, 3, config.searchSize, config.searchSize], data: b.searchImage },
    [BATCH_INPUTS.heatmap]: { dtype: 'float32', dims: [B, 1, n, n], data: b.heatmap },
    [BATCH_INPUTS.boxes]: { dtype: 'float32', dims: [B, 4], data: b.boxes },
    [BATCH_INPUTS.tokenMask]: { dtype: 'float32', dims: [B, n * n], data: b.tokenMask },
  };
}

/** Renders the loss history (raw and smoothed) as an SVG line chart. */
export function lossCurveSvg(history: readonly HistoryEntry[], title = 'Training loss'): string {
  const x = history.map((h) => h.step);
  const y = history.map((h) => h.loss);
  const smooth = ema(y, 0.95);
  const hi = lossChartTop(y);
  return lineChartSvg({
    title,
    xLabel: 'step',
    yLabel: 'loss',
    xRange: [0, Math.max(1, x[x.length - 1] ?? 1)],
    yRange: [0, hi * 1.05],
    legend: 'top-right',
    series: [
      { label: 'loss', x, y, color: '#9ecae1' },
      { label: 'smoothed (EMA 0.95)', x, y: smooth, color: '#1f77b4' },
    ],
  });
}

/**
 * The top of the loss chart's y axis (before its 5% headroom). A long run's first few losses
 * dwarf the rest, so they are left above the chart, at most 5 entries and 5% of the history;
 * a short run's chart shows every point.
 */
export function lossChartTop(losses: readonly number[]): number {
  const skip = Math.min(5, Math.floor(losses.length / 20));
  let top = 1e-9;
  for (let i = skip; i < losses.length; i++) if (losses[i]! > top) top = losses[i]!;
  return top;
}

/** Exponential moving average of a series, started at its first value. */
function ema(values: readonly number[], factor: number): number[] {
  const out: number[] = [];
  let s = values[0] ?? 0;
  for (const v of values) out.push((s = factor * s + (1 - factor) * v));
  return out;
}

const EXIT_COLORS = ['#d62728', '#ff7f0e', '#2ca02c', '#1f77b4', '#9467bd', '#8c564b'];

/**
 * Each exit's mean IoU on the training pairs (EMA 0.99 over the steps that recorded it),
 * shallowest exit first; empty when no step did.
 */
export function smoothedExitIoU(history: readonly HistoryEntry[]): number[][] {
  const recorded = history.filter((h) => h.exitIoU !== undefined);
  const exits = recorded[0]?.exitIoU?.length ?? 0;
  return Array.from({ length: exits }, (_, k) => ema(recorded.map((h) => h.exitIoU![k] ?? Number.NaN), 0.99));
}

/**
 * Renders each exit's training IoU over the steps (EMA 0.99) as an SVG line chart: where
 * the exits stand on training pairs, to set beside their tracking AUC (a deeper exit
 * that is ahead on pairs but behind when tracking fails on sequences, not on pairs).
 * `undefined` when no history entry recorded per-exit IoU.
 */
export function exitIoUCurveSvg(history: readonly HistoryEntry[], title = 'Training IoU per exit'): string | undefined {
  const recorded = history.filter((h) => h.exitIoU !== undefined);
  if (recorded.length === 0) return undefined;
  const x = recorded.map((h) => h.step);
  const smooth = smoothedExitIoU(recorded);
  return lineChartSvg({
    title,
    xLabel: 'step',
    yLabel: 'mean IoU on training pairs (EMA 0.99)',
    xRange: [0, Math.max(1, x[x.length - 1] ?? 1)],
    yRange: [0, 1],
    legend: 'bottom-right',
    series: smooth.map((y, k) => ({ label: `exit ${k}`, x, y, color: EXIT_COLORS[k % EXIT_COLORS.length]! })),
  });
}

/**
 * Trains a DyTrack model on onnxruntime (DESIGN 7): the one-graph training step of
 * {@link buildDyTrackTrainingStep}, batches from a {@link createBatchLoader} worker
 * overlapping the steps, the learning-rate schedule of {@link learningRateAt},
 * checkpoints every `checkpointEvery` steps (bit-exact resume), then the loss curve
 * (PNG and SVG), the final weights (safetensors), the staged export and an evaluation
 * on held-out sequences, all recorded in the manifest's provenance.
 */
export async function trainModel(options: TrainOptions): Promise<TrainResult> {
  const config = validateModelConfig(options.model);
  const B = options.batchSize ?? 8;
  const seed = options.seed ?? 1;
  const totalSteps = options.steps;
  const log = options.onLog ?? (() => {});
  if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new InvalidArgumentError(`steps must be a positive integer, got ${totalSteps}`);
  if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer, got ${seed}`);
  if (options.stopAfter !== undefined && (!Number.isInteger(options.stopAfter) || options.stopAfter < 1 || options.stopAfter > totalSteps)) {
    throw new InvalidArgumentError(`stopAfter must be an integer in 1..${totalSteps} (the schedule's steps), got ${options.stopAfter}`);
  }
  const schedule = validateSchedule({
    baseLr: options.lr ?? 4e-4,
    totalSteps,
    warmupSteps: options.warmupSteps ?? Math.round(totalSteps * 0.05),
    decay: options.decay ?? 'cosine',
  });
  const checkpointEvery = options.checkpointEvery ?? 100;
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const checkpointPath = join(outDir, CHECKPOINT_FILE);
  const n = config.searchSize / config.patchSize;
  const sampler: SamplerOptions = {
    model: config,
    sources: options.data,
    seed,
    batchSize: B,
    ...(options.augmentation ? { augmentation: options.augmentation } : {}),
    ...(options.searchJitter ? { searchJitter: options.searchJitter } : {}),
    ...(options.templateJitter ? { templateJitter: options.templateJitter } : {}),
    ...(options.pairsPerSequence !== undefined && options.pairsPerSequence !== 1 ? { pairsPerSequence: options.pairsPerSequence } : {}),
    ...(options.minVisibility ? { minVisibility: options.minVisibility } : {}),
    ...(options.firstFrameTemplates ? { firstFrameTemplates: options.firstFrameTemplates } : {}),
    ...(options.hiddenNegatives ? { hiddenNegatives: options.hiddenNegatives } : {}),
  };
  const trainOnly = options.trainOnly && options.trainOnly.length > 0 ? [...options.trainOnly] : undefined;
  const trainable = trainOnly ? selectParameters(config, trainOnly) : undefined;
  const step = buildDyTrackTrainingStep(config, { batchSize: B, ...(options.loss ? { loss: options.loss } : {}), ...(options.optimizer ? { optimizer: options.optimizer } : {}), ...(trainable ? { trainable } : {}) });
  const run = {
    variant: config.variant,
    data: options.data,
    batchSize: B,
    seed,
    schedule,
    loss: step.loss,
    optimizer: step.optimizer,
    augmentation: options.augmentation ?? 'default',
    ...(sampler.pairsPerSequence ? { pairsPerSequence: sampler.pairsPerSequence } : {}),
    ...(sampler.minVisibility ? { minVisibility: sampler.minVisibility } : {}),
    ...(sampler.firstFrameTemplates ? { firstFrameTemplates: sampler.firstFrameTemplates } : {}),
    ...(sampler.hiddenNegatives ? { hiddenNegatives: sampler.hiddenNegatives } : {}),
    ...(options.init ? { init: options.init } : {}),
    ...(options.initialWeights ? { initialWeights: options.initialWeightsLabel ?? 'given' } : {}),
    ...(trainOnly ? { trainOnly } : {}),
  };
  const shapes = new Map(parameterSpecs(config).map((p) => [p.name, p.shape] as const));

  let history: HistoryEntry[] = [];
  let timeOffset = 0;
  let initial: Parameters<typeof Trainer.create>[2];
  if (options.resume && (await exists(checkpointPath))) {
    const { state, info } = checkpointFromBytes(await readCheckpointFile(checkpointPath), shapes);
    // A checkpoint from before a loss setting existed records it by its absence: read it with that setting's default.
    const saved = info.run as Record<string, unknown>;
    const savedRun = saved['loss'] !== null && typeof saved['loss'] === 'object' ? { ...saved, loss: resolveLossConfig(saved['loss'] as LossConfig) } : saved;
    if (JSON.stringify(savedRun) !== JSON.stringify(JSON.parse(JSON.stringify(run)))) {
      throw new InvalidArgumentError(`resume: the checkpoint in ${outDir} was made with other settings (${JSON.stringify(info.run)})`);
    }
    initial = state;
    history = [...info.history];
    timeOffset = history.length > 0 ? history[history.length - 1]!.time : 0;
    log(`resumed from ${checkpointPath} at step ${state.step}`);
  } else {
    if (options.initialWeights) {
      // Parameters the given weights lack (a head added since) start from the random initialisation.
      const fresh = initWeights(config, { ...options.init, seed });
      // Weights trained at another template or search size: their position embeddings are
      // resampled to this configuration's grids.
      const geometry = modelGeometry(config);
      const { weights: given, resized } = resizePositionEmbeddings(options.initialWeights, { template: geometry.templateGrid, search: geometry.searchGrid }, config.dim);
      for (const r of resized) log(`${r.name} resampled from a ${r.from}x${r.from} to a ${r.to}x${r.to} grid (the given weights were trained at another crop size)`);
      const missing = [...fresh.keys()].filter((k) => !given.has(k));
      const frozenMissing = trainable ? missing.filter((k) => !trainable.has(k)) : [];
      if (frozenMissing.length > 0) {
        throw new InvalidArgumentError(
          `trainOnly: the given weights lack ${frozenMissing.length} parameters that would stay frozen at their random initialisation (${frozenMissing.slice(0, 3).join(', ')}${frozenMissing.length > 3 ? ', ...' : ''}); are they weights of this architecture?`,
        );
      }
      const merged = new Map([...fresh].map(([k, v]) => [k, Float32Array.from(given.get(k) ?? v)] as const));
      // A ViT block the given weights lack entirely (the model grown by blocks) starts as the
      // identity: its two residual branches' output layers are zero, so the grown model computes
      // exactly what the given one did and training only adds to it.
      const grown = identityBlocks(config, given);
      for (const b of grown) {
        for (const name of [`backbone.blocks.${b}.attn.proj.weight`, `backbone.blocks.${b}.mlp.fc2.weight`]) merged.get(name)!.fill(0);
      }
      validateWeights(config, merged);
      if (missing.length > 0) log(`initialised ${missing.length} parameters the given weights lack: ${missing.join(', ')}`);
      if (grown.length > 0) log(`blocks ${grown.join(', ')} start as the identity (the given weights lack them)`);
      initial = Object.fromEntries(merged);
    } else {
      initial = Object.fromEntries(initWeights(config, { ...options.init, seed }));
    }
  }

  if (trainable) log(`training ${trainable.size} of ${shapes.size} parameter tensors (${trainOnly!.join(', ')}); the rest are frozen`);
  if (step.loss.decisionTarget === 'asGoodAsLast') log(`early decision branches learn whether their box is as good as the last exit's (IoU within ${step.loss.decisionMargin} of it), not its IoU`);
  const backend = createNodeBackend({ intraOpNumThreads: options.threads ?? 2 });
  const trainer = await Trainer.create(backend, step, initial);
  const startStep = trainer.stepCount;
  const stopAt = Math.min(totalSteps, options.stopAfter ?? totalSteps);
  const loader = await createBatchLoader(sampler, { startBatch: startStep, worker: options.workerLoader ?? true });
  const started = performance.now();
  const exits = config.stageDepths.length;
  let smoothed = history.length > 0 ? history[history.length - 1]!.loss : Number.NaN;
  let last: StepResult | undefined;
  const saveCheckpoint = async (): Promise<void> => {
    const info: CheckpointInfo = { step: trainer.stepCount, rng: { seed, nextBatch: trainer.stepCount }, run, history };
    await writeCheckpoint(checkpointPath, checkpointToBytes(trainer.state(), info, shapes));
  };
  try {
    while (trainer.stepCount < stopAt) {
      const { batch, buffers } = await loader.next();
      if (batch !== trainer.stepCount) throw new InvalidArgumentError(`internal: batch ${batch} at step ${trainer.stepCount}`);
      const lr = learningRateAt(schedule, trainer.stepCount + 1);
      last = await trainer.step(feeds(buffers, config, B, n), lr);
      loader.recycle(buffers);
      if (!Number.isFinite(last.loss)) throw new InvalidArgumentError(`training diverged: loss ${last.loss} at step ${last.step}`);
      smoothed = Number.isNaN(smoothed) ? last.loss : 0.95 * smoothed + 0.05 * last.loss;
      const elapsed = (performance.now() - started) / 1000;
      const exitIoU: number[] = [];
      for (let k = 0; k < exits; k++) exitIoU.push(last.metrics[`exit${k}/meanIoU`]?.[0] ?? Number.NaN);
      history.push({ step: last.step, loss: last.loss, lr, time: timeOffset + elapsed, exitIoU });
      const rate = (last.step - startStep) / Math.max(elapsed, 1e-9);
      if (options.onProgress) {
        const metrics: Record<string, number> = {};
        for (const [k, v] of Object.entries(last.metrics)) metrics[k] = v[0]!;
        options.onProgress({ step: last.step, totalSteps, loss: last.loss, smoothedLoss: smoothed, lr, gradNorm: last.gradNorm, stepsPerSecond: rate, etaSeconds: (totalSteps - last.step) / rate, metrics });
      }
      if (last.step % checkpointEvery === 0 || last.step === stopAt) await saveCheckpoint();
    }
  } finally {
    await loader.close();
    await trainer.release();
    await backend.dispose();
  }
  const trainSeconds = history.length > 0 ? history[history.length - 1]!.time : 0;
  const weights = new Map(Object.entries(trainer.parameters).map(([k, v]) => [k, v as Float32Array] as const));
  const loaderStats = loader.stats();
  // A partial fine-tune's loss is mostly terms its frozen parameters fix, so the title says what trained.
  const svg = lossCurveSvg(history, `${config.name}: training loss (batch ${B}, seed ${seed}${trainOnly ? `; trains ${trainOnly.join(', ')} only` : ''})`);
  await writeFile(join(outDir, 'loss.svg'), svg);
  try {
    await writeFile(join(outDir, 'loss.png'), await svgToPng(svg));
  } catch (e) {
    log(`loss.png not written: ${(e as Error).message}`);
  }
  const exitSvg = exitIoUCurveSvg(history, `${config.name}: training IoU per exit (batch ${B}, seed ${seed})`);
  if (exitSvg) {
    await writeFile(join(outDir, 'exits.svg'), exitSvg);
    try {
      await writeFile(join(outDir, 'exits.png'), await svgToPng(exitSvg));
    } catch (e) {
      log(`exits.png not written: ${(e as Error).message}`);
    }
  }
  const finalExitIoU = smoothedExitIoU(history).map((s) => s[s.length - 1]!);
  if (finalExitIoU.length > 0) log(`training IoU per exit (EMA 0.99): ${finalExitIoU.map((v) => v.toFixed(3)).join(' / ')}`);
  await writeFile(join(outDir, 'history.json'), JSON.stringify(history));
  const finalLoss = last?.loss ?? history[history.length - 1]?.loss ?? Number.NaN;
  const base = { steps: trainer.stepCount, finalLoss, finalSmoothedLoss: smoothed, finalExitIoU, trainSeconds, weights, history, loader: loaderStats };
  if (trainer.stepCount < totalSteps) return { ...base, exportDir: undefined, evaluation: undefined };

  await writeWeightsFile(join(outDir, 'weights.safetensors'), config, weights);
  const exportDir = resolve(options.exportDir ?? join(outDir, 'model'));
  const provenance = {
    training: {
      pipeline: '@dytrack/train trainModel',
      data: options.data.map(describeSource),
      steps: trainer.stepCount,
      batchSize: B,
      seed,
      schedule,
      optimizer: step.optimizer,
      loss: step.loss,
      augmentation: options.augmentation ?? 'default (flip 0.5, grey 0.05, colour 0.2, blur 0.1)',
      init: options.initialWeights ? `from ${options.initialWeightsLabel ?? 'given weights'}` : { positionEmbedding: 'sincos', queryKey: 'mimetic', ...options.init },
      searchJitter: options.searchJitter ?? 'default (centre 3, scale 0.25)',
      templateJitter: options.templateJitter ?? 'default (centre 0.1, scale 0.05)',
      pairsPerSequence: options.pairsPerSequence ?? 1,
      minVisibility: options.minVisibility ?? 0,
      firstFrameTemplates: options.firstFrameTemplates ?? 0,
      hiddenNegatives: options.hiddenNegatives ?? 0,
      ...(trainOnly ? { trainOnly, trainedParameters: trainable!.size } : {}),
      finalLoss,
      finalSmoothedLoss: smoothed,
      ...(finalExitIoU.length > 0 ? { finalExitIoU } : {}),
      trainSeconds,
      threads: options.threads ?? 2,
      finishedAt: new Date().toISOString(),
      fullDepthGflops: modelCost(config).fullDepthFlops / 1e9,
    },
    ...options.provenance,
  };
  log(`exporting to ${exportDir}`);
  let exported = await exportModel(config, weights, { fp16: options.fp16 ?? false, provenance });
  await writeModelDirectory(exportDir, exported);
  let evaluation: ModelEvaluation[] | undefined;
  if (options.evaluation !== false) {
    log('evaluating on held-out sequences');
    evaluation = await evaluateModel(await loadModelDirectory(exportDir), options.evaluation ?? {});
    exported = await exportModel(config, weights, { fp16: options.fp16 ?? false, provenance: { ...provenance, evaluation } });
    await writeModelDirectory(exportDir, exported);
  }
  return { ...base, exportDir, evaluation };
}



/**
 * A data source as the provenance records it: the spec as given, and for procedural
 * sequences that may use Debian's photographs and clip art (half of them do when those
 * are installed) whether they were installed, and how many files, so a re-run knows
 * what it reproduces.
 */
function describeSource(spec: DataSourceSpec): unknown {
  if (spec.kind !== 'synthetic' || spec.systemAssets === false) return spec;
  const assets = findSystemAssets();
  return { ...spec, installedAssets: assets ? { backgrounds: assets.backgrounds.length, objects: assets.objects.length } : 'none' };
}
