import type { HostTensor, TensorData, TensorDType, TensorShape } from '@dytrack/core';
import { InvalidArgumentError, elementCount } from '@dytrack/core';
import type { Attribute, AttributesInput } from './attributes.js';
import { floatAttr, normalizeAttributes, tensorAttr } from './attributes.js';
import type { FloatDType } from './dtype.js';
import { ONNX_DATA_TYPE, dtypeOfArray, fromNumbers } from './dtype.js';
import type { ValueType } from './shapes.js';
import { inferOutputTypes, normalizeAxis } from './shapes.js';

/**
 * A handle to one tensor in a {@link Graph}: a graph input, an initializer, a constant
 * or a node output. Carries the name it has in the ONNX file, its element type and,
 * when the builder could infer it, its shape.
 */
export class Value {
  /** The graph this value belongs to. */
  readonly graph: Graph;
  /** Name in the ONNX graph (unique within the graph). */
  readonly name: string;
  /** Element type. */
  readonly dtype: TensorDType;
  /** Shape when known; string entries are symbolic dimensions. */
  readonly shape: TensorShape | undefined;

  /** @internal Values are created by {@link Graph} methods. */
  constructor(graph: Graph, name: string, dtype: TensorDType, shape: TensorShape | undefined) {
    this.graph = graph;
    this.name = name;
    this.dtype = dtype;
    this.shape = shape;
  }

  /** Rank when the shape is known. */
  get rank(): number | undefined {
    return this.shape?.length;
  }

  /** The shape as numbers; throws (naming the value) when unknown or symbolic. */
  staticShape(): number[] {
    if (!this.shape || this.shape.some((d) => typeof d !== 'number')) {
      throw new InvalidArgumentError(`value ${this.name} has no static shape (shape ${this.shape ? `[${this.shape.join(',')}]` : 'unknown'})`);
    }
    return this.shape as number[];
  }

  /** `name: dtype[shape]`, for messages. */
  toString(): string {
    return `${this.name}: ${this.dtype}[${this.shape ? this.shape.join(',') : '?'}]`;
  }
}

/** One node of a {@link Graph}, as recorded by the builder. */
export interface GraphNode {
  /** ONNX operator type (`'MatMul'`). */
  readonly opType: string;
  /** Operator domain; `''` is the default ONNX domain. */
  readonly domain: string;
  /** Unique node name (scoped). */
  readonly name: string;
  /** Inputs; `undefined` marks an omitted optional input. */
  readonly inputs: readonly (Value | undefined)[];
  readonly outputs: readonly Value[];
  /** Normalised attributes. */
  readonly attributes: Readonly<Record<string, Attribute>>;
}

/** A named tensor stored in the graph (a weight). */
export interface Initializer {
  readonly value: Value;
  readonly dims: readonly number[];
  readonly data: TensorData;
}

/** Options for {@link Graph.op}. */
export interface OpOptions {
  /** Base name of the node and its outputs (scoped, made unique). Defaults to the op type. */
  readonly name?: string;
  /** Operator domain (default ONNX domain). */
  readonly domain?: string;
  /** Explicit output types, overriding inference (for ops the builder has no shape rule for). */
  readonly outputTypes?: readonly ValueType[];
}

/** Options for {@link Graph}. */
export interface GraphOptions {
  /** Graph name stored in the model. Default `'dytrack'`. */
  readonly name?: string;
  /** Float type of the constants and helpers that create floats (`g.scalar`, `g.gelu`). Default `'float32'`. */
  readonly dtype?: FloatDType;
}

/** Geometry of {@link Graph.conv} and {@link Graph.convTranspose}; each list has one entry per spatial axis (pads two). */
export interface ConvOptions {
  /** Default 1 on every axis. */
  readonly strides?: readonly number[];
  /** Start paddings of every axis, then end paddings. Default 0. */
  readonly pads?: readonly number[];
  /** Default 1 on every axis. */
  readonly dilations?: readonly number[];
  /** Channel groups (default 1; the channel count for a depthwise convolution). */
  readonly group?: number;
}

