// Its own test file (so its own process): onnxruntime-web's wasm runtime is
// configured once per process, and this file starts it with 2 threads.
import { InvalidStateError } from '@dytrack/core';
import { buildModel, describeBackendConformance } from '@dytrack/conformance';
import { createWebBackend } from '@dytrack/backend-web';
import { describe, expect, it } from 'vitest';

describeBackendConformance('onnxruntime-web (wasm, 2 threads)', () => createWebBackend({ numThreads: 2 }), { loadsFromPath: true });

describe('onnxruntime-web wasm settings are per process', () => {
  const matmul = buildModel({
    name: 'matmul',
    inputs: [
      { name: 'a', dtype: 'float32', shape: [64, 64] },
      { name: 'b', dtype: 'float32', shape: [64, 64] },
    ],
    outputs: [{ name: 'c', dtype: 'float32', shape: [64, 64] }],
    nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
  });

  it('runs with the 2 threads asked for and reports them', async () => {
    const backend = createWebBackend({ numThreads: 2 });
    const session = await backend.loadModel(matmul);
    expect(backend.capabilities.threads).toBe(2);
    const ones = { dtype: 'float32' as const, dims: [64, 64], data: new Float32Array(64 * 64).fill(1) };
    const { c } = await session.run({ a: ones, b: ones });
    expect((c.data as Float32Array).every((v) => v === 64)).toBe(true);
    await backend.dispose();
  });

  it('a later backend asking for other wasm settings fails clearly; matching or unset ones work', async () => {
    expect(() => createWebBackend({ numThreads: 1 })).toThrow(InvalidStateError);
    expect(() => createWebBackend({ proxy: true })).toThrow(/proxy/);
    expect(() => createWebBackend({ wasmPaths: '/elsewhere/' })).toThrow(/wasmPaths/);
    for (const backend of [createWebBackend({ numThreads: 2 }), createWebBackend()]) {
      const session = await backend.loadModel(matmul);
      expect(backend.capabilities.threads).toBe(2);
      await session.release();
      await backend.dispose();
    }
  });
});
