import type { HostTensor, TensorDType, TensorShape } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';
import type { Attribute } from './attributes.js';
import { intAttr, intsAttr } from './attributes.js';
import { convGeometry, convOutputSize, convTransposeOutputSize } from './conv.js';
import { dtypeFromOnnx, elementAsNumber } from './dtype.js';

/** Element type and (when known) shape of one value. */
export interface ValueType {
  readonly dtype: TensorDType;
  /** `undefined` when the rank is unknown; string entries are symbolic dimensions. */
  readonly shape: TensorShape | undefined;
}

/** What a shape-inference rule sees of a node being added. */
export interface InferenceContext {
  readonly opType: string;
  readonly inputs: readonly (ValueType | undefined)[];
  readonly attributes: Readonly<Record<string, Attribute>>;
  readonly outputCount: number;
  /** Build-time data of input `i` when it is a constant or initializer, else `undefined`. */
  constantInput(i: number): HostTensor | undefined;
}

type Rule = (ctx: InferenceContext) => (ValueType | undefined)[];

/** Normalises a possibly negative axis against a rank; throws when out of range. */
export function normalizeAxis(axis: number, rank: number, op = 'op'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new InvalidArgumentError(`${op}: axis ${axis} out of range for rank ${rank}`);
  }
  return a;
}

/** Numpy-style broadcast of shapes; `undefined` when any rank is unknown. Throws on a definite mismatch. */
export function broadcastShapes(shapes: readonly (TensorShape | undefined)[], op = 'op'): TensorShape | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const known = shapes as readonly TensorShape[];
  const rank = Math.max(0, ...known.map((s) => s.length));
  const out: (number | string)[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: number | string = 1;
    for (const s of known) {
      const d = s[i - (rank - s.length)];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) {
        if (typeof dim === 'number' && typeof d === 'number') {
          throw new InvalidArgumentError(`${op}: cannot broadcast shapes ${known.map((k) => `[${k.join(',')}]`).join(' and ')}`);
        }
        dim = `${op}_bcast_${i}`;
      }
    }
    out.push(dim);
  }
  return out;
}

/** Number of elements of a static shape, or `undefined` when a dimension is symbolic. */
export function staticSize(shape: TensorShape | undefined): number | undefined {
  if (!shape) return undefined;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}

/** True when every dimension is a number. */
export function isStaticShape(shape: TensorShape | undefined): shape is readonly number[] {
  return shape !== undefined && shape.every((d) => typeof d === 'number');
}

function constantInts(ctx: InferenceContext, i: number): number[] | undefined {
  const t = ctx.constantInput(i);
  if (!t) return undefined;
  const out: number[] = [];
  for (let k = 0; k < t.data.length; k++) out.push(elementAsNumber(t.data, k));
  return out;
}

const same: Rule = (ctx) => [ctx.inputs[0]];
const first = (ctx: InferenceContext): ValueType => {
  const v = ctx.inputs[0];
  if (!v) throw new InvalidArgumentError(`${ctx.opType}: missing first input`);
  return v;
};
const broadcast: Rule = (ctx) => [
  { dtype: first(ctx).dtype, shape: broadcastShapes(ctx.inputs.map((v) => v?.shape), ctx.opType) },
];
const compare: Rule = (ctx) => [{ dtype: 'bool', shape: broadcastShapes(ctx.inputs.map((v) => v?.shape), ctx.opType) }];

function reduce(ctx: InferenceContext): (ValueType | undefined)[] {
  const x = first(ctx);
  const keep = intAttr(ctx.attributes, 'keepdims', 1) === 1;
  const noopEmpty = intAttr(ctx.attributes, 'noop_with_empty_axes', 0) === 1;
  let axes: number[] | undefined = ctx.inputs[1] ? constantInts(ctx, 1) : [];
  const attrAxes = intsAttr(ctx.attributes, 'axes');
  if (attrAxes) axes = [...attrAxes];
  if (axes !== undefined && axes.length === 0 && !noopEmpty && !keep) return [{ dtype: x.dtype, shape: [] }];
  if (!x.shape || axes === undefined) return [{ dtype: x.dtype, shape: undefined }];
  const rank = x.shape.length;
  if (axes.length === 0 && noopEmpty) return [x];
  const set = new Set(axes.length === 0 ? x.shape.map((_, i) => i) : axes.map((a) => normalizeAxis(a, rank, ctx.opType)));
  const shape: (number | string)[] = [];
  x.shape.forEach((d, i) => {
    if (!set.has(i)) shape.push(d);
    else if (keep) shape.push(1);
  });
  return [{ dtype: x.dtype, shape }];
}