function convAttributes(o: ConvOptions): AttributesInput {
  return { strides: o.strides, pads: o.pads, dilations: o.dilations, group: o.group };
}

/** A closed-form gradient of a composite value: see {@link Graph.setGradient}. */
export interface GradientOverride {
  /** The values the composite is computed from (the ones `backward` returns gradients for). */
  readonly inputs: readonly Value[];
  /** Emits the gradients of `inputs` (same order and shapes) from the gradient `dy` of the composite. */
  readonly backward: (dy: Value) => readonly Value[];
}

/** Value to feed a helper that needs a tensor: a {@link Value} or a plain number (made a scalar constant of the graph's float type). */
export type ValueLike = Value | number;

/** ONNX opset version the builder emits (default domain). 18: reductions take `axes` as an input. */
export const OPSET_VERSION = 18;

/**
 * A typed ONNX graph under construction. Every op helper appends a node and returns
 * {@link Value} handles with inferred dtype and (where cheap) shape; names created
 * inside {@link Graph.scope} are prefixed with the scope path (`block0/attn/MatMul`).
 *
 * Graph inputs and outputs keep the exact names you give; initializers, nodes and
 * intermediate values are scoped. Serialise with `toModelProto` / `serializeModel`.
 *
 * @example
 * ```ts
 * const g = new Graph({ dtype: 'float32' });
 * const x = g.input('x', 'float32', [8, 16]);
 * const w = g.initializer('w', [16, 4], new Float32Array(64));
 * g.output(g.relu(g.matmul(x, w)), 'y');
 * const bytes = serializeModel(g);
 * ```
 */
export class Graph {
  /** Graph name. */
  readonly name: string;
  /** Float type used for constants created from numbers. */
  readonly dtype: FloatDType;
  private readonly _nodes: GraphNode[] = [];
  private readonly _inputs: Value[] = [];
  private readonly _outputs: Value[] = [];
  private readonly _initializers = new Map<string, Initializer>();
  private readonly _names = new Set<string>();
  private readonly _producers = new Map<Value, GraphNode>();
  private readonly _constants = new Map<Value, HostTensor>();
  private readonly _scalarCache = new Map<string, Value>();
  private readonly _scopes: string[] = [];
  private readonly _gradients = new Map<Value, GradientOverride>();

  constructor(options: GraphOptions = {}) {
    this.name = options.name ?? 'dytrack';
    this.dtype = options.dtype ?? 'float32';
    if (this.dtype !== 'float32' && this.dtype !== 'float64') {
      throw new InvalidArgumentError(`Graph dtype must be float32 or float64, got ${String(this.dtype)}`);
    }
  }

  // ---- structure -------------------------------------------------------------------------

  /** Nodes in insertion (topological) order. */
  get nodes(): readonly GraphNode[] {
    return this._nodes;
  }

  /** Graph inputs in declaration order. */
  get inputs(): readonly Value[] {
    return this._inputs;
  }

  /** Graph outputs in declaration order. */
  get outputs(): readonly Value[] {
    return this._outputs;
  }

  /** Initializers in declaration order. */
  get initializers(): readonly Initializer[] {
    return [...this._initializers.values()];
  }

  /** The node that produces `value`, or `undefined` for inputs and initializers. */
  producer(value: Value): GraphNode | undefined {
    return this._producers.get(value);
  }

  /** Build-time data of a constant or initializer value, else `undefined`. */
  constantValue(value: Value): HostTensor | undefined {
    return this._constants.get(value);
  }

  /**
   * Gives `output`, computed from `override.inputs` by several nodes, a gradient of its own:
   * reverse-mode differentiation (`@dytrack/autograd`) then calls `override.backward` for it
   * instead of differentiating those nodes one by one. For composites whose closed-form
   * derivative is cheaper than the chain rule through their parts (GELU). The forward graph
   * is unchanged.
   */
  setGradient(output: Value, override: GradientOverride): void {
    if (output.graph !== this || override.inputs.some((v) => v.graph !== this)) throw new InvalidArgumentError('setGradient: values of another graph');
    if (!this._producers.has(output)) throw new InvalidArgumentError(`setGradient: ${output.name} is not computed by a node`);
    this._gradients.set(output, override);
  }

