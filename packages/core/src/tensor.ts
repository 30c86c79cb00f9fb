/** Element types a DyTrack tensor may hold. */
export type TensorDType = 'float32' | 'float16' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

/** The typed array that holds each {@link TensorDType} in host memory. */
export interface TensorDataMap {
  float32: Float32Array;
  /** Raw IEEE half-precision bits. */
  float16: Uint16Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  int8: Int8Array;
  bool: Uint8Array;
}

/** Any host tensor storage. */
export type TensorData = TensorDataMap[TensorDType];

/** A dense, row-major tensor in host memory. */
export interface HostTensor<D extends TensorDType = TensorDType> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: TensorDataMap[D];
}

/** Where a backend keeps a tensor. */
export type TensorLocation = 'cpu' | 'device';

/**
 * A tensor produced by a backend. CPU tensors expose their data synchronously;
 * device tensors (for example WebGPU buffers) stay on the device and can be fed
 * back into the next `run` without a copy, or downloaded on demand.
 */
export interface BackendTensor<D extends TensorDType = TensorDType> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly location: TensorLocation;
  /** Host data when `location === 'cpu'`; `undefined` for device tensors. */
  readonly data: TensorDataMap[D] | undefined;
  /** Copies the tensor to host memory (no copy for CPU tensors). */
  download(): Promise<TensorDataMap[D]>;
  /** Frees backend memory. Harmless when called twice. */
  dispose(): void;
}

/** A value that can be fed to {@link InferenceSession.run}. */
export type TensorValue = HostTensor | BackendTensor;

/** Number of elements of a shape. */
export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** True when the value was produced by a backend (has `location`). */
export function isBackendTensor(value: TensorValue): value is BackendTensor {
  return (value as BackendTensor).location !== undefined && typeof (value as BackendTensor).dispose === 'function';
}
