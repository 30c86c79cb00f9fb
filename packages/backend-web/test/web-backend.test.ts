import { BackendError, InvalidArgumentError } from '@dytrack/core';
import type { HostTensor } from '@dytrack/core';
import { buildModel } from '@dytrack/conformance';
import { createWebBackend } from '@dytrack/backend-web';
import { afterEach, describe, expect, it } from 'vitest';
import { ortTensorOf, prepareFeeds } from '../src/runtime.js';

const addModel = buildModel({
  name: 'add',
  inputs: [
    { name: 'a', dtype: 'float32', shape: ['N', 2] },
    { name: 'b', dtype: 'float32', shape: ['N', 2] },
  ],
  outputs: [{ name: 'sum', dtype: 'float32', shape: ['N', 2] }],
  nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
});

const host = (values: number[]): HostTensor<'float32'> => ({ dtype: 'float32', dims: [values.length / 2, 2], data: Float32Array.from(values) });

describe('createWebBackend', () => {
  const backends: { dispose(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.dispose()));
  });

  it('rejects bad options with an InvalidArgumentError', () => {
    expect(() => createWebBackend({ numThreads: -2 })).toThrow(InvalidArgumentError);
    expect(() => createWebBackend({ executionProviders: [] })).toThrow(InvalidArgumentError);
  });

  it('defaults to wasm without WebGPU, and reads string sources as paths under Node', () => {
    const backend = createWebBackend();
    backends.push(backend);
    expect(backend.name).toBe('onnxruntime-web');
    expect(backend.capabilities).toMatchObject({ executionProviders: ['wasm'], deviceTensors: false, modelSources: ['bytes', 'path'] });
  });

  it('an execution provider this build lacks fails the load with a BackendError naming the model', async () => {
    const backend = createWebBackend({ executionProviders: ['no-such-provider'] });
    backends.push(backend);
    await expect(backend.loadModel(addModel, { name: 'add.onnx' })).rejects.toThrow(/add\.onnx/);
    await expect(backend.loadModel(addModel, { name: 'add.onnx' })).rejects.toThrow(BackendError);
  });

  it('feeds host data and its own outputs to ORT without copying', async () => {
    const backend = createWebBackend();
    backends.push(backend);
    const session = await backend.loadModel(addModel);
    const a = host([1, 2, 3, 4]);
    const { sum } = await session.run({ a, b: a });
    const feeds = prepareFeeds('add', session.inputs, { a, b: sum });
    expect(feeds.a.data).toBe(a.data);
    expect(feeds.b).toBe(ortTensorOf(sum));
    const { sum: again } = await session.run({ a: sum, b: sum });
    expect(Array.from(again.data as Float32Array)).toEqual([4, 8, 12, 16]);
  });

  it('queued runs keep their order and a failing run does not block the queue', async () => {
    const backend = createWebBackend();
    backends.push(backend);
    const session = await backend.loadModel(addModel, { name: 'add.onnx' });
    const good = (k: number) => session.run({ a: host([k, k]), b: host([1, 1]) });
    // Both feeds pass validation (N is symbolic) but ORT cannot broadcast [3, 2] with [2, 2].
    const bad = session.run({ a: host([1, 1, 1, 1, 1, 1]), b: host([1, 1, 1, 1]) });
    const results = await Promise.allSettled([good(1), bad, good(2), good(3)]);
    expect(results[1].status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(BackendError);
    const sums = results.filter((r) => r.status === 'fulfilled').map((r) => Array.from(r.value.sum.data as Float32Array));
    expect(sums).toEqual([
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
  });
});
