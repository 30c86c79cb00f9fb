import type { TensorDType, TensorDataMap, TensorData } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';

/** Floating-point element types a graph can be emitted in (`g.dtype`). */
export type FloatDType = 'float32' | 'float64';

/** ONNX `TensorProto.DataType` code of each {@link TensorDType}. */
export const ONNX_DATA_TYPE: Readonly<Record<TensorDType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

const FROM_ONNX = new Map<number, TensorDType>(
  Object.entries(ONNX_DATA_TYPE).map(([k, v]) => [v, k as TensorDType]),
);

/** The {@link TensorDType} of an ONNX `DataType` code; throws for types DyTrack does not use. */
export function dtypeFromOnnx(code: number): TensorDType {
  const dtype = FROM_ONNX.get(code);
  if (dtype === undefined) throw new InvalidArgumentError(`unsupported ONNX data type ${code}`);
  return dtype;
}

/** Bytes per element. */
export function dtypeByteSize(dtype: TensorDType): number {
  switch (dtype) {
    case 'float64':
    case 'int64':
      return 8;
    case 'float32':
    case 'int32':
      return 4;
    case 'float16':
      return 2;
    default:
      return 1;
  }
}

/** True for float32 / float16 / float64. */
export function isFloatDType(dtype: TensorDType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16';
}

/** The element type of a typed array, as DyTrack stores it (Uint8Array is `uint8`). */
export function dtypeOfArray(data: TensorData): TensorDType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'float16';
  if (data instanceof Uint8Array) return 'uint8';
  throw new InvalidArgumentError('unsupported typed array for tensor data');
}

/** Allocates a zeroed typed array of `n` elements of `dtype`. */
export function allocate<D extends TensorDType>(dtype: D, n: number): TensorDataMap[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n) as TensorDataMap[D];
    case 'float64':
      return new Float64Array(n) as TensorDataMap[D];
    case 'int64':
      return new BigInt64Array(n) as TensorDataMap[D];
    case 'int32':
      return new Int32Array(n) as TensorDataMap[D];
    case 'int8':
      return new Int8Array(n) as TensorDataMap[D];
    case 'float16':
      return new Uint16Array(n) as TensorDataMap[D];
    default:
      return new Uint8Array(n) as TensorDataMap[D];
  }
}

/** Builds a typed array of `dtype` from plain numbers (int64 via BigInt, bool as 0/1). */
export function fromNumbers<D extends TensorDType>(dtype: D, values: readonly number[]): TensorDataMap[D] {
  const out = allocate(dtype, values.length);
  if (dtype === 'float16') throw new InvalidArgumentError('float16 constants from numbers are not supported');
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (dtype === 'int64') (out as BigInt64Array)[i] = BigInt(Math.trunc(v));
    else if (dtype === 'bool') (out as Uint8Array)[i] = v ? 1 : 0;
    else (out as Float64Array)[i] = v;
  }
  return out;
}

/** Reads element `i` of any tensor storage as a JS number. */
export function elementAsNumber(data: TensorData, i: number): number {
  const v = data[i];
  return typeof v === 'bigint' ? Number(v) : (v as number);
}
