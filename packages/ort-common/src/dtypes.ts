import type { TensorDType } from '@dytrack/core';

/** Every element type DyTrack tensors can hold, in a stable order. */
export const ALL_DTYPES: readonly TensorDType[] = ['float32', 'float16', 'float64', 'int32', 'int64', 'uint8', 'int8', 'bool'];

type TypedArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Uint8ArrayConstructor
  | Int8ArrayConstructor
  | Uint16ArrayConstructor;

/** The typed array that holds each dtype (see `TensorDataMap` in @dytrack/core). */
const STORAGE: Readonly<Record<TensorDType, TypedArrayConstructor>> = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  int8: Int8Array,
  bool: Uint8Array,
};

/** True when `value` names a DyTrack dtype. onnxruntime uses the same names for these eight. */
export function isTensorDType(value: unknown): value is TensorDType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(STORAGE, value);
}

/** True when `data` is the typed array DyTrack stores `dtype` in. */
export function hasStorageOf(dtype: TensorDType, data: unknown): boolean {
  return data instanceof STORAGE[dtype];
}

/** Name of the typed array that holds `dtype`, for error messages. */
export function storageName(dtype: TensorDType): string {
  return STORAGE[dtype].name;
}

/** Name of the constructor of a value, for error messages. */
export function describeData(data: unknown): string {
  if (data === null || data === undefined) return String(data);
  if (typeof data !== 'object') return typeof data;
  const ctor = (data as { constructor?: { name?: string } }).constructor;
  return ctor?.name ?? 'object';
}

/** `[1, 3, "N"]` style text of a shape. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.map((d) => (typeof d === 'string' ? (d === '' ? '?' : d) : String(d))).join(', ')}]`;
}