  /** The gradient override given to `value` by {@link Graph.setGradient}, if any. */
  gradientOverride(value: Value): GradientOverride | undefined {
    return this._gradients.get(value);
  }

  /** The current scope prefix (`'block0/attn/'`, or `''` at the root). */
  get scopePrefix(): string {
    return this._scopes.length ? this._scopes.join('/') + '/' : '';
  }

  /**
   * Runs `build` with `name` pushed on the scope stack: nodes, initializers and
   * intermediate values created inside are named `name/...`. Scopes nest. Returns what
   * `build` returns.
   */
  scope<T>(name: string, build: () => T): T {
    if (!name || name.includes('/')) throw new InvalidArgumentError(`scope name must be non-empty and contain no '/', got ${JSON.stringify(name)}`);
    this._scopes.push(name);
    try {
      return build();
    } finally {
      this._scopes.pop();
    }
  }

  /** Reserves a unique name: `base` if free, else `base_1`, `base_2`, ... */
  uniqueName(base: string): string {
    if (!this._names.has(base)) {
      this._names.add(base);
      return base;
    }
    for (let i = 1; ; i++) {
      const n = `${base}_${i}`;
      if (!this._names.has(n)) {
        this._names.add(n);
        return n;
      }
    }
  }

  private claimExact(name: string, what: string): void {
    if (!name) throw new InvalidArgumentError(`${what} name must be non-empty`);
    if (this._names.has(name)) throw new InvalidArgumentError(`${what} name ${JSON.stringify(name)} is already used in graph ${this.name}`);
    this._names.add(name);
  }

  private own(v: Value, op: string): Value {
    if (!(v instanceof Value)) throw new InvalidArgumentError(`${op}: expected a Value`);
    if (v.graph !== this) throw new InvalidArgumentError(`${op}: value ${v.name} belongs to another graph`);
    return v;
  }

  /** Turns a number into a scalar constant of the graph's float type (cached); passes Values through. */
  value(v: ValueLike, dtype: TensorDType = this.dtype): Value {
    if (typeof v === 'number') return this.scalar(v, dtype);
    return this.own(v, 'value');
  }

  // ---- inputs, outputs, initializers, constants --------------------------------------------

  /** Declares a graph input with an exact (unscoped) name. */
  input(name: string, dtype: TensorDType, shape: TensorShape): Value {
    this.claimExact(name, 'input');
    const v = new Value(this, name, dtype, [...shape]);
    this._inputs.push(v);
    return v;
  }

  /**
   * Marks `value` as a graph output named `name` (default: the value's own name). When the
   * value already has another name, or is an input/initializer, an `Identity` node is added.
   */
  output(value: Value, name?: string): Value {
    this.own(value, 'output');
    const wanted = name ?? value.name;
    const isSource = this._inputs.includes(value) || this._initializers.has(value.name);
    let out = value;
    if (wanted !== value.name || isSource || this._outputs.includes(value)) {
      this.claimExact(wanted, 'output');
      out = this.addNode('Identity', [value], {}, [wanted], [{ dtype: value.dtype, shape: value.shape }], wanted)[0];
    }
    this._outputs.push(out);
    return out;
  }

  /**
   * Adds an initializer (a weight stored in the model). `name` is scoped. The dtype comes
   * from the array type (Float32Array: float32, Float64Array: float64, BigInt64Array: int64, ...).
   */
  initializer(name: string, dims: readonly number[], data: TensorData): Value {
    const full = this.scopePrefix + name;
    if (dims.some((d) => !Number.isInteger(d) || d < 0)) throw new InvalidArgumentError(`initializer ${full}: bad dims [${dims.join(',')}]`);
    if (elementCount(dims) !== data.length) {
      throw new InvalidArgumentError(`initializer ${full}: dims [${dims.join(',')}] need ${elementCount(dims)} elements, got ${data.length}`);
    }
    this.claimExact(full, 'initializer');
    const dtype = dtypeOfArray(data);
    const v = new Value(this, full, dtype, [...dims]);
    this._initializers.set(full, { value: v, dims: [...dims], data });
    this._constants.set(v, { dtype, dims: [...dims], data });
    return v;
  }

