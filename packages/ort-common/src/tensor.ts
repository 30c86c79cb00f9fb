import { DisposedError } from '@dytrack/core';
import type { BackendTensor, TensorDType, TensorDataMap, TensorLocation } from '@dytrack/core';
import type { Tensor as OrtTensor, TensorConstructor } from 'onnxruntime-common';
import type { OrtRuntime } from './runtime.js';

let unwrap: (tensor: OrtBackendTensor) => { tensor: OrtTensor | undefined; runtime: TensorConstructor };

/**
 * A {@link @dytrack/core!BackendTensor} over an onnxruntime tensor. It keeps the ORT tensor
 * privately so that feeding it back into a run of the same runtime passes the
 * same ORT tensor, with no copy.
 */
export class OrtBackendTensor<D extends TensorDType = TensorDType> implements BackendTensor<D> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly location: TensorLocation;
  #tensor: OrtTensor | undefined;
  /** The tensor class of the runtime that made the tensor: only that runtime may take it back as is. */
  readonly #runtime: TensorConstructor;

  static {
    unwrap = (tensor) => ({ tensor: tensor.#tensor, runtime: tensor.#runtime });
  }

  /** Wraps `tensor`, made by `runtime`, whose element type is `dtype`. */
  constructor(runtime: OrtRuntime, tensor: OrtTensor, dtype: D) {
    this.#tensor = tensor;
    this.#runtime = runtime.Tensor;
    this.dtype = dtype;
    this.dims = Object.freeze([...tensor.dims]);
    this.location = tensor.location === 'cpu' || tensor.location === 'cpu-pinned' ? 'cpu' : 'device';
  }

  /** Host data of a CPU tensor; `undefined` for device tensors and after `dispose()`. */
  get data(): TensorDataMap[D] | undefined {
    const tensor = this.#tensor;
    if (tensor === undefined || this.location !== 'cpu') return undefined;
    return asDyTrackData(this.dtype, tensor.data);
  }

  /** The host data (no copy for CPU tensors); rejects with a DisposedError after `dispose()`. */
  async download(): Promise<TensorDataMap[D]> {
    const tensor = this.#tensor;
    if (tensor === undefined) throw new DisposedError(`${this.dtype} tensor ${JSON.stringify(this.dims)}`);
    if (this.location === 'cpu') return asDyTrackData(this.dtype, tensor.data);
    return asDyTrackData(this.dtype, await tensor.getData());
  }

  /** Frees the ORT tensor; harmless when called twice. */
  dispose(): void {
    const tensor = this.#tensor;
    if (tensor === undefined) return;
    this.#tensor = undefined;
    tensor.dispose();
  }
}

/**
 * The ORT tensor behind a tensor that `runtime` produced: the tensor itself,
 * `'disposed'` after its `dispose()`, or `undefined` when `value` is not an
 * {@link OrtBackendTensor} of that runtime (a host tensor, or one from another runtime).
 */
export function ortTensorOf(runtime: OrtRuntime, value: unknown): OrtTensor | 'disposed' | undefined {
  if (!(value instanceof OrtBackendTensor)) return undefined;
  const own = unwrap(value);
  if (own.runtime !== runtime.Tensor) return undefined;
  return own.tensor ?? 'disposed';
}

/**
 * ORT may hand float16 data back as a `Float16Array` where the platform has one;
 * DyTrack's contract stores float16 as raw bits in a `Uint16Array` (a view, no copy).
 */
function asDyTrackData<D extends TensorDType>(dtype: D, data: unknown): TensorDataMap[D] {
  if (dtype === 'float16' && !(data instanceof Uint16Array) && ArrayBuffer.isView(data)) {
    const view = data as ArrayBufferView & { length: number };
    return new Uint16Array(view.buffer, view.byteOffset, view.length) as TensorDataMap[D];
  }
  return data as TensorDataMap[D];
}
