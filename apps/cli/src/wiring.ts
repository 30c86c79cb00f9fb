import { InvalidArgumentError, type ExitPolicy, type InferenceBackend, type ModelSource } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { loadDefaultModel, loadModelDirectory } from '@dytrack/model/node';
import { policyFromSpec } from '@dytrack/exit-policies';
import { UsageError } from './command.js';

/** Options shared by every command that tracks. */
export const trackingOptions = {
  model: { type: 'string' },
  policy: { type: 'string' },
  threads: { type: 'string' },
} as const;

/** Options that choose sequences to run on (shared by `eval` and `bench`). */
export const sequenceOptions = {
  dataset: { type: 'string' },
  format: { type: 'string' },
  sequences: { type: 'string' },
  synthetic: { type: 'string' },
  seed: { type: 'string' },
  size: { type: 'string' },
  length: { type: 'string' },
} as const;

/** Help lines for {@link trackingOptions}. */
export const trackingHelp = [
  '  --model DIR         model directory with dytrack.model.json (default: the shipped default model)',
  '  --policy SPEC       exit policy: threshold (the model\'s defaults), threshold:0.7,0.6, fixed:K (always exit K),',
  '                      confidence:T, latency:MS (hold MS per frame), temporal, full (always the last exit);',
  '                      combine with + (any) or & (all): threshold+temporal',
  '  --threads N         onnxruntime intra-op threads (default 1: tiny\'s small matrices gain nothing from 2)',
].join('\n');

/** The model named by `--model`, or the shipped default. */
export async function openModel(dir: string | undefined): Promise<ModelSource> {
  return dir === undefined ? loadDefaultModel() : loadModelDirectory(dir);
}

/**
 * onnxruntime-node with the requested thread count. One by default: a tracking frame is one
 * search crop, whose matrices (320 tokens by 128 for tiny) are too small to split, and a second
 * thread gains nothing (docs/benchmarks.md); the server defaults to 1 too.
 */
export function openBackend(threads: string | undefined): InferenceBackend {
  return createNodeBackend({ intraOpNumThreads: threadCount(threads) });
}

/** The value of `--threads` (default 1), or a usage error naming it. */
export function threadCount(threads: string | undefined): number {
  const n = threads === undefined ? 1 : Number(threads);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--threads must be a positive integer, got "${threads}"`);
  return n;
}

/** The policy of `--policy` for this model (usage errors name the bad spec). */
export function openPolicy(spec: string | undefined, model: ModelSource): ExitPolicy {
  try {
    return policyFromSpec(spec ?? 'threshold', model.manifest);
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new UsageError(`--policy: ${error.message}`);
    throw error;
  }
}

/** Parses `x,y,w,h` into a box; usage errors say what is wrong. */
export function parseBoxArgument(text: string | undefined, option: string): { x: number; y: number; width: number; height: number } {
  if (text === undefined) throw new UsageError(`${option} x,y,w,h is required (the target's box in the first frame)`);
  const parts = text.split(/[,\s]+/).filter((p) => p !== '');
  const values = parts.map(Number);
  if (values.length !== 4 || values.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`${option} must be four numbers x,y,w,h, got "${text}"`);
  }
  const [x, y, width, height] = values as [number, number, number, number];
  if (width <= 0 || height <= 0) throw new UsageError(`${option} must have a positive width and height, got ${width}x${height}`);
  return { x, y, width, height };
}