  /**
   * A `Constant` node. Numbers become the graph's float type unless `dtype` says otherwise;
   * a typed array keeps its type. `dims` defaults to `[]` for a single number, else `[length]`.
   */
  constant(data: number | readonly number[] | TensorData, dims?: readonly number[], dtype?: TensorDType): Value {
    let tensorData: TensorData;
    if (typeof data === 'number') tensorData = fromNumbers(dtype ?? this.dtype, [data]);
    else if (Array.isArray(data)) tensorData = fromNumbers(dtype ?? this.dtype, data as number[]);
    else tensorData = data as TensorData;
    const shape = dims ? [...dims] : typeof data === 'number' ? [] : [tensorData.length];
    if (elementCount(shape) !== tensorData.length) {
      throw new InvalidArgumentError(`constant: dims [${shape.join(',')}] need ${elementCount(shape)} elements, got ${tensorData.length}`);
    }
    // Bool data is stored in a Uint8Array, so the array type alone cannot say it is bool.
    const tensorDType = dtype === 'bool' && tensorData instanceof Uint8Array ? 'bool' : dtypeOfArray(tensorData);
    const tensor: HostTensor = { dtype: tensorDType, dims: shape, data: tensorData };
    const v = this.addNode('Constant', [], { value: tensorAttr(tensor) }, undefined, undefined, 'Constant')[0];
    this._constants.set(v, tensor);
    return v;
  }

  /** A scalar constant (cached per dtype and value, so repeated scalars share one node). */
  scalar(v: number, dtype: TensorDType = this.dtype): Value {
    const key = `${dtype}:${Object.is(v, -0) ? '-0' : String(v)}`;
    let c = this._scalarCache.get(key);
    if (!c) {
      const saved = this._scopes.splice(0);
      try {
        c = this.constant(v, [], dtype);
      } finally {
        this._scopes.push(...saved);
      }
      this._scalarCache.set(key, c);
    }
    return c;
  }

  /** An int64 1-D constant (shapes, axes, slice bounds). */
  ints(values: readonly number[]): Value {
    return this.constant(values, [values.length], 'int64');
  }

  // ---- generic op --------------------------------------------------------------------------

  /** Adds a node with one output and returns it. */
  op(opType: string, inputs: readonly (Value | undefined)[], attrs?: AttributesInput): Value;
  /** Adds a node with `nOutputs` outputs and returns them all. */
  op(opType: string, inputs: readonly (Value | undefined)[], attrs: AttributesInput | undefined, nOutputs: number, options?: OpOptions): Value[];
  op(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attrs?: AttributesInput,
    nOutputs?: number,
    options?: OpOptions,
  ): Value | Value[] {
    const outs = this.addNode(opType, inputs, normalizeAttributes(attrs), undefined, options?.outputTypes, options?.name, nOutputs ?? 1, options?.domain);
    return nOutputs === undefined ? outs[0] : outs;
  }

  /** Adds a node with one output, with {@link OpOptions} (name, domain, output type). */
  op1(opType: string, inputs: readonly (Value | undefined)[], attrs: AttributesInput | undefined, options: OpOptions): Value {
    return this.op(opType, inputs, attrs, 1, options)[0];
  }

