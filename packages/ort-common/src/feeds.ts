import { BackendError, DisposedError, elementCount, isBackendTensor } from '@dytrack/core';
import type { HostTensor, TensorData, TensorDType, TensorInfo, TensorShape, TensorValue } from '@dytrack/core';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-common';
import { describeData, formatShape, hasStorageOf, isTensorDType, storageName } from './dtypes.js';
import type { OrtRuntime } from './runtime.js';
import { ortTensorOf } from './tensor.js';

/** The largest value ORT uses for "unknown dimension" when it reports it as a uint32 (-1). */
const UNKNOWN_DIM_U32 = 0xffffffff;

/**
 * Converts ORT's input/output metadata into DyTrack's {@link TensorInfo}. ORT reports
 * an undeclared shape and a scalar alike as `[]`; both become `undefined` (no shape
 * check) because rejecting feeds on a guess would be worse than letting ORT decide.
 * Unnamed dynamic dimensions become `'?'`.
 */
export function tensorInfoFrom(modelName: string, kind: 'input' | 'output', meta: OrtSession.ValueMetadata): TensorInfo {
  if (!meta.isTensor) {
    throw new BackendError(`model "${modelName}": ${kind} "${meta.name}" is not a tensor; DyTrack backends run tensor models only`);
  }
  if (!isTensorDType(meta.type)) {
    throw new BackendError(`model "${modelName}": ${kind} "${meta.name}" has element type ${meta.type}, which DyTrack does not support`);
  }
  const shape: TensorShape | undefined =
    meta.shape.length === 0
      ? undefined
      : Object.freeze(
          meta.shape.map((d) => (typeof d === 'string' ? (d === '' ? '?' : d) : d < 0 || d >= UNKNOWN_DIM_U32 ? '?' : d)),
        );
  return Object.freeze({ name: meta.name, dtype: meta.type, shape });
}

function quoted(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}

/**
 * Checks feeds against the model's declared inputs and turns them into ORT
 * tensors of `runtime`, before ORT sees them: ORT's own messages do not always name
 * the input, and some bad feeds are cheaper to reject here. Host data is wrapped, not
 * copied, and tensors `runtime` produced pass their ORT tensor through unchanged, unless
 * `copyHostData` is set: onnxruntime-web's proxy worker takes ownership of (detaches)
 * the buffers it is given, which must not be the caller's.
 *
 * @throws BackendError naming the input and the problem; DisposedError for a disposed tensor.
 */
export function prepareFeeds(
  runtime: OrtRuntime,
  modelName: string,
  inputs: readonly TensorInfo[],
  feeds: Readonly<Record<string, TensorValue>>,
  copyHostData = false,
): Record<string, OrtTensor> {
  if (feeds === null || typeof feeds !== 'object') {
    throw new BackendError(`model "${modelName}": feeds must be an object mapping input names to tensors`);
  }
  const expected = inputs.map((i) => i.name);
  const given = Object.keys(feeds);
  const missing = expected.filter((n) => !Object.prototype.hasOwnProperty.call(feeds, n));
  const extra = given.filter((n) => !expected.includes(n));
  if (missing.length > 0 || extra.length > 0) {
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`missing feed${missing.length > 1 ? 's' : ''} ${quoted(missing)}`);
    if (extra.length > 0) parts.push(`unknown feed${extra.length > 1 ? 's' : ''} ${quoted(extra)}`);
    throw new BackendError(`model "${modelName}": ${parts.join('; ')} (model inputs: ${quoted(expected)})`);
  }
  const out: Record<string, OrtTensor> = {};
  for (const info of inputs) out[info.name] = toOrtTensor(runtime, modelName, info, feeds[info.name], copyHostData);
  return out;
}

function toOrtTensor(runtime: OrtRuntime, modelName: string, info: TensorInfo, value: TensorValue | undefined, copyHostData: boolean): OrtTensor {
  const where = `model "${modelName}": input "${info.name}"`;
  if (value === null || typeof value !== 'object') {
    throw new BackendError(`${where} expects a tensor, got ${value === null ? 'null' : typeof value}`);
  }
  const own = ortTensorOf(runtime, value);
  if (own === 'disposed') throw new DisposedError(`the tensor fed as ${where}`);
  if (own !== undefined) {
    checkAgainstInfo(where, info, value.dtype, value.dims);
    if (!copyHostData || own.location !== 'cpu') return own;
    return new runtime.Tensor(value.dtype, (own.data as TensorData).slice(), [...own.dims]);
  }
  let host = value as HostTensor;
  if (isBackendTensor(value)) {
    // A tensor from another backend: usable when its data is on the host.
    if (value.location !== 'cpu' || value.data === undefined) {
      throw new BackendError(`${where} is a device tensor from another backend; download it first`);
    }
    host = { dtype: value.dtype, dims: value.dims, data: value.data };
  }
  const { dtype, dims, data } = host;
  if (!isTensorDType(dtype)) throw new BackendError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new BackendError(`${where}: dims must be an array of non-negative integers, got ${JSON.stringify(dims)}`);
  }
  checkAgainstInfo(where, info, dtype, dims);
  if (!hasStorageOf(dtype, data)) {
    throw new BackendError(`${where}: ${dtype} data must be a ${storageName(dtype)}, got ${describeData(data)}`);
  }
  const count = elementCount(dims);
  if (data.length !== count) {
    throw new BackendError(`${where}: shape ${formatShape(dims)} holds ${count} elements but data has ${data.length}`);
  }
  try {
    return new runtime.Tensor(dtype, copyHostData ? data.slice() : data, dims.slice());
  } catch (cause) {
    throw new BackendError(`${where}: onnxruntime rejected the tensor: ${messageOf(cause)}`, { cause });
  }
}

function checkAgainstInfo(where: string, info: TensorInfo, dtype: TensorDType, dims: readonly number[]): void {
  const shape = info.shape;
  const expected = `${info.dtype}${shape === undefined ? '' : ' ' + formatShape(shape)}`;
  const actual = `${dtype} ${formatShape(dims)}`;
  if (dtype !== info.dtype) throw new BackendError(`${where} expects ${expected}, got ${actual} (wrong dtype)`);
  if (shape === undefined) return;
  if (shape.length !== dims.length) {
    throw new BackendError(`${where} expects ${expected}, got ${actual} (rank ${dims.length} instead of ${shape.length})`);
  }
  for (let axis = 0; axis < shape.length; axis++) {
    const want = shape[axis];
    if (typeof want === 'number' && want !== dims[axis]) {
      throw new BackendError(`${where} expects ${expected}, got ${actual} (dimension ${axis} is ${dims[axis]}, not ${want})`);
    }
  }
}

/** The message of an unknown thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
