import { readFile, rename, writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@dytrack/core';
import { TRAINING_STEP_NAMES, type TrainerState } from '@dytrack/autograd';
import { bytesToFloat32, readSafetensors, typedArrayBytes, writeSafetensors, type SafetensorsTensor } from '@dytrack/model';

/** What a checkpoint holds besides the tensors: enough to resume bit for bit. */
export interface CheckpointInfo {
  /** Steps taken. */
  readonly step: number;
  /**
   * The data stream's RNG state. Every batch is a pure function of the run seed and
   * the batch number, so `{ seed, nextBatch }` is the whole state.
   */
  readonly rng: {
    /** The run seed. */
    readonly seed: number;
    /** The next batch to draw. */
    readonly nextBatch: number;
  };
  /** The run's settings (model, data, schedule, loss), to check a resume matches. */
  readonly run: Readonly<Record<string, unknown>>;
  /** Loss history so far (one entry per logged step). */
  readonly history: readonly HistoryEntry[];
}

/** A checkpoint read back. */
export interface Checkpoint {
  /** Parameters, Adam moments and step count, for `Trainer.create`. */
  readonly state: TrainerState;
  /** The rest. */
  readonly info: CheckpointInfo;
}

/** One logged step. */
export interface HistoryEntry {
  /** Step number (1-based). */
  readonly step: number;
  /** Its loss. */
  readonly loss: number;
  /** Its learning rate. */
  readonly lr: number;
  /** Seconds since the run started (accumulated over resumes). */
  readonly time: number;
  /**
   * Mean IoU of each exit's box with the truth over this step's batch, shallowest exit
   * first (absent in checkpoints written before it was recorded). Where the exits stand
   * on training pairs, beside where they stand when tracking.
   */
  readonly exitIoU?: readonly number[];
}

/**
 * Serialises a trainer state as safetensors: every parameter under its name, Adam's
 * moments as `adam_m/NAME` and `adam_v/NAME` (float32), and the {@link CheckpointInfo}
 * as JSON in the `__metadata__` map under `dytrack.checkpoint`.
 */
export function checkpointToBytes(state: TrainerState, info: CheckpointInfo, shapes: ReadonlyMap<string, readonly number[]>): Uint8Array {
  const tensors: [string, SafetensorsTensor][] = [];
  const add = (name: string, data: Float32Array | Float64Array, shape: readonly number[]): void => {
    if (!(data instanceof Float32Array)) throw new InvalidArgumentError(`checkpoint: ${name} must be float32`);
    tensors.push([name, { dtype: 'F32', shape, data: typedArrayBytes(data) }]);
  };
  for (const [name, shape] of shapes) {
    add(name, state.parameters[name]!, shape);
    add(TRAINING_STEP_NAMES.firstMoment(name), state.firstMoments[name]!, shape);
    add(TRAINING_STEP_NAMES.secondMoment(name), state.secondMoments[name]!, shape);
  }
  return writeSafetensors(tensors, { 'dytrack.checkpoint': JSON.stringify({ ...info, step: state.step }) });
}

/** Reads {@link checkpointToBytes} output back into a trainer state and its info. */
export function checkpointFromBytes(bytes: Uint8Array, shapes: ReadonlyMap<string, readonly number[]>): Checkpoint {
  const file = readSafetensors(bytes);
  const raw = file.metadata['dytrack.checkpoint'];
  if (raw === undefined) throw new InvalidArgumentError('checkpoint: no dytrack.checkpoint metadata (not a training checkpoint?)');
  const info = JSON.parse(raw) as CheckpointInfo;
  const get = (name: string, shape: readonly number[]): Float32Array => {
    const t = file.tensors.get(name);
    if (!t) throw new InvalidArgumentError(`checkpoint: missing tensor ${name}`);
    if (t.dtype !== 'F32' || t.shape.join(',') !== shape.join(',')) throw new InvalidArgumentError(`checkpoint: tensor ${name} is ${t.dtype} [${t.shape.join(',')}], expected F32 [${shape.join(',')}]`);
    return bytesToFloat32(t.data);
  };
  const parameters: Record<string, Float32Array> = {};
  const firstMoments: Record<string, Float32Array> = {};
  const secondMoments: Record<string, Float32Array> = {};
  for (const [name, shape] of shapes) {
    parameters[name] = get(name, shape);
    firstMoments[name] = get(TRAINING_STEP_NAMES.firstMoment(name), shape);
    secondMoments[name] = get(TRAINING_STEP_NAMES.secondMoment(name), shape);
  }
  return { state: { step: info.step, parameters, firstMoments, secondMoments }, info };
}

/** Writes a checkpoint atomically (a temporary file renamed over the target). */
export async function writeCheckpoint(path: string, bytes: Uint8Array): Promise<void> {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

/** Reads a checkpoint file. */
export async function readCheckpointFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new InvalidArgumentError(`cannot read checkpoint ${path}: ${(e as Error).message}`, { cause: e });
  }
}
