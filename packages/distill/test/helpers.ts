import type { HostTensor, InferenceBackend } from '@dytrack/core';
import type { FloatDType, Graph } from '@dytrack/onnx';
import { serializeModel } from '@dytrack/onnx';
import { createNodeBackend } from '@dytrack/backend-node';

/** Deterministic PRNG (mulberry32) in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` uniform values in `[lo, hi)`. */
export function uniform(random: () => number, count: number, lo = 0, hi = 1): Float64Array {
  return Float64Array.from({ length: count }, () => lo + (hi - lo) * random());
}

/** A float tensor of `dtype` holding `values`. */
export function tensor(dtype: FloatDType, dims: readonly number[], values: ArrayLike<number>): HostTensor {
  const data = dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
  return { dtype, dims: [...dims], data };
}

let shared: InferenceBackend | undefined;

/** One onnxruntime-node backend for the test file (single thread: the CPUs are shared). */
export function backend(): InferenceBackend {
  shared ??= createNodeBackend({ intraOpNumThreads: 1 });
  return shared;
}

/** Releases the shared backend. */
export async function disposeBackend(): Promise<void> {
  await shared?.dispose();
  shared = undefined;
}

/** Serialises `g`, runs it once in onnxruntime and returns every output as float64 numbers. */
export async function runGraph(g: Graph, feeds: Record<string, HostTensor>): Promise<Record<string, Float64Array>> {
  const session = await backend().loadModel(serializeModel(g), { name: g.name });
  try {
    const outs = await session.run(feeds);
    const result: Record<string, Float64Array> = {};
    for (const [name, t] of Object.entries(outs)) {
      result[name] = Float64Array.from(t.data as Float32Array | Float64Array);
      t.dispose();
    }
    return result;
  } finally {
    await session.release();
  }
}