  private addNode(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attributes: Record<string, Attribute>,
    exactOutputNames: readonly string[] | undefined,
    outputTypes: readonly ValueType[] | undefined,
    baseName: string | undefined,
    nOutputs = exactOutputNames?.length ?? 1,
    domain = '',
  ): Value[] {
    if (!opType) throw new InvalidArgumentError('op type must be non-empty');
    if (!Number.isInteger(nOutputs) || nOutputs < 1) throw new InvalidArgumentError(`${opType}: nOutputs must be a positive integer`);
    inputs.forEach((v) => v !== undefined && this.own(v, opType));
    let lastDefined = inputs.length;
    while (lastDefined > 0 && inputs[lastDefined - 1] === undefined) lastDefined--;
    const ins = inputs.slice(0, lastDefined);
    let types: (ValueType | undefined)[] = outputTypes ? [...outputTypes] : [];
    if (!outputTypes) {
      types = inferOutputTypes({
        opType: domain ? `${domain}.${opType}` : opType,
        inputs: ins.map((v) => (v ? { dtype: v.dtype, shape: v.shape } : undefined)),
        attributes,
        outputCount: nOutputs,
        constantInput: (i) => {
          const v = ins[i];
          return v ? this._constants.get(v) : undefined;
        },
      });
    }
    const nodeName = this.uniqueName(this.scopePrefix + (baseName ?? opType));
    const outputs: Value[] = [];
    for (let i = 0; i < nOutputs; i++) {
      const t = types[i] ?? { dtype: ins[0]?.dtype ?? this.dtype, shape: undefined };
      const name = exactOutputNames ? exactOutputNames[i] : nOutputs === 1 ? this.uniqueName(nodeName + '_out') : this.uniqueName(`${nodeName}_out${i}`);
      outputs.push(new Value(this, name, t.dtype, t.shape ? [...t.shape] : undefined));
    }
    const node: GraphNode = { opType, domain, name: nodeName, inputs: ins, outputs, attributes };
    this._nodes.push(node);
    for (const o of outputs) this._producers.set(o, node);
    // Cheap constant folding: the shape of a statically shaped value is known now, which
    // lets Reshape / Expand fed from it infer their output shapes.
    const src = ins[0];
    if (opType === 'Shape' && domain === '' && src?.shape && src.shape.every((d) => typeof d === 'number') && Object.keys(attributes).length === 0) {
      this._constants.set(outputs[0], { dtype: 'int64', dims: [src.shape.length], data: BigInt64Array.from(src.shape.map((d) => BigInt(d))) });
    }
    return outputs;
  }

  // ---- element-wise ------------------------------------------------------------------------

  private binary(op: string, a: ValueLike, b: ValueLike): Value {
    const av = typeof a === 'number' ? this.scalar(a, typeof b === 'number' ? this.dtype : b.dtype) : a;
    const bv = typeof b === 'number' ? this.scalar(b, av.dtype) : b;
    if (av.dtype !== bv.dtype) throw new InvalidArgumentError(`${op}: dtypes differ (${av} vs ${bv})`);
    return this.op(op, [av, bv]);
  }

