import onnxProto from 'onnx-proto';
import type { HostTensor, TensorData, TensorDType, TensorInfo, TensorShape } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';
import type { Attribute } from './attributes.js';
import { ONNX_DATA_TYPE, allocate, dtypeByteSize, dtypeFromOnnx } from './dtype.js';
import type { Graph, Value } from './graph.js';
import { OPSET_VERSION } from './graph.js';

const { onnx } = onnxProto;

/** ONNX IR version written by {@link toModelProto} (IR 8 covers opsets up to 18). */
export const IR_VERSION = 8;

/** Options for serialisation. */
export interface SerializeOptions {
  /** `producer_name` in the model. Default `'@dytrack/onnx'`. */
  readonly producerName?: string;
  /** `doc_string` of the model. */
  readonly docString?: string;
  /** Extra metadata (`metadata_props`). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Drop nodes and initializers that no output depends on (default true). Graph inputs are
   * always kept: they are the model's interface.
   */
  readonly prune?: boolean;
}

/** Nodes (in order) and initializer names that some graph output depends on. */
function liveSubgraph(graph: Graph): { nodes: Graph['nodes']; initializers: Set<string> } {
  const needed = new Set<Value>(graph.outputs);
  const keep: boolean[] = new Array<boolean>(graph.nodes.length).fill(false);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (!node.outputs.some((o) => needed.has(o))) continue;
    keep[i] = true;
    for (const v of node.inputs) if (v) needed.add(v);
  }
  return {
    nodes: graph.nodes.filter((_, i) => keep[i]),
    initializers: new Set(graph.initializers.filter((init) => needed.has(init.value)).map((init) => init.value.name)),
  };
}

function littleEndianBytes(data: TensorData): Uint8Array {
  // Host byte order is little-endian on every platform onnxruntime-node ships for.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

/** Encodes a host tensor as an ONNX `TensorProto` (raw little-endian data). */
export function tensorToProto(name: string, tensor: HostTensor): onnxProto.onnx.TensorProto {
  return onnx.TensorProto.create({
    name,
    dataType: ONNX_DATA_TYPE[tensor.dtype],
    dims: [...tensor.dims],
    rawData: littleEndianBytes(tensor.data),
  });
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && 'toNumber' in v && typeof (v as { toNumber: unknown }).toNumber === 'function') {
    return (v as { toNumber(): number }).toNumber();
  }
  return Number(v);
}

/** Decodes an ONNX `TensorProto` (raw or typed fields) to a host tensor. External data is not supported. */
export function tensorFromProto(t: onnxProto.onnx.ITensorProto): HostTensor {
  const dtype = dtypeFromOnnx(t.dataType ?? 0);
  const dims = (t.dims ?? []).map(toNumber);
  const n = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new InvalidArgumentError(`tensor ${t.name ?? ''}: external data is not supported`);
  }
  const out = allocate(dtype, n);
  if (t.rawData && t.rawData.length > 0) {
    const bytes = n * dtypeByteSize(dtype);
    if (t.rawData.length !== bytes) throw new InvalidArgumentError(`tensor ${t.name ?? ''}: raw data has ${t.rawData.length} bytes, expected ${bytes}`);
    new Uint8Array(out.buffer).set(t.rawData);
    return { dtype, dims, data: out };
  }
  let src: ArrayLike<unknown> = [];
  if (dtype === 'float32') src = t.floatData ?? [];
  else if (dtype === 'float64') src = t.doubleData ?? [];
  else if (dtype === 'int64') src = t.int64Data ?? [];
  else src = t.int32Data ?? [];
  if (src.length !== n) throw new InvalidArgumentError(`tensor ${t.name ?? ''}: has ${src.length} elements, expected ${n}`);
  for (let i = 0; i < n; i++) {
    if (dtype === 'int64') (out as BigInt64Array)[i] = BigInt(toNumber(src[i]));
    else (out as Float64Array)[i] = toNumber(src[i]);
  }
  return { dtype, dims, data: out };
}

function attributeToProto(name: string, a: Attribute): onnxProto.onnx.AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      return onnx.AttributeProto.create({ name, type: T.INT, i: a.value });
    case 'float':
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.value });
    case 'string':
      return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(a.value) });
    case 'ints':
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: [...a.value] });
    case 'floats':
      return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: [...a.value] });
    case 'strings':
      return onnx.AttributeProto.create({ name, type: T.STRINGS, strings: a.value.map((s) => new TextEncoder().encode(s)) });
    case 'tensor':
      return onnx.AttributeProto.create({ name, type: T.TENSOR, t: tensorToProto('', a.value) });
  }
}

