import type { TensorDType } from '@dytrack/core';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX `TensorProto.DataType` codes of DyTrack's dtypes. */
const ONNX_DTYPE: Readonly<Record<TensorDType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

/** A graph input or output: name, element type and shape (strings are symbolic dimensions). */
export interface ValueSpec {
  /** Graph input or output name. */
  readonly name: string;
  /** Element type. */
  readonly dtype: TensorDType;
  /** Dimensions: numbers are fixed, strings are symbolic (`'N'`); `''` is an unnamed dynamic dimension. */
  readonly shape: readonly (number | string)[];
}

/** One ONNX node; attribute values are ints, floats or int lists. */
export interface NodeSpec {
  /** ONNX operator type (`'MatMul'`), default domain. */
  readonly op: string;
  /** Names of the values the node reads. */
  readonly inputs: readonly string[];
  /** Names of the values the node writes. */
  readonly outputs: readonly string[];
  /** Attributes by name: `{ axis: { int: -1 } }`. */
  readonly attributes?: Readonly<Record<string, { readonly int: number } | { readonly float: number } | { readonly ints: readonly number[] }>>;
}

/** A constant tensor stored in the model. */
export interface InitializerSpec {
  /** Value name the nodes refer to. */
  readonly name: string;
  /** Element type (stored as little-endian raw data). */
  readonly dtype: 'float32' | 'int64';
  /** Shape; `[]` for a scalar. */
  readonly dims: readonly number[];
  /** Row-major values (int64 values must be safe integers). */
  readonly values: readonly number[];
}

/** Everything {@link buildModel} needs. */
export interface ModelSpec {
  /** Graph name. */
  readonly name: string;
  /** Graph inputs, in order. */
  readonly inputs: readonly ValueSpec[];
  /** Graph outputs, in order. */
  readonly outputs: readonly ValueSpec[];
  /** Nodes in topological order. */
  readonly nodes: readonly NodeSpec[];
  /** Constant tensors. */
  readonly initializers?: readonly InitializerSpec[];
  /** Default-domain opset; 17 unless given. */
  readonly opset?: number;
}

function valueInfo(spec: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: ONNX_DTYPE[spec.dtype],
        shape: { dim: spec.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

function initializer(spec: InitializerSpec): onnxProto.onnx.ITensorProto {
  const data = spec.dtype === 'float32' ? Float32Array.from(spec.values) : BigInt64Array.from(spec.values, (v) => BigInt(v));
  // ONNX raw_data is little-endian, as typed arrays are on every platform ORT runs on.
  return {
    name: spec.name,
    dataType: ONNX_DTYPE[spec.dtype],
    dims: [...spec.dims],
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function attribute(name: string, value: NonNullable<NodeSpec['attributes']>[string]): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INTS, ints: [...value.ints] };
}

/** Serialises a small ONNX model (IR version 8) to its protobuf bytes. */
export function buildModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: '@dytrack/conformance',
    opsetImport: [{ domain: '', version: spec.opset ?? 17 }],
    graph: {
      name: spec.name,
      input: spec.inputs.map(valueInfo),
      output: spec.outputs.map(valueInfo),
      initializer: (spec.initializers ?? []).map(initializer),
      node: spec.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        opType: n.op,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
