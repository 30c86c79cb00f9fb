// The pieces of @dytrack/ort-common that need no runtime backend, over onnxruntime-common's
// own Tensor and InferenceSession (no execution provider registered). Running models
// is covered by @dytrack/conformance against onnxruntime-node and onnxruntime-web.
import { BackendError, DisposedError, InvalidArgumentError } from '@dytrack/core';
import type { BackendTensor, HostTensor, TensorDType, TensorInfo, TensorValue } from '@dytrack/core';
import {
  ALL_DTYPES,
  OrtBackendTensor,
  bindOrtRuntime,
  createOrtLoader,
  describeData,
  formatShape,
  hasStorageOf,
  isTensorDType,
  ortTensorOf,
  prepareFeeds,
  storageName,
  tensorInfoFrom,
} from '@dytrack/ort-common';
import type { LoadPlan, OrtLoaderOptions, OrtRuntime } from '@dytrack/ort-common';
import { InferenceSession, Tensor } from 'onnxruntime-common';
import type { InferenceSession as OrtSession } from 'onnxruntime-common';
import { describe, expect, it } from 'vitest';

const runtime: OrtRuntime = { InferenceSession, Tensor };

/** Error thrown by `action`, checked to be of `type` and to mention every part of `parts`. */
function failure(action: () => unknown, type: abstract new (...args: never[]) => Error, parts: readonly string[]): Error {
  let thrown: unknown;
  try {
    action();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(type);
  const message = (thrown as Error).message;
  for (const part of parts) expect(message).toContain(part);
  return thrown as Error;
}

// The storage each dtype must have, per TensorDataMap in @dytrack/core (float16 as raw bits, bool as bytes).
const STORAGE_OF = new Map<TensorDType, new (n: number) => ArrayBufferView>([
  ['float32', Float32Array], ['float16', Uint16Array], ['float64', Float64Array], ['int32', Int32Array],
  ['int64', BigInt64Array], ['uint8', Uint8Array], ['int8', Int8Array], ['bool', Uint8Array],
]);

describe('dtype mapping', () => {
  it('lists the eight DyTrack dtypes once each', () => {
    expect([...ALL_DTYPES].sort()).toEqual([...STORAGE_OF.keys()].sort());
  });

  it('recognises exactly the DyTrack dtype names', () => {
    for (const dtype of ALL_DTYPES) expect(isTensorDType(dtype)).toBe(true);
    for (const other of ['string', 'float', 'uint16', 'int4', 'Float32', 'toString', '__proto__', 'constructor', '', 1, null, undefined, {}]) {
      expect(isTensorDType(other)).toBe(false);
    }
  });

  it('accepts the storage of each dtype and rejects the others', () => {
    for (const dtype of ALL_DTYPES) {
      const Own = STORAGE_OF.get(dtype)!;
      expect(hasStorageOf(dtype, new Own(2))).toBe(true);
      expect(storageName(dtype)).toBe(Own.name);
      for (const Other of new Set(STORAGE_OF.values())) {
        if (Other !== Own) expect(hasStorageOf(dtype, new Other(2))).toBe(false);
      }
      expect(hasStorageOf(dtype, [0, 1])).toBe(false);
    }
    // float16 is raw bits, not floats; bool is bytes.
    expect(storageName('float16')).toBe('Uint16Array');
    expect(storageName('bool')).toBe('Uint8Array');
  });

  it('describes values and shapes for error messages', () => {
    expect(describeData(new Float64Array(1))).toBe('Float64Array');
    expect(describeData([1, 2])).toBe('Array');
    expect(describeData(null)).toBe('null');
    expect(describeData(undefined)).toBe('undefined');
    expect(describeData('abc')).toBe('string');
    expect(describeData(Object.create(null))).toBe('object');
    expect(formatShape([1, 3, 'N', ''])).toBe('[1, 3, N, ?]');
    expect(formatShape([])).toBe('[]');
  });
});

describe('tensorInfoFrom', () => {
  const meta = (over: Partial<OrtSession.TensorValueMetadata>): OrtSession.ValueMetadata =>
    ({ name: 'x', isTensor: true, type: 'float32', shape: [1, 'N', -1, 0xffffffff, ''], ...over }) as OrtSession.ValueMetadata;

  it('turns unknown dimensions into "?" and an empty shape into no shape', () => {
    expect(tensorInfoFrom('m', 'input', meta({}))).toEqual({ name: 'x', dtype: 'float32', shape: [1, 'N', '?', '?', '?'] });
    expect(tensorInfoFrom('m', 'output', meta({ shape: [] })).shape).toBeUndefined();
  });

  it('rejects non-tensor values and unsupported element types, naming model, kind and value', () => {
    failure(() => tensorInfoFrom('m.onnx', 'output', { name: 'seq', isTensor: false }), BackendError, ['m.onnx', 'output "seq"', 'not a tensor']);
    failure(() => tensorInfoFrom('m.onnx', 'input', meta({ type: 'string' })), BackendError, ['m.onnx', 'input "x"', 'string', 'does not support']);
  });
});

describe('prepareFeeds', () => {
  const inputs: readonly TensorInfo[] = [
    { name: 'x', dtype: 'float32', shape: ['N', 3] },
    { name: 'k', dtype: 'int64', shape: undefined },
  ];
  const x: HostTensor<'float32'> = { dtype: 'float32', dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  const k: HostTensor<'int64'> = { dtype: 'int64', dims: [2], data: BigInt64Array.from([7n, 8n]) };
  const feed = (over: Record<string, unknown>): Record<string, TensorValue> => ({ x, k, ...over }) as Record<string, TensorValue>;
  const prepare = (feeds: Record<string, TensorValue>): unknown => prepareFeeds(runtime, 'model.onnx', inputs, feeds);

  it("wraps host data in the runtime's tensors without copying, or copies when asked", () => {
    const wrapped = prepareFeeds(runtime, 'model.onnx', inputs, { x, k });
    expect(wrapped.x).toBeInstanceOf(Tensor);
    expect(wrapped.x!.dims).toEqual([2, 3]);
    expect(wrapped.x!.data).toBe(x.data);
    expect(wrapped.k!.type).toBe('int64');
    const copied = prepareFeeds(runtime, 'model.onnx', inputs, { x, k }, true);
    expect(copied.x!.data).not.toBe(x.data);
    expect(copied.x!.data).toEqual(x.data);
  });

  it('names missing and unknown feeds together with the model inputs', () => {
    failure(() => prepare({ x } as Record<string, TensorValue>), BackendError, ['model.onnx', 'missing feed "k"', 'model inputs: "x", "k"']);
    failure(() => prepare(feed({ y: x, z: x })), BackendError, ['unknown feeds "y", "z"']);
    failure(() => prepare({ y: x } as Record<string, TensorValue>), BackendError, ['missing feeds "x", "k"', 'unknown feed "y"']);
    failure(() => prepareFeeds(runtime, 'model.onnx', inputs, null as unknown as Record<string, TensorValue>), BackendError, ['feeds must be an object']);
  });

  it('names the input and the mismatch for a wrong dtype, rank, dimension, storage or length', () => {
    const where = 'model "model.onnx": input "x"';
    failure(() => prepare(feed({ x: { ...x, dtype: 'float64', data: new Float64Array(6) } })), BackendError, [where, 'expects float32 [N, 3], got float64 [2, 3] (wrong dtype)']);
    failure(() => prepare(feed({ x: { ...x, dims: [6] } })), BackendError, [where, 'rank 1 instead of 2']);
    failure(() => prepare(feed({ x: { ...x, dims: [3, 2] } })), BackendError, [where, 'dimension 1 is 2, not 3']);
    failure(() => prepare(feed({ x: { ...x, data: Float64Array.from(x.data) } })), BackendError, [where, 'float32 data must be a Float32Array, got Float64Array']);
    failure(() => prepare(feed({ x: { ...x, dims: [1, 3] } })), BackendError, [where, 'shape [1, 3] holds 3 elements but data has 6']);
    failure(() => prepare(feed({ x: { ...x, dtype: 'complex64' } })), BackendError, [where, 'unknown dtype "complex64"']);
    failure(() => prepare(feed({ x: { ...x, dims: [2, -3] } })), BackendError, [where, 'dims must be an array of non-negative integers, got [2,-3]']);
    failure(() => prepare(feed({ x: null })), BackendError, [where, 'expects a tensor, got null']);
    failure(() => prepare(feed({ x: 3 })), BackendError, [where, 'expects a tensor, got number']);
  });

  it('takes host data from CPU tensors of other backends and refuses their device tensors', () => {
    const foreign = (location: 'cpu' | 'device'): BackendTensor<'float32'> => ({
      dtype: 'float32',
      dims: [2, 3],
      location,
      data: location === 'cpu' ? x.data : undefined,
      download: async () => x.data,
      dispose: () => undefined,
    });
    expect(prepare(feed({ x: foreign('cpu') })) as Record<string, Tensor>).toMatchObject({ x: { data: x.data } });
    failure(() => prepare(feed({ x: foreign('device') })), BackendError, ['input "x" is a device tensor from another backend; download it first']);
  });
});

describe('OrtBackendTensor', () => {
  const inputs: readonly TensorInfo[] = [{ name: 'x', dtype: 'float32', shape: [2] }];

  it('passes its ORT tensor back to its own runtime only', () => {
    const ortTensor = new Tensor('float32', Float32Array.from([1, 2]), [2]);
    const tensor = new OrtBackendTensor(runtime, ortTensor, 'float32');
    expect(tensor).toMatchObject({ dtype: 'float32', dims: [2], location: 'cpu' });
    expect(tensor.data).toBe(ortTensor.data);
    expect(ortTensorOf(runtime, tensor)).toBe(ortTensor);
    expect(prepareFeeds(runtime, 'm', inputs, { x: tensor }).x).toBe(ortTensor);

    // A runtime with another tensor class (onnxruntime-web bundles its own) gets a fresh tensor over the host data.
    const other: OrtRuntime = { InferenceSession, Tensor: class extends (Tensor as unknown as new (...a: unknown[]) => object) {} as unknown as OrtRuntime['Tensor'] };
    expect(ortTensorOf(other, tensor)).toBeUndefined();
    const fed = prepareFeeds(other, 'm', inputs, { x: tensor }).x!;
    expect(fed).not.toBe(ortTensor);
    expect(fed).toBeInstanceOf(other.Tensor);
    expect(fed.data).toBe(ortTensor.data);

    expect(ortTensorOf(runtime, { dtype: 'float32', dims: [2], data: new Float32Array(2) })).toBeUndefined();
  });

  it('after dispose: no data, download rejects, and feeding it is a DisposedError', async () => {
    const tensor = new OrtBackendTensor(runtime, new Tensor('float32', Float32Array.from([1, 2]), [2]), 'float32');
    expect(await tensor.download()).toEqual(Float32Array.from([1, 2]));
    tensor.dispose();
    tensor.dispose();
    expect(tensor.data).toBeUndefined();
    expect(ortTensorOf(runtime, tensor)).toBe('disposed');
    await expect(tensor.download()).rejects.toBeInstanceOf(DisposedError);
    failure(() => prepareFeeds(runtime, 'm', inputs, { x: tensor }), DisposedError, ['input "x"']);
  });
});

describe('createOrtLoader', () => {
  function loaderWith(plans: LoadPlan[]): ReturnType<typeof createOrtLoader> {
    const options: OrtLoaderOptions = {
      backendName: 'test-backend',
      sessionOptions: { executionProviders: ['cpu'] },
      strings: { noun: 'path', accepted: 'a Uint8Array of ONNX bytes or a file path', baseName: (s) => s.split('/').pop() ?? s },
      prepare: () => {
        const plan: LoadPlan = { behaviour: { onDevice: false, serializeRuns: false, copyFeeds: false }, copyModelBytes: false };
        plans.push(plan);
        return plan;
      },
    };
    return createOrtLoader(runtime, options);
  }

  it('rejects bad sources with clear errors before preparing the runtime', async () => {
    const plans: LoadPlan[] = [];
    const loader = loaderWith(plans);
    await expect(loader.load('')).rejects.toThrow(new InvalidArgumentError('loadModel: the model path is empty'));
    await expect(loader.load(42 as unknown as string)).rejects.toThrow(
      new InvalidArgumentError('loadModel: source must be a Uint8Array of ONNX bytes or a file path'),
    );
    await expect(loader.load(new Uint8Array(0), { name: 'empty.onnx' })).rejects.toThrow(
      new BackendError('failed to load model "empty.onnx" (0 bytes): the model is empty'),
    );
    expect(plans).toHaveLength(0);
  });

  it("wraps the runtime's failure in a BackendError naming the model and its source", async () => {
    const plans: LoadPlan[] = [];
    const loader = loaderWith(plans);
    // onnxruntime-common alone has no execution provider registered, so creating a session fails.
    const error = await loader.load('/models/dir/tracker.onnx').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as Error).message).toMatch(/^failed to load model "tracker\.onnx" from \/models\/dir\/tracker\.onnx: .*backend/);
    expect((error as Error).cause).toBeInstanceOf(Error);
    const bytesError = await loader.load(new Uint8Array([8, 1]), { name: 'tiny' }).catch((e: unknown) => e);
    expect((bytesError as Error).message).toContain('failed to load model "tiny" (2 bytes): ');
    expect(plans).toHaveLength(2);
  });

  it('rejects loads after dispose with a DisposedError naming the backend', async () => {
    const loader = loaderWith([]);
    await loader.dispose();
    await loader.dispose();
    await expect(loader.load(new Uint8Array([1]))).rejects.toThrow(new DisposedError('backend "test-backend"'));
  });

  it('bindOrtRuntime fills in the runtime', () => {
    const bound = bindOrtRuntime(runtime);
    const feeds = bound.prepareFeeds('m', [{ name: 'x', dtype: 'uint8', shape: [1] }], { x: { dtype: 'uint8', dims: [1], data: new Uint8Array(1) } });
    expect(feeds.x).toBeInstanceOf(Tensor);
    expect(bound.runtime).toBe(runtime);
    const tensor = new OrtBackendTensor(runtime, feeds.x!, 'uint8');
    expect(bound.ortTensorOf(tensor)).toBe(feeds.x);
  });
});