/** ArgMax / ArgMin: one `axis` attribute (default 0), `keepdims` default 1, int64 output. */
function argReduce(ctx: InferenceContext): (ValueType | undefined)[] {
  const x = first(ctx);
  if (!x.shape) return [{ dtype: 'int64', shape: undefined }];
  const axis = normalizeAxis(intAttr(ctx.attributes, 'axis', 0), x.shape.length, ctx.opType);
  const keep = intAttr(ctx.attributes, 'keepdims', 1) === 1;
  const shape = keep ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
  return [{ dtype: 'int64', shape }];
}

function matmulShape(a: TensorShape | undefined, b: TensorShape | undefined): TensorShape | undefined {
  if (!a || !b) return undefined;
  if (a.length === 0 || b.length === 0) throw new InvalidArgumentError('MatMul: scalar operands are not allowed');
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const k1 = a2[a2.length - 1];
  const k2 = b2[b2.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) {
    throw new InvalidArgumentError(`MatMul: inner dimensions differ ([${a.join(',')}] x [${b.join(',')}])`);
  }
  const batch = broadcastShapes([a2.slice(0, -2), b2.slice(0, -2)], 'MatMul') ?? [];
  const out: (number | string)[] = [...batch];
  if (a.length !== 1) out.push(a2[a2.length - 2]);
  if (b.length !== 1) out.push(b2[b2.length - 1]);
  return out;
}