  /** `a + b` with numpy broadcasting. */
  add(a: ValueLike, b: ValueLike): Value {
    return this.binary('Add', a, b);
  }
  /** `a - b` with broadcasting. */
  sub(a: ValueLike, b: ValueLike): Value {
    return this.binary('Sub', a, b);
  }
  /** `a * b` with broadcasting. */
  mul(a: ValueLike, b: ValueLike): Value {
    return this.binary('Mul', a, b);
  }
  /** `a / b` with broadcasting. */
  div(a: ValueLike, b: ValueLike): Value {
    return this.binary('Div', a, b);
  }
  /** `a ** b` with broadcasting. */
  pow(a: ValueLike, b: ValueLike): Value {
    return this.binary('Pow', a, b);
  }
  /** Element-wise maximum of two tensors. */
  max(a: ValueLike, b: ValueLike): Value {
    return this.binary('Max', a, b);
  }
  /** Element-wise minimum of two tensors. */
  min(a: ValueLike, b: ValueLike): Value {
    return this.binary('Min', a, b);
  }
  /** `a == b` (bool). */
  equal(a: ValueLike, b: ValueLike): Value {
    return this.binary('Equal', a, b);
  }
  /** `a < b` (bool). */
  less(a: ValueLike, b: ValueLike): Value {
    return this.binary('Less', a, b);
  }
  /** `a > b` (bool). */
  greater(a: ValueLike, b: ValueLike): Value {
    return this.binary('Greater', a, b);
  }
  /** `-x`. */
  neg(x: Value): Value {
    return this.op('Neg', [x]);
  }
  /** `|x|`. */
  abs(x: Value): Value {
    return this.op('Abs', [x]);
  }
  /** `e^x`. */
  exp(x: Value): Value {
    return this.op('Exp', [x]);
  }
  /** Natural log. */
  log(x: Value): Value {
    return this.op('Log', [x]);
  }
  /** Square root. */
  sqrt(x: Value): Value {
    return this.op('Sqrt', [x]);
  }
  /** Hyperbolic tangent. */
  tanh(x: Value): Value {
    return this.op('Tanh', [x]);
  }
  /** Error function (onnxruntime's CPU provider has no float64 Erf). */
  erf(x: Value): Value {
    return this.op('Erf', [x]);
  }
  /** Logistic sigmoid. */
  sigmoid(x: Value): Value {
    return this.op('Sigmoid', [x]);
  }
  /** `max(x, 0)`. */
  relu(x: Value): Value {
    return this.op('Relu', [x]);
  }
  /** Clamps to `[min, max]`; either bound may be omitted. */
  clip(x: Value, min?: ValueLike, max?: ValueLike): Value {
    return this.op('Clip', [x, min === undefined ? undefined : this.value(min, x.dtype), max === undefined ? undefined : this.value(max, x.dtype)]);
  }
  /** `cond ? a : b` with broadcasting (`cond` is bool). */
  where(cond: Value, a: ValueLike, b: ValueLike): Value {
    const av = typeof a === 'number' ? this.scalar(a, typeof b === 'number' ? this.dtype : b.dtype) : a;
    const bv = typeof b === 'number' ? this.scalar(b, av.dtype) : b;
    return this.op('Where', [cond, av, bv]);
  }
  /** Element type conversion. */
  cast(x: Value, to: TensorDType): Value {
    return this.op('Cast', [x], { to: ONNX_DATA_TYPE[to] });
  }
  /** A copy of `x` (useful to name or to cut a value). */
  identity(x: Value): Value {
    return this.op('Identity', [x]);
  }

  /**
   * GELU. `'none'` is the exact form `0.5·x·(1 + erf(x/√2))`; `'tanh'` is
   * `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`, which also runs in float64.
   */
  gelu(x: Value, approximate: 'none' | 'tanh' = 'none'): Value {
    return this.scope(this.uniqueScope('gelu'), () => {
      if (approximate === 'none') {
        const inner = this.erf(this.mul(x, Math.SQRT1_2));
        return this.mul(this.mul(x, 0.5), this.add(inner, 1));
      }
      const c = Math.sqrt(2 / Math.PI);
      const a = 0.044715;
      const x2 = this.mul(x, x);
      const t = this.tanh(this.mul(this.add(x, this.mul(this.mul(x2, x), a)), c));
      const half = this.mul(x, 0.5);
      const onePlusT = this.add(t, 1);
      const y = this.mul(half, onePlusT);
      // d/dx = ½(1 + t) + ½x·(1 − t²)·c·(1 + 3a·x²), from the forward's own x², t, ½x and 1 + t:
      // ten element-wise ops, where the chain rule through the parts takes about fifteen and a
      // five-way sum of x's gradient contributions (the largest tensors of a training step).
      this.setGradient(y, {
        inputs: [x],
        backward: (dy) =>
          this.scope('gelu_grad', () => {
            const sech2 = this.sub(1, this.mul(t, t));
            const slope = this.mul(this.mul(half, sech2), this.mul(this.add(this.mul(x2, 3 * a), 1), c));
            return [this.mul(dy, this.add(this.mul(onePlusT, 0.5), slope))];
          }),
      });
      return y;
    });
  }

  private uniqueScope(base: string): string {
    const full = this.uniqueName(this.scopePrefix + base);
    return full.slice(this.scopePrefix.length);
  }

  // ---- linear algebra and normalisation ----------------------------------------------------

  /** Matrix product with batch broadcasting (numpy `matmul`). */
  matmul(a: Value, b: Value): Value {
    if (a.dtype !== b.dtype) throw new InvalidArgumentError(`MatMul: dtypes differ (${a} vs ${b})`);
    return this.op('MatMul', [a, b]);
  }

