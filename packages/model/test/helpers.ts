import { createNodeBackend } from '@dytrack/backend-node';
import { SeededRandom } from '../src/index.js';

/** A float32 tensor as the tests pass it around. */
export interface OrtResult {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

const backend = createNodeBackend({ intraOpNumThreads: 1 });

/** Runs ONNX bytes in onnxruntime-node (through `@dytrack/backend-node`) with float32 feeds; returns every output. */
export async function runOnnx(bytes: Uint8Array, feeds: Record<string, OrtResult>): Promise<Record<string, OrtResult>> {
  const session = await backend.loadModel(bytes);
  try {
    const inputs: Record<string, { dtype: 'float32'; dims: readonly number[]; data: Float32Array }> = {};
    for (const [name, t] of Object.entries(feeds)) inputs[name] = { dtype: 'float32', dims: t.dims, data: t.data };
    const out = await session.run(inputs);
    const result: Record<string, OrtResult> = {};
    for (const [name, t] of Object.entries(out)) {
      if (t.dtype !== 'float32') throw new Error(`output ${name} is ${t.dtype}, expected float32`);
      result[name] = { data: (await t.download()) as Float32Array, dims: t.dims };
    }
    return result;
  } finally {
    await session.release();
  }
}

/** A deterministic image in roughly the normalised range. */
export function randomImage(size: number, seed: number): Float32Array {
  const rng = new SeededRandom(seed);
  const out = new Float32Array(3 * size * size);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal();
  return out;
}

/** max|a - b| / max|b|: the relative error the acceptance criteria use. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}