function valueInfo(v: Value): onnxProto.onnx.ValueInfoProto {
  const shape = v.shape
    ? { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) }
    : undefined;
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: { tensorType: { elemType: ONNX_DATA_TYPE[v.dtype], shape } },
  });
}

/** Builds the ONNX `ModelProto` of a graph (opset {@link OPSET_VERSION}). */
export function toModelProto(graph: Graph, options: SerializeOptions = {}): onnxProto.onnx.ModelProto {
  if (graph.outputs.length === 0) throw new InvalidArgumentError(`graph ${graph.name} has no outputs`);
  const live = options.prune === false ? undefined : liveSubgraph(graph);
  const graphNodes = live ? live.nodes : graph.nodes;
  const graphInitializers = live ? graph.initializers.filter((i) => live.initializers.has(i.value.name)) : graph.initializers;
  const nodes = graphNodes.map((n) =>
    onnx.NodeProto.create({
      opType: n.opType,
      domain: n.domain,
      name: n.name,
      input: n.inputs.map((v) => v?.name ?? ''),
      output: n.outputs.map((v) => v.name),
      attribute: Object.entries(n.attributes).map(([k, a]) => attributeToProto(k, a)),
    }),
  );
  const domains = new Set(graphNodes.map((n) => n.domain).filter((d) => d !== ''));
  return onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: options.producerName ?? '@dytrack/onnx',
    docString: options.docString ?? '',
    opsetImport: [{ domain: '', version: OPSET_VERSION }, ...[...domains].map((domain) => ({ domain, version: 1 }))],
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: onnx.GraphProto.create({
      name: graph.name,
      node: nodes,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
      initializer: graphInitializers.map((init) => tensorToProto(init.value.name, { dtype: init.value.dtype, dims: init.dims, data: init.data })),
    }),
  });
}

/** Serialises a graph to ONNX model bytes, ready for `InferenceBackend.loadModel`. */
export function serializeModel(graph: Graph, options: SerializeOptions = {}): Uint8Array {
  return onnx.ModelProto.encode(toModelProto(graph, options)).finish();
}

/** A weight read back from an ONNX file. */
export interface ModelInitializer {
  readonly name: string;
  readonly dtype: TensorDType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** A node read back from an ONNX file (names only). */
export interface ModelNode {
  readonly opType: string;
  readonly domain: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** What {@link readModel} reports about an ONNX file. */
export interface ModelSummary {
  readonly irVersion: number;
  /** Opset version per domain (`''` is the default domain). */
  readonly opsets: Readonly<Record<string, number>>;
  readonly producerName: string;
  readonly graphName: string;
  /** Graph inputs that are not initializers. */
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  readonly initializers: readonly ModelInitializer[];
  readonly nodes: readonly ModelNode[];
  readonly metadata: Readonly<Record<string, string>>;
}

function infoFromProto(v: onnxProto.onnx.IValueInfoProto): TensorInfo {
  const tt = v.type?.tensorType;
  if (!tt) throw new InvalidArgumentError(`value ${v.name ?? ''} is not a tensor`);
  const shape: TensorShape | undefined = tt.shape
    ? (tt.shape.dim ?? []).map((d, i) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : `d${i}`))
    : undefined;
  return { name: v.name ?? '', dtype: dtypeFromOnnx(tt.elemType ?? 0), shape };
}

/**
 * Decodes ONNX model bytes and lists inputs, outputs, initializers (with their data)
 * and nodes. Throws {@link InvalidArgumentError} for bytes that are not an ONNX model.
 */
export function readModel(bytes: Uint8Array): ModelSummary {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new InvalidArgumentError('bytes are not an ONNX model', { cause });
  }
  const g = model.graph;
  if (!g) throw new InvalidArgumentError('ONNX model has no graph');
  const initializers = (g.initializer ?? []).map((t) => {
    const h = tensorFromProto(t);
    return { name: t.name ?? '', dtype: h.dtype, dims: h.dims, data: h.data };
  });
  const initNames = new Set(initializers.map((i) => i.name));
  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport ?? []) opsets[o.domain ?? ''] = toNumber(o.version);
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';
  return {
    irVersion: toNumber(model.irVersion),
    opsets,
    producerName: model.producerName ?? '',
    graphName: g.name ?? '',
    inputs: (g.input ?? []).filter((v) => !initNames.has(v.name ?? '')).map(infoFromProto),
    outputs: (g.output ?? []).map(infoFromProto),
    initializers,
    nodes: (g.node ?? []).map((n) => ({
      opType: n.opType ?? '',
      domain: n.domain ?? '',
      name: n.name ?? '',
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
    })),
    metadata,
  };
}