function sliceDim(dim: number, start: number, end: number, step: number): number {
  const clampIdx = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clampIdx(s, 0, dim);
    e = clampIdx(e, 0, dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clampIdx(s, -1, dim - 1);
  e = clampIdx(e, -1, dim - 1);
  return Math.max(0, Math.ceil((e - s) / step));
}

/** Output type of Conv (`[N, M, ...]` from `w [M, C/group, ...k]`) or ConvTranspose (`w [C, M/group, ...k]`). */
function convShape(ctx: InferenceContext, transpose: boolean): ValueType {
  const x = first(ctx);
  const w = ctx.inputs[1]?.shape;
  if (!x.shape || !w || !isStaticShape(w)) return { dtype: x.dtype, shape: undefined };
  const op = ctx.opType;
  if (x.shape.length !== w.length) throw new InvalidArgumentError(`${op}: input [${x.shape.join(',')}] and weight [${w.join(',')}] differ in rank`);
  const geo = convGeometry(op, ctx.attributes, w);
  const channels = x.shape[1]!;
  const expected = transpose ? w[0]! : w[1]! * geo.group;
  if (typeof channels === 'number' && channels !== expected) {
    throw new InvalidArgumentError(`${op}: input has ${channels} channels, the weight [${w.join(',')}] with group ${geo.group} expects ${expected}`);
  }
  const outChannels = transpose ? w[1]! * geo.group : w[0]!;
  const outputShape = transpose ? intsAttr(ctx.attributes, 'output_shape') : undefined;
  const outputPadding = transpose ? intsAttr(ctx.attributes, 'output_padding') : undefined;
  const spatial = x.shape.slice(2).map((d, i) => {
    if (outputShape) return outputShape[i]!;
    if (typeof d !== 'number') return `${op}_${i}`;
    const size = transpose
      ? convTransposeOutputSize(d, geo.kernel[i]!, geo.strides[i]!, geo.dilations[i]!, geo.padsBegin[i]!, geo.padsEnd[i]!, outputPadding?.[i] ?? 0)
      : convOutputSize(d, geo.kernel[i]!, geo.strides[i]!, geo.dilations[i]!, geo.padsBegin[i]!, geo.padsEnd[i]!);
    if (size < 1) throw new InvalidArgumentError(`${op}: spatial axis ${i} of [${x.shape!.join(',')}] gives an empty output`);
    return size;
  });
  return { dtype: x.dtype, shape: [x.shape[0]!, outChannels, ...spatial] };
}

const RULES: Record<string, Rule> = {
  Identity: same,
  Neg: same,
  Abs: same,
  Exp: same,
  Log: same,
  Sqrt: same,
  Reciprocal: same,
  Erf: same,
  Tanh: same,
  Sigmoid: same,
  Relu: same,
  Softmax: same,
  LogSoftmax: same,
  Sign: same,
  Floor: same,
  Ceil: same,
  Round: same,
  Clip: same,
  LeakyRelu: same,
  Softplus: same,
  Softsign: same,
  Elu: same,
  Selu: same,
  Celu: same,
  HardSigmoid: same,
  HardSwish: same,
  Mish: same,
  Sin: same,
  Cos: same,
  IsNaN: (ctx) => [{ dtype: 'bool', shape: first(ctx).shape }],
  IsInf: (ctx) => [{ dtype: 'bool', shape: first(ctx).shape }],
  Add: broadcast,
  Sub: broadcast,
  Mul: broadcast,
  Div: broadcast,
  Pow: (ctx) => [{ dtype: first(ctx).dtype, shape: broadcastShapes([ctx.inputs[0]?.shape, ctx.inputs[1]?.shape], 'Pow') }],
  Max: broadcast,
  Min: broadcast,
  Sum: broadcast,
  Mean: broadcast,
  Equal: compare,
  Less: compare,
  LessOrEqual: compare,
  Greater: compare,
  GreaterOrEqual: compare,
  And: compare,
  Or: compare,
  Not: same,
  Where: (ctx) => [
    { dtype: ctx.inputs[1]?.dtype ?? first(ctx).dtype, shape: broadcastShapes(ctx.inputs.map((v) => v?.shape), 'Where') },
  ],
  Cast: (ctx) => [{ dtype: dtypeFromOnnx(intAttr(ctx.attributes, 'to', 1)), shape: first(ctx).shape }],
  Shape: (ctx) => [{ dtype: 'int64', shape: first(ctx).shape ? [first(ctx).shape!.length] : ['rank'] }],
  Size: () => [{ dtype: 'int64', shape: [] }],
  ReduceSum: reduce,
  ReduceMean: reduce,
  ReduceMax: reduce,
  ReduceMin: reduce,
  ReduceProd: reduce,
  ReduceSumSquare: reduce,
  ReduceL2: reduce,
  ReduceLogSumExp: reduce,
  ArgMax: (ctx) => argReduce(ctx),
  ArgMin: (ctx) => argReduce(ctx),
  MatMul: (ctx) => [{ dtype: first(ctx).dtype, shape: matmulShape(ctx.inputs[0]?.shape, ctx.inputs[1]?.shape) }],
  Gemm: (ctx) => {
    const a = ctx.inputs[0]?.shape;
    const b = ctx.inputs[1]?.shape;
    if (!a || !b) return [{ dtype: first(ctx).dtype, shape: undefined }];
    const m = intAttr(ctx.attributes, 'transA', 0) ? a[1] : a[0];
    const n = intAttr(ctx.attributes, 'transB', 0) ? b[0] : b[1];
    return [{ dtype: first(ctx).dtype, shape: [m, n] }];
  },
  Conv: (ctx) => [convShape(ctx, false)],
  ConvTranspose: (ctx) => [convShape(ctx, true)],
  LayerNormalization: (ctx) => {
    const x = first(ctx);
    const outs: (ValueType | undefined)[] = [x];
    if (ctx.outputCount > 1) {
      const stash = dtypeFromOnnx(intAttr(ctx.attributes, 'stash_type', 1));
      let shape: TensorShape | undefined;
      if (x.shape) {
        const axis = normalizeAxis(intAttr(ctx.attributes, 'axis', -1), x.shape.length, 'LayerNormalization');
        shape = x.shape.map((d, i) => (i < axis ? d : 1));
      }
      outs.push({ dtype: stash, shape }, { dtype: stash, shape });
    }
    return outs;
  },
  Transpose: (ctx) => {
    const x = first(ctx);
    if (!x.shape) return [x];
    const perm = intsAttr(ctx.attributes, 'perm') ?? x.shape.map((_, i) => x.shape!.length - 1 - i);
    if (perm.length !== x.shape.length) throw new InvalidArgumentError(`Transpose: perm [${perm.join(',')}] does not match rank ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape![p]) }];
  },
  Reshape: (ctx) => {
    const x = first(ctx);
    const target = constantInts(ctx, 1);
    if (!target) return [{ dtype: x.dtype, shape: undefined }];
    const allowZero = intAttr(ctx.attributes, 'allowzero', 0) === 1;
    const shape: (number | string)[] = target.map((d, i) => (d === 0 && !allowZero ? (x.shape?.[i] ?? `reshape_${i}`) : d));
    const inferIdx = shape.indexOf(-1);
    if (inferIdx >= 0) {
      const total = staticSize(x.shape);
      const rest = staticSize(shape.filter((_, i) => i !== inferIdx));
      if (total !== undefined && rest !== undefined) {
        if (rest === 0 || total % rest !== 0) throw new InvalidArgumentError(`Reshape: cannot reshape [${x.shape!.join(',')}] to [${target.join(',')}]`);
        shape[inferIdx] = total / rest;
      } else shape[inferIdx] = 'reshape_inferred';
    } else {
      const total = staticSize(x.shape);
      const want = staticSize(shape);
      if (total !== undefined && want !== undefined && total !== want) {
        throw new InvalidArgumentError(`Reshape: cannot reshape [${x.shape!.join(',')}] (${total} elements) to [${target.join(',')}]`);
      }
    }
    return [{ dtype: x.dtype, shape }];
  },
  Expand: (ctx) => {
    const x = first(ctx);
    const target = constantInts(ctx, 1);
    if (!target) return [{ dtype: x.dtype, shape: undefined }];
    return [{ dtype: x.dtype, shape: broadcastShapes([x.shape, target], 'Expand') }];
  },
  Concat: (ctx) => {
    const x = first(ctx);
    if (ctx.inputs.some((v) => !v?.shape)) return [{ dtype: x.dtype, shape: undefined }];
    const rank = x.shape!.length;
    const axis = normalizeAxis(intAttr(ctx.attributes, 'axis', 0), rank, 'Concat');
    let total: number | string = 0;
    for (const v of ctx.inputs) {
      if (v!.shape!.length !== rank) throw new InvalidArgumentError('Concat: inputs have different ranks');
      const d = v!.shape![axis];
      total = typeof total === 'number' && typeof d === 'number' ? total + d : 'concat';
    }
    const shape = [...x.shape!];
    shape[axis] = total;
    return [{ dtype: x.dtype, shape }];
  },
  Split: (ctx) => {
    const x = first(ctx);
    const n = ctx.outputCount;
    if (!x.shape) return Array.from({ length: n }, () => ({ dtype: x.dtype, shape: undefined }));
    const axis = normalizeAxis(intAttr(ctx.attributes, 'axis', 0), x.shape.length, 'Split');
    let sizes = ctx.inputs[1] ? constantInts(ctx, 1) : undefined;
    const dim = x.shape[axis];
    if (!sizes && typeof dim === 'number') {
      const chunk = Math.ceil(dim / n);
      sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
    }
    return Array.from({ length: n }, (_, i) => {
      const shape = [...x.shape!];
      shape[axis] = sizes ? sizes[i] : `split_${i}`;
      return { dtype: x.dtype, shape };
    });
  },
  Slice: (ctx) => {
    const x = first(ctx);
    const starts = constantInts(ctx, 1);
    const ends = constantInts(ctx, 2);
    const axes = ctx.inputs[3] ? constantInts(ctx, 3) : starts?.map((_, i) => i);
    const steps = ctx.inputs[4] ? constantInts(ctx, 4) : starts?.map(() => 1);
    if (!x.shape || !starts || !ends || !axes || !steps) return [{ dtype: x.dtype, shape: undefined }];
    const shape = [...x.shape];
    axes.forEach((a, i) => {
      const axis = normalizeAxis(a, shape.length, 'Slice');
      const d = shape[axis];
      shape[axis] = typeof d === 'number' ? sliceDim(d, starts[i], ends[i], steps[i]) : `slice_${axis}`;
    });
    return [{ dtype: x.dtype, shape }];
  },
  Gather: (ctx) => {
    const x = first(ctx);
    const idx = ctx.inputs[1];
    if (!x.shape || !idx?.shape) return [{ dtype: x.dtype, shape: undefined }];
    const axis = normalizeAxis(intAttr(ctx.attributes, 'axis', 0), x.shape.length, 'Gather');
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)] }];
  },
  Unsqueeze: (ctx) => {
    const x = first(ctx);
    const axes = constantInts(ctx, 1);
    if (!x.shape || !axes) return [{ dtype: x.dtype, shape: undefined }];
    const rank = x.shape.length + axes.length;
    const set = new Set(axes.map((a) => normalizeAxis(a, rank, 'Unsqueeze')));
    const shape: (number | string)[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(set.has(i) ? 1 : x.shape[k++]);
    return [{ dtype: x.dtype, shape }];
  },
  Squeeze: (ctx) => {
    const x = first(ctx);
    if (!x.shape) return [x];
    const axes = ctx.inputs[1] ? constantInts(ctx, 1) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    if (!axes) return [{ dtype: x.dtype, shape: undefined }];
    const set = new Set(axes.map((a) => normalizeAxis(a, x.shape!.length, 'Squeeze')));
    for (const a of set) {
      const d = x.shape[a];
      if (typeof d === 'number' && d !== 1) throw new InvalidArgumentError(`Squeeze: axis ${a} has size ${d}, not 1`);
    }
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !set.has(i)) }];
  },
  Pad: (ctx) => {
    const x = first(ctx);
    const pads = constantInts(ctx, 1);
    if (!x.shape || !pads) return [{ dtype: x.dtype, shape: undefined }];
    const rank = x.shape.length;
    const axes = ctx.inputs[3] ? constantInts(ctx, 3) : x.shape.map((_, i) => i);
    if (!axes) return [{ dtype: x.dtype, shape: undefined }];
    if (pads.length !== 2 * axes.length) throw new InvalidArgumentError(`Pad: ${pads.length} pads for ${axes.length} axes`);
    const shape = [...x.shape];
    axes.forEach((a, k) => {
      const axis = normalizeAxis(a, rank, 'Pad');
      const d = shape[axis];
      shape[axis] = typeof d === 'number' ? d + pads[k] + pads[k + axes.length] : `pad_${axis}`;
    });
    return [{ dtype: x.dtype, shape }];
  },
  ScatterND: same,
  ScatterElements: same,
  Tile: (ctx) => {
    const x = first(ctx);
    const reps = constantInts(ctx, 1);
    if (!x.shape || !reps) return [{ dtype: x.dtype, shape: undefined }];
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? d * reps[i] : `tile_${i}`)) }];
  },
  Constant: (ctx) => {
    const v = ctx.attributes['value'];
    if (v?.type !== 'tensor') throw new InvalidArgumentError('Constant: needs a tensor `value` attribute');
    return [{ dtype: v.value.dtype, shape: v.value.dims }];
  },
  ConstantOfShape: (ctx) => {
    const dims = constantInts(ctx, 0);
    const v = ctx.attributes['value'];
    const dtype = v?.type === 'tensor' ? v.value.dtype : 'float32';
    return [{ dtype, shape: dims }];
  },
};

/**
 * Infers output types for a node. Ops without a rule produce outputs of the first
 * input's dtype and unknown shape (callers can pass explicit output types instead).
 */
export function inferOutputTypes(ctx: InferenceContext): (ValueType | undefined)[] {
  const rule = RULES[ctx.opType];
  if (!rule) return [];
  return rule(ctx);
}