  /** `alpha·op(A)·op(B) + beta·C` for 2-D A and B. */
  gemm(a: Value, b: Value, c?: Value, options: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Value {
    return this.op('Gemm', [a, b, c], {
      transA: options.transA ? 1 : 0,
      transB: options.transB ? 1 : 0,
      alpha: floatAttr(options.alpha ?? 1),
      beta: floatAttr(options.beta ?? 1),
    });
  }

  /**
   * N-d convolution (ONNX `Conv`, channels first): `x [N, C, ...]`, `w [M, C/group, ...k]`,
   * optional bias `[M]`. Explicit padding only: `pads` lists every axis's start, then every
   * axis's end (`[top, left, bottom, right]` in 2-d). `@dytrack/autograd` differentiates it.
   */
  conv(x: Value, w: Value, b?: Value, options: ConvOptions = {}): Value {
    return this.op('Conv', [x, w, b], convAttributes(options));
  }

  /**
   * N-d transposed convolution (ONNX `ConvTranspose`): `x [N, C, ...]`, `w [C, M/group, ...k]`;
   * `outputPadding` adds to the end of each spatial axis (below the stride).
   */
  convTranspose(x: Value, w: Value, b?: Value, options: ConvOptions & { readonly outputPadding?: readonly number[] } = {}): Value {
    return this.op('ConvTranspose', [x, w, b], { ...convAttributes(options), output_padding: options.outputPadding });
  }

  /** Softmax along `axis` (default last). */
  softmax(x: Value, axis = -1): Value {
    return this.op('Softmax', [x], { axis });
  }

  /** Log-softmax along `axis` (default last). */
  logSoftmax(x: Value, axis = -1): Value {
    return this.op('LogSoftmax', [x], { axis });
  }

  /**
   * `LayerNormalization` (opset 17+): normalises over the axes from `axis` to the last,
   * then `· scale + bias`.
   */
  layerNorm(x: Value, scale: Value, bias?: Value, options: { axis?: number; epsilon?: number } = {}): Value {
    return this.op('LayerNormalization', [x, scale, bias], { axis: options.axis ?? -1, epsilon: floatAttr(options.epsilon ?? 1e-5) });
  }

  // ---- reductions --------------------------------------------------------------------------

  private reduce(op: string, x: Value, axes: readonly number[] | undefined, keepDims: boolean): Value {
    return this.op(op, [x, axes === undefined ? undefined : this.ints(axes)], { keepdims: keepDims ? 1 : 0 });
  }
  /** Sum over `axes` (all axes when omitted). */
  reduceSum(x: Value, axes?: readonly number[], keepDims = true): Value {
    return this.reduce('ReduceSum', x, axes, keepDims);
  }
  /** Mean over `axes` (all axes when omitted). */
  reduceMean(x: Value, axes?: readonly number[], keepDims = true): Value {
    return this.reduce('ReduceMean', x, axes, keepDims);
  }
  /** Maximum over `axes` (all axes when omitted). */
  reduceMax(x: Value, axes?: readonly number[], keepDims = true): Value {
    return this.reduce('ReduceMax', x, axes, keepDims);
  }
  /** Minimum over `axes` (all axes when omitted). */
  reduceMin(x: Value, axes?: readonly number[], keepDims = true): Value {
    return this.reduce('ReduceMin', x, axes, keepDims);
  }

  // ---- shape ops ---------------------------------------------------------------------------

  /** Reshape; `shape` may hold one `-1` (inferred) and `0` (copy the input dim). */
  reshape(x: Value, shape: readonly number[] | Value): Value {
    return this.op('Reshape', [x, Array.isArray(shape) ? this.ints(shape as number[]) : (shape as Value)]);
  }
  /** Permutes axes (`perm[i]` is the input axis of output axis `i`); reverses them when omitted. */
  transpose(x: Value, perm?: readonly number[]): Value {
    return this.op('Transpose', [x], { perm: perm ? [...perm] : undefined });
  }
  /** Concatenates along `axis`. */
  concat(values: readonly Value[], axis: number): Value {
    if (values.length === 0) throw new InvalidArgumentError('Concat: needs at least one input');
    return this.op('Concat', values, { axis });
  }
  /** Splits along `axis` into pieces of the given sizes. */
  split(x: Value, sizes: readonly number[], axis = 0): Value[] {
    return this.op('Split', [x, this.ints(sizes)], { axis }, sizes.length);
  }
  /** Numpy-style slice: `starts`, `ends` per axis in `axes` (default 0..n-1), optional `steps`. */
  slice(x: Value, starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): Value {
    if (starts.length !== ends.length) throw new InvalidArgumentError('Slice: starts and ends differ in length');
    return this.op('Slice', [x, this.ints(starts), this.ints(ends), axes ? this.ints(axes) : undefined, steps ? this.ints(steps) : undefined]);
  }
  /** Gathers entries of `x` along `axis` at `indices` (int64 / int32 Value or plain numbers). */
  gather(x: Value, indices: Value | readonly number[], axis = 0): Value {
    const idx = Array.isArray(indices) ? this.ints(indices as number[]) : (indices as Value);
    return this.op('Gather', [x, idx], { axis });
  }
  /** Inserts size-1 axes at `axes` (of the output). */
  unsqueeze(x: Value, axes: readonly number[]): Value {
    return this.op('Unsqueeze', [x, this.ints(axes)]);
  }
  /** Removes size-1 axes (all of them when `axes` is omitted). */
  squeeze(x: Value, axes?: readonly number[]): Value {
    return this.op('Squeeze', [x, axes ? this.ints(axes) : undefined]);
  }
  /** Broadcasts `x` to `shape`. */
  expand(x: Value, shape: readonly number[]): Value {
    return this.op('Expand', [x, this.ints(shape)]);
  }
  /** The runtime shape of `x` as an int64 vector. */
  shapeOf(x: Value): Value {
    return this.op('Shape', [x]);
  }

  // ---- composition -------------------------------------------------------------------------

  /**
   * Copies another graph's nodes and initializers into this one under the current scope
   * plus `prefix`, feeding its inputs from `feeds` (by input name). Returns its outputs by
   * output name. The other graph is not modified.
   */
  inline(other: Graph, feeds: Readonly<Record<string, Value>>, prefix: string): Record<string, Value> {
    if (other === this) throw new InvalidArgumentError('inline: cannot inline a graph into itself');
    return this.scope(prefix, () => {
      const map = new Map<Value, Value>();
      for (const inp of other.inputs) {
        const fed = feeds[inp.name];
        if (!fed) throw new InvalidArgumentError(`inline ${prefix}: no feed for input ${inp.name}`);
        map.set(inp, this.own(fed, 'inline'));
      }
      for (const name of Object.keys(feeds)) {
        if (!other.inputs.some((v) => v.name === name)) throw new InvalidArgumentError(`inline ${prefix}: ${other.name} has no input ${name}`);
      }
      for (const init of other.initializers) map.set(init.value, this.initializer(init.value.name, init.dims, init.data));
      for (const node of other.nodes) {
        const ins = node.inputs.map((v) => {
          if (v === undefined) return undefined;
          const m = map.get(v);
          if (!m) throw new InvalidArgumentError(`inline ${prefix}: value ${v.name} has no producer`);
          return m;
        });
        const types = node.outputs.map((o) => ({ dtype: o.dtype, shape: o.shape }));
        const outs = this.addNode(node.opType, ins, { ...node.attributes }, undefined, types, node.name, node.outputs.length, node.domain);
        node.outputs.forEach((o, i) => {
          map.set(o, outs[i]);
          const c = other.constantValue(o);
          if (c) this._constants.set(outs[i], c);
        });
      }
      const result: Record<string, Value> = {};
      for (const o of other.outputs) result[o.name] = map.get(o)!;
      return result;
    });
  }
}

/** Normalises `axis` against the rank of `x` (which must be known). */
export function axisOf(x: Value, axis: number, op = 'op'): number {
  if (x.rank === undefined) throw new InvalidArgumentError(`${op}: rank of ${x.name} is unknown`);
  return normalizeAxis(axis, x.rank, op);
}



