// Its own test file (so its own process): the wasm runtime's proxy setting is per process.
// Under Node, onnxruntime-web runs without the worker even when `proxy` is set; what this
// covers is the backend's proxy path, which hands ORT copies of every CPU buffer (model
// bytes and feeds) because ORT's proxy transfers, and so detaches, the buffers it gets.
import { buildModel, describeBackendConformance } from '@dytrack/conformance';
import { createWebBackend } from '@dytrack/backend-web';
import { describe, expect, it } from 'vitest';
import { prepareFeeds } from '../src/runtime.js';

describeBackendConformance('onnxruntime-web (wasm, proxy on)', () => createWebBackend({ proxy: true }), { loadsFromPath: true });

describe('onnxruntime-web with proxy', () => {
  it('gives ORT copies of host data and of its own CPU outputs, leaving the caller buffers intact', async () => {
    const backend = createWebBackend({ proxy: true });
    const model = buildModel({
      name: 'double',
      inputs: [{ name: 'x', dtype: 'float32', shape: [3] }],
      outputs: [{ name: 'y', dtype: 'float32', shape: [3] }],
      nodes: [{ op: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
    });
    const session = await backend.loadModel(model);
    expect(model.length).toBeGreaterThan(0);
    const x = { dtype: 'float32' as const, dims: [3], data: Float32Array.from([1, 2, 3]) };
    const { y } = await session.run({ x });
    const feeds = prepareFeeds('double', session.inputs, { x: y }, true);
    expect(feeds.x.data).not.toBe(y.data);
    expect(Array.from(feeds.x.data as Float32Array)).toEqual([2, 4, 6]);
    const { y: z } = await session.run({ x: y });
    expect(Array.from(x.data)).toEqual([1, 2, 3]);
    expect(Array.from(y.data as Float32Array)).toEqual([2, 4, 6]);
    expect(Array.from(z.data as Float32Array)).toEqual([4, 8, 12]);
    await backend.dispose();
  });
});
