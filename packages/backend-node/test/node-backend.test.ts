import { BackendError, InvalidArgumentError } from '@dytrack/core';
import type { BackendTensor, HostTensor } from '@dytrack/core';
import { buildModel } from '@dytrack/conformance';
import { createNodeBackend } from '@dytrack/backend-node';
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

describe('createNodeBackend', () => {
  const backends: { dispose(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.dispose()));
  });

  it('rejects bad options with an InvalidArgumentError', () => {
    expect(() => createNodeBackend({ intraOpNumThreads: -1 })).toThrow(InvalidArgumentError);
    expect(() => createNodeBackend({ interOpNumThreads: 1.5 })).toThrow(/interOpNumThreads/);
    expect(() => createNodeBackend({ executionProviders: [] })).toThrow(InvalidArgumentError);
    expect(() => createNodeBackend({ allowSpinning: 'no' as unknown as boolean })).toThrow(/allowSpinning must be a boolean, got no/);
  });

  it('reports its options in its capabilities', () => {
    const backend = createNodeBackend({ intraOpNumThreads: 2 });
    backends.push(backend);
    expect(backend.name).toBe('onnxruntime-node');
    expect(backend.capabilities).toMatchObject({ executionProviders: ['cpu'], threads: 2, deviceTensors: false, modelSources: ['bytes', 'path'] });
    expect(backend.capabilities.dtypes).toHaveLength(8);
    expect(createNodeBackend().capabilities.threads).toBeUndefined();
  });

  it('runs the same numbers with 1 and 2 intra-op threads, with spinning and with parallel execution', async () => {
    const a = host(Array.from({ length: 64 }, (_, i) => i / 7));
    const b = host(Array.from({ length: 64 }, (_, i) => -i / 3));
    for (const options of [
      { intraOpNumThreads: 1 },
      { intraOpNumThreads: 2 },
      { intraOpNumThreads: 2, allowSpinning: true },
      { executionMode: 'parallel' as const, interOpNumThreads: 2 },
    ]) {
      const backend = createNodeBackend(options);
      backends.push(backend);
      const session = await backend.loadModel(addModel);
      const { sum } = await session.run({ a, b });
      expect(Array.from(sum.data as Float32Array)).toEqual(Array.from(a.data, (v, i) => Math.fround(v + b.data[i])));
    }
  });

  it('an execution provider this build lacks fails the load with a BackendError', async () => {
    const backend = createNodeBackend({ executionProviders: ['no-such-provider'] });
    backends.push(backend);
    await expect(backend.loadModel(addModel, { name: 'add.onnx' })).rejects.toThrow(BackendError);
  });

  it('rejects a source that is neither bytes nor a path', async () => {
    const backend = createNodeBackend();
    backends.push(backend);
    await expect(backend.loadModel(addModel.buffer as unknown as Uint8Array)).rejects.toThrow(InvalidArgumentError);
    await expect(backend.loadModel('')).rejects.toThrow(InvalidArgumentError);
  });

  it('feeds host data and its own outputs to ORT without copying', async () => {
    const backend = createNodeBackend();
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

  it('accepts a CPU tensor from another backend and rejects a device one', async () => {
    const backend = createNodeBackend();
    backends.push(backend);
    const session = await backend.loadModel(addModel, { name: 'add.onnx' });
    const foreign = (location: 'cpu' | 'device'): BackendTensor => ({
      dtype: 'float32',
      dims: [1, 2],
      location,
      data: location === 'cpu' ? Float32Array.from([5, 6]) : undefined,
      download: async () => Float32Array.from([5, 6]),
      dispose: () => undefined,
    });
    const { sum } = await session.run({ a: foreign('cpu'), b: host([1, 1]) });
    expect(Array.from(sum.data as Float32Array)).toEqual([6, 7]);
    await expect(session.run({ a: foreign('device'), b: host([1, 1]) })).rejects.toThrow(/"a" is a device tensor from another backend/);
  });

  it('reports undeclared and unnamed dimensions without rejecting feeds on them', async () => {
    const backend = createNodeBackend();
    backends.push(backend);
    const model = buildModel({
      name: 'unnamed',
      inputs: [{ name: 'x', dtype: 'float32', shape: ['', 2] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['', 2] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
    });
    const session = await backend.loadModel(model);
    expect(session.inputs[0].shape).toEqual(['?', 2]);
    const { y } = await session.run({ x: host([1, 2, 3, 4, 5, 6]) });
    expect(y.dims).toEqual([3, 2]);
  });
});
