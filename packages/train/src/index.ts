/**
 * `@dytrack/train`: DyTrack's training pipeline on onnxruntime (DESIGN section 7).
 *
 * - Data: {@link PairSampler} draws (template, search) pairs from procedural sequences and
 *   OTB/LaSOT/GOT-10k datasets with OSTrack's jitter and augmentations and writes whole
 *   batches with their targets; {@link createBatchLoader} prepares them on a worker thread
 *   while the training step runs.
 * - The step: {@link buildDyTrackTrainingStep}, one ONNX graph (model forward over every
 *   exit, the DyTrack loss, gradients, AdamW).
 * - The run: {@link trainModel} with its schedule ({@link learningRateAt}), checkpoints
 *   (bit-exact resume), loss curve, export and held-out evaluation ({@link evaluateModel}).
 *
 * @packageDocumentation
 */
export type { BoxJitter, AugmentationOptions, PairAugmentation } from './augment.js';
export { DEFAULT_SEARCH_JITTER, DEFAULT_TEMPLATE_JITTER, DEFAULT_AUGMENTATION, jitterBox, drawAugmentation, augmentCrop, flipBox } from './augment.js';

export type { DataSourceSpec, SamplerOptions, BatchBuffers } from './data.js';
export { TRAINING_SEED_LIMIT, HELD_OUT_SEED_BASE, HIDDEN_VISIBILITY, parseDataSources, allocateBatch, sampleSeed, pairVisible, hiddenFrameNear, PairSampler } from './data.js';

export type { LoaderStats, BatchLoaderOptions, BatchLoader, LoadedBatch } from './loader.js';
export { createBatchLoader } from './loader.js';

export type { LearningRateSchedule } from './schedule.js';
export { validateSchedule, learningRateAt } from './schedule.js';

export type { Checkpoint, CheckpointInfo, HistoryEntry } from './checkpoint.js';
export { checkpointToBytes, checkpointFromBytes, writeCheckpoint, readCheckpointFile } from './checkpoint.js';

export type { DyTrackStepOptions, DyTrackTrainingStep } from './step.js';
export { BATCH_INPUTS, DEFAULT_OPTIMIZER, buildDyTrackTrainingStep, selectParameters } from './step.js';

export { TRAINING_GRADIENT_RULES } from './rules.js';

export type { ModelEvaluationOptions, PolicyFigures, ModelEvaluation } from './evaluate.js';
export { evaluateModel } from './evaluate.js';

export type { TrainOptions, TrainProgress, TrainResult } from './train.js';
export { CHECKPOINT_FILE, trainModel, lossCurveSvg, exitIoUCurveSvg, smoothedExitIoU } from './train.js';

export { formatProgressLine } from './progress.js';

export type { CalibrationOptions, CalibrationPoint, Calibration, OperatingPointRule } from './calibrate.js';
export { CALIBRATION_SEED_BASE, DEFAULT_CALIBRATION_CANDIDATES, calibrateThresholds, chooseOperatingPoint, meetsOperatingPointRule, writeDefaultThresholds } from './calibrate.js';
