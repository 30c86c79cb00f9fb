import { InvalidArgumentError } from '@dytrack/core';
import type { Graph, GraphNode, Value } from '@dytrack/onnx';
import { convGeometry, elementAsNumber, intAttr, intsAttr, numberAttr, normalizeAxis } from '@dytrack/onnx';

/** What a {@link GradientRule} receives for one node. */
export interface GradientContext {
  /** The graph being extended with backward nodes. */
  readonly g: Graph;
  /** The forward node. */
  readonly node: GraphNode;
  /** Gradient of the loss w.r.t. each node output; `undefined` when that output does not reach the loss. */
  readonly dy: readonly (Value | undefined)[];
  /** Whether each input needs a gradient (false for non-float inputs and inputs off the path to `wrt`). */
  readonly needsGrad: readonly boolean[];
}

/**
 * A vector-Jacobian product written as ONNX ops: given the output gradients, returns the
 * gradient of each input (same shape as that input), or `undefined` when an input gets
 * none. Rules may skip inputs whose `needsGrad` is false.
 */
export type GradientRule = (ctx: GradientContext) => readonly (Value | undefined)[];

/** Gradient rules by ONNX op type (default domain). */
export type GradientRules = Readonly<Record<string, GradientRule>>;

/**
 * Sums a gradient over broadcast axes so it has `shape` (numpy broadcasting in reverse).
 * Both shapes must be static.
 */
export function sumToShape(g: Graph, grad: Value, shape: readonly number[]): Value {
  const from = grad.staticShape();
  if (from.length === shape.length && from.every((d, i) => d === shape[i])) return grad;
  const lead = from.length - shape.length;
  if (lead < 0) throw new InvalidArgumentError(`cannot reduce gradient [${from.join(',')}] to [${shape.join(',')}]`);
  const axes: number[] = [];
  for (let i = 0; i < from.length; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && from[i] !== 1) axes.push(i);
    else if (shape[i - lead] !== from[i]) throw new InvalidArgumentError(`cannot reduce gradient [${from.join(',')}] to [${shape.join(',')}]`);
  }
  let out = axes.length ? g.reduceSum(grad, axes, true) : grad;
  if (lead > 0 || out.staticShape().length !== shape.length) out = g.reshape(out, [...shape]);
  return out;
}

/** A zero tensor of the given static shape and float dtype. */
export function zeros(g: Graph, shape: readonly number[], dtype: Value['dtype']): Value {
  return g.expand(g.scalar(0, dtype), [...shape]);
}

/** A zero tensor shaped like `v`. */
export function zerosLike(g: Graph, v: Value): Value {
  return zeros(g, v.staticShape(), v.dtype);
}

function input(node: GraphNode, i: number): Value {
  const v = node.inputs[i];
  if (!v) throw new InvalidArgumentError(`${node.opType} ${node.name}: missing input ${i}`);
  return v;
}

function constInts(g: Graph, node: GraphNode, i: number): number[] | undefined {
  const v = node.inputs[i];
  if (!v) return undefined;
  const c = g.constantValue(v);
  if (!c) throw new InvalidArgumentError(`${node.opType} ${node.name}: input ${i} must be a build-time constant for differentiation`);
  return Array.from({ length: c.data.length }, (_, k) => elementAsNumber(c.data, k));
}

const unb = (g: Graph, grad: Value, like: Value): Value => sumToShape(g, grad, like.staticShape());

/** Swaps the last two axes. */
function transposeLast2(g: Graph, x: Value): Value {
  const r = x.staticShape().length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return g.transpose(x, perm);
}

/** Expands a reduced gradient back over the reduced axes. */
function unreduce(g: Graph, node: GraphNode, dy: Value): { grad: Value; axes: number[]; count: number } {
  const x = input(node, 0);
  const shape = x.staticShape();
  let axes = constInts(g, node, 1) ?? intsAttr(node.attributes, 'axes')?.slice() ?? [];
  if (axes.length === 0) {
    if (intAttr(node.attributes, 'noop_with_empty_axes', 0) === 1) return { grad: dy, axes: [], count: 1 };
    axes = shape.map((_, i) => i);
  }
  axes = axes.map((a) => normalizeAxis(a, shape.length, node.opType));
  const keepShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const kept = intAttr(node.attributes, 'keepdims', 1) === 1 ? dy : g.reshape(dy, keepShape);
  const count = axes.reduce((n, a) => n * shape[a], 1);
  return { grad: g.expand(kept, shape), axes, count };
}

function elementwise(f: (ctx: GradientContext, dy: Value, x: Value, y: Value) => Value): GradientRule {
  return (ctx) => [f(ctx, ctx.dy[0]!, input(ctx.node, 0), ctx.node.outputs[0])];
}

/** Gradient of MatMul with numpy semantics (1-D operands, batch broadcasting). */
const matmulRule: GradientRule = ({ g, node, dy, needsGrad }) => {
  const a = input(node, 0);
  const b = input(node, 1);
  let d = dy[0]!;
  let a2 = a;
  let b2 = b;
  if (a.staticShape().length === 1) {
    a2 = g.unsqueeze(a, [0]);
    d = g.unsqueeze(d, [-2]);
  }
  if (b.staticShape().length === 1) {
    b2 = g.unsqueeze(b, [1]);
    d = g.unsqueeze(d, [-1]);
  }
  const da = needsGrad[0] ? unb(g, g.matmul(d, transposeLast2(g, b2)), a2) : undefined;
  // A weight shared across the batch (b 2-D, a batched) gets its gradient from one GEMM over
  // all rows, [K, rows] x [rows, N], instead of a batched product summed over the batch after.
  const aShape = a2.staticShape();
  const flat = b2.staticShape().length === 2 && aShape.length > 2;
  const db = !needsGrad[1]
    ? undefined
    : flat
      ? g.matmul(g.transpose(g.reshape(a2, [-1, aShape[aShape.length - 1]!]), [1, 0]), g.reshape(d, [-1, b2.staticShape()[1]!]))
      : unb(g, g.matmul(transposeLast2(g, a2), d), b2);
  return [da && a2 !== a ? g.reshape(da, a.staticShape()) : da, db && b2 !== b ? g.reshape(db, b.staticShape()) : db];
};

const gemmRule: GradientRule = ({ g, node, dy, needsGrad }) => {
  const a = input(node, 0);
  const b = input(node, 1);
  const c = node.inputs[2];
  const transA = intAttr(node.attributes, 'transA', 0) === 1;
  const transB = intAttr(node.attributes, 'transB', 0) === 1;
  const alpha = numberAttr(node.attributes, 'alpha', 1);
  const beta = numberAttr(node.attributes, 'beta', 1);
  const d = alpha === 1 ? dy[0]! : g.mul(dy[0]!, alpha);
  const opA = transA ? g.transpose(a, [1, 0]) : a;
  const opB = transB ? g.transpose(b, [1, 0]) : b;
  let da: Value | undefined;
  let db: Value | undefined;
  if (needsGrad[0]) da = transA ? g.matmul(opB, g.transpose(d, [1, 0])) : g.matmul(d, g.transpose(opB, [1, 0]));
  if (needsGrad[1]) db = transB ? g.matmul(g.transpose(d, [1, 0]), opA) : g.matmul(g.transpose(opA, [1, 0]), d);
  const dc = c && needsGrad[2] ? unb(g, beta === 1 ? dy[0]! : g.mul(dy[0]!, beta), c) : undefined;
  return [da, db, dc];
};

/**
 * Gradient of Conv (any rank, strides, dilations, explicit pads, groups). The input's is the
 * transposed convolution of `dy` with the same weight and geometry, its output padded to the
 * input's size. The weight's is a convolution of the input with `dy` as the kernel, batch and
 * channel axes swapped (`x [C, N, ...]` by `dy [M, N, ...]`, stride and dilation exchanged), then
 * cut to the kernel's size; with groups it is computed for every channel pair and the pairs
 * within a group are kept.
 */
const convRule: GradientRule = ({ g, node, dy, needsGrad }) => {
  const x = input(node, 0);
  const w = input(node, 1);
  const b = node.inputs[2];
  const d = dy[0]!;
  const xs = x.staticShape();
  const ws = w.staticShape();
  const ys = d.staticShape();
  const geo = convGeometry('Conv', node.attributes, ws);
  const n = ws.length - 2;
  const spatial = Array.from({ length: n }, (_, i) => i + 2);
  const pads = [...geo.padsBegin, ...geo.padsEnd];
  let dx: Value | undefined;
  if (needsGrad[0]) {
    const outputPadding = spatial.map((a, i) => {
      const covered = geo.strides[i]! * (ys[a]! - 1) + (geo.kernel[i]! - 1) * geo.dilations[i]! + 1 - geo.padsBegin[i]! - geo.padsEnd[i]!;
      return xs[a]! - covered;
    });
    dx = g.convTranspose(d, w, undefined, { strides: geo.strides, dilations: geo.dilations, pads, group: geo.group, outputPadding });
  }
  let dw: Value | undefined;
  if (needsGrad[1]) {
    const swap = [1, 0, ...spatial];
    // [C, M, ...] holding every (input channel, output channel) pair, possibly longer than the kernel.
    let pairs = g.conv(g.transpose(x, swap), g.transpose(d, swap), undefined, { strides: geo.dilations, dilations: geo.strides, pads });
    const ps = pairs.staticShape();
    if (spatial.some((a) => ps[a] !== ws[a])) pairs = g.slice(pairs, spatial.map(() => 0), spatial.map((a) => ws[a]!), spatial);
    const G = geo.group;
    const [M, Cg] = [ws[0]!, ws[1]!];
    if (G === 1) {
      dw = g.transpose(pairs, swap);
    } else {
      // [G, C/G, G, M/G, ...k]: keep the blocks where the input and output groups agree.
      const blocks = g.reshape(pairs, [G, Cg, G, M / G, ...geo.kernel]);
      const eye = Array.from({ length: G * G }, (_, k) => (k % (G + 1) === 0 ? 1 : 0));
      const mask = g.constant(eye, [G, 1, G, 1, ...geo.kernel.map(() => 1)], x.dtype);
      const own = g.reduceSum(g.mul(blocks, mask), [2], false); // [G, C/G, M/G, ...k]
      dw = g.reshape(g.transpose(own, [0, 2, 1, ...geo.kernel.map((_, i) => i + 3)]), ws);
    }
  }
  const db = b && needsGrad[2] ? g.reduceSum(d, [0, ...spatial], false) : undefined;
  return [dx, dw, db];
};

const layerNormRule: GradientRule = ({ g, node, dy, needsGrad }) => {
  const x = input(node, 0);
  const scale = input(node, 1);
  const bias = node.inputs[2];
  const shape = x.staticShape();
  const axis = normalizeAxis(intAttr(node.attributes, 'axis', -1), shape.length, 'LayerNormalization');
  const eps = numberAttr(node.attributes, 'epsilon', 1e-5);
  const axes = shape.map((_, i) => i).filter((i) => i >= axis);
  const d = dy[0]!;
  // Recomputes the statistics rather than exporting them: LayerNormalization's Mean and
  // InvStdDev outputs are in `stash_type` precision (float32 by default), too coarse for float64 checks.
  const mean = g.reduceMean(x, axes);
  const xc = g.sub(x, mean);
  const rstd = g.div(1, g.sqrt(g.add(g.reduceMean(g.mul(xc, xc), axes), eps)));
  const xhat = g.mul(xc, rstd);
  const dScale = needsGrad[1] ? unb(g, g.mul(d, xhat), scale) : undefined;
  const dBias = bias && needsGrad[2] ? unb(g, d, bias) : undefined;
  let dx: Value | undefined;
  if (needsGrad[0]) {
    const gx = g.mul(d, scale);
    const t = g.sub(g.sub(gx, g.reduceMean(gx, axes)), g.mul(xhat, g.reduceMean(g.mul(gx, xhat), axes)));
    dx = g.mul(t, rstd);
  }
  return [dx, dScale, dBias];
};

const sliceRule: GradientRule = ({ g, node, dy }) => {
  const x = input(node, 0);
  const shape = x.staticShape();
  const starts = constInts(g, node, 1)!;
  const ends = constInts(g, node, 2)!;
  const axes = (constInts(g, node, 3) ?? starts.map((_, i) => i)).map((a) => normalizeAxis(a, shape.length, 'Slice'));
  const steps = constInts(g, node, 4) ?? starts.map(() => 1);
  // Selected input index for each position along each sliced axis.
  const pads = new Array<number>(2 * shape.length).fill(0);
  let unitSteps = true;
  const picks: number[][] = shape.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((axis, k) => {
    const dim = shape[axis];
    const step = steps[k];
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let s = starts[k] < 0 ? starts[k] + dim : starts[k];
    let e = ends[k] < 0 ? ends[k] + dim : ends[k];
    const idx: number[] = [];
    if (step > 0) {
      s = clamp(s, 0, dim);
      e = clamp(e, 0, dim);
      for (let i = s; i < e; i += step) idx.push(i);
    } else {
      s = clamp(s, -1, dim - 1);
      e = clamp(e, -1, dim - 1);
      for (let i = s; i > e; i += step) idx.push(i);
    }
    picks[axis] = idx;
    if (step !== 1) unitSteps = false;
    pads[axis] = idx.length ? idx[0] : 0;
    pads[axis + shape.length] = dim - (idx.length ? idx[idx.length - 1] + 1 : 0);
  });
  if (unitSteps) return [g.op('Pad', [dy[0]!, g.ints(pads)], { mode: 'constant' })];
  // Strided or reversed slices: undo each axis with a Gather from the gradient padded by one zero.
  let grad = dy[0]!;
  for (const axis of axes) {
    const idx = picks[axis];
    const dim = shape[axis];
    const zeroShape = grad.staticShape().map((d, i) => (i === axis ? 1 : d));
    const padded = g.concat([grad, zeros(g, zeroShape, grad.dtype)], axis);
    const where = new Array<number>(dim).fill(idx.length);
    idx.forEach((src, j) => (where[src] = j));
    grad = g.gather(padded, where, axis);
  }
  return [grad];
};

const gatherRule: GradientRule = ({ g, node, dy }) => {
  const x = input(node, 0);
  const indices = input(node, 1);
  const shape = x.staticShape();
  const axis = normalizeAxis(intAttr(node.attributes, 'axis', 0), shape.length, 'Gather');
  const idxShape = indices.staticShape();
  const pre = shape.slice(0, axis);
  const post = shape.slice(axis + 1);
  const r = idxShape.length;
  // dy: pre + idx + post -> idx + pre + post, scatter-add into [dim] + pre + post.
  const perm = [...idxShape.map((_, i) => pre.length + i), ...pre.map((_, i) => i), ...post.map((_, i) => pre.length + r + i)];
  const updates = g.transpose(dy[0]!, perm);
  const idx64 = indices.dtype === 'int64' ? indices : g.cast(indices, 'int64');
  // Negative indices count from the end, as in Gather.
  const wrapped = g.where(g.less(idx64, g.scalar(0, 'int64')), g.add(idx64, g.scalar(shape[axis], 'int64')), idx64);
  const target = zeros(g, [shape[axis], ...pre, ...post], dy[0]!.dtype);
  const scattered = g.op('ScatterND', [target, g.unsqueeze(wrapped, [-1]), updates], { reduction: 'add' });
  const back = [...pre.map((_, i) => i + 1), 0, ...post.map((_, i) => pre.length + 1 + i)];
  return [g.transpose(scattered, back), undefined];
};

const splitRule: GradientRule = ({ g, node, dy }) => {
  const x = input(node, 0);
  const axis = normalizeAxis(intAttr(node.attributes, 'axis', 0), x.staticShape().length, 'Split');
  const parts = node.outputs.map((o, i) => dy[i] ?? zerosLike(g, o));
  return [g.concat(parts, axis), undefined];
};

const concatRule: GradientRule = ({ g, node, dy, needsGrad }) => {
  const first = input(node, 0);
  const axis = normalizeAxis(intAttr(node.attributes, 'axis', 0), first.staticShape().length, 'Concat');
  const sizes = node.inputs.map((v) => v!.staticShape()[axis]);
  const parts = sizes.length === 1 ? [dy[0]!] : g.split(dy[0]!, sizes, axis);
  return parts.map((p, i) => (needsGrad[i] ? p : undefined));
};

const minMaxRule = (isMax: boolean): GradientRule => ({ g, node, dy, needsGrad }) => {
  if (node.inputs.length === 1) return [dy[0]];
  if (node.inputs.length !== 2) throw new InvalidArgumentError(`${node.opType} ${node.name}: gradients support 1 or 2 inputs`);
  const a = input(node, 0);
  const b = input(node, 1);
  // Ties send the gradient to the first input.
  const pickA = isMax ? g.op('GreaterOrEqual', [a, b]) : g.op('LessOrEqual', [a, b]);
  const d = dy[0]!;
  return [
    needsGrad[0] ? unb(g, g.where(pickA, d, 0), a) : undefined,
    needsGrad[1] ? unb(g, g.where(pickA, 0, d), b) : undefined,
  ];
};

const reshapeLike: GradientRule = ({ g, node, dy }) => [g.reshape(dy[0]!, input(node, 0).staticShape())];

/**
 * The built-in vector-Jacobian rules. Every op the DyTrack architecture and its losses
 * use is covered; an op on the path from parameters to loss that is missing here makes
 * {@link gradients} throw {@link NoGradientRuleError} at build time.
 */
export const defaultGradientRules: GradientRules = {
  Identity: ({ dy }) => [dy[0]],
  Neg: ({ g, dy }) => [g.neg(dy[0]!)],
  Add: ({ g, node, dy, needsGrad }) => [
    needsGrad[0] ? unb(g, dy[0]!, input(node, 0)) : undefined,
    needsGrad[1] ? unb(g, dy[0]!, input(node, 1)) : undefined,
  ],
  Sub: ({ g, node, dy, needsGrad }) => [
    needsGrad[0] ? unb(g, dy[0]!, input(node, 0)) : undefined,
    needsGrad[1] ? unb(g, g.neg(dy[0]!), input(node, 1)) : undefined,
  ],
  Mul: ({ g, node, dy, needsGrad }) => {
    const a = input(node, 0);
    const b = input(node, 1);
    return [needsGrad[0] ? unb(g, g.mul(dy[0]!, b), a) : undefined, needsGrad[1] ? unb(g, g.mul(dy[0]!, a), b) : undefined];
  },
  Div: ({ g, node, dy, needsGrad }) => {
    const a = input(node, 0);
    const b = input(node, 1);
    const y = node.outputs[0];
    return [
      needsGrad[0] ? unb(g, g.div(dy[0]!, b), a) : undefined,
      needsGrad[1] ? unb(g, g.neg(g.div(g.mul(dy[0]!, y), b)), b) : undefined,
    ];
  },
  Pow: ({ g, node, dy, needsGrad }) => {
    const a = input(node, 0);
    const b = input(node, 1);
    const y = node.outputs[0];
    // d/da a^b = b·a^(b-1); d/db a^b = a^b·ln a (only for a > 0).
    return [
      needsGrad[0] ? unb(g, g.mul(dy[0]!, g.mul(b, g.pow(a, g.sub(b, 1)))), a) : undefined,
      needsGrad[1] ? unb(g, g.mul(dy[0]!, g.mul(y, g.log(a))), b) : undefined,
    ];
  },
  Sum: ({ g, node, dy }) => node.inputs.map((v) => unb(g, dy[0]!, v!)),
  Exp: elementwise(({ g }, dy, _x, y) => g.mul(dy, y)),
  Log: elementwise(({ g }, dy, x) => g.div(dy, x)),
  Sqrt: elementwise(({ g }, dy, _x, y) => g.div(g.mul(dy, 0.5), y)),
  Reciprocal: elementwise(({ g }, dy, _x, y) => g.neg(g.mul(dy, g.mul(y, y)))),
  Abs: elementwise(({ g }, dy, x) => g.mul(dy, g.op('Sign', [x]))),
  Tanh: elementwise(({ g }, dy, _x, y) => g.mul(dy, g.sub(1, g.mul(y, y)))),
  Sigmoid: elementwise(({ g }, dy, _x, y) => g.mul(dy, g.mul(y, g.sub(1, y)))),
  Relu: elementwise(({ g }, dy, x) => g.where(g.greater(x, 0), dy, 0)),
  Erf: elementwise(({ g }, dy, x) => g.mul(dy, g.mul(g.exp(g.neg(g.mul(x, x))), 2 / Math.sqrt(Math.PI)))),
  Clip: ({ g, node, dy, needsGrad }) => {
    const x = input(node, 0);
    const lo = node.inputs[1];
    const hi = node.inputs[2];
    const d = dy[0]!;
    let pass: Value | undefined;
    if (lo) pass = g.op('GreaterOrEqual', [x, lo]);
    if (hi) {
      const le = g.op('LessOrEqual', [x, hi]);
      pass = pass ? g.op('And', [pass, le]) : le;
    }
    const dx = needsGrad[0] ? (pass ? g.where(pass, d, 0) : d) : undefined;
    const dLo = lo && needsGrad[1] ? g.reduceSum(g.where(g.less(x, lo), d, 0), undefined, false) : undefined;
    const dHi = hi && needsGrad[2] ? g.reduceSum(g.where(g.greater(x, hi), d, 0), undefined, false) : undefined;
    return [dx, dLo, dHi];
  },
  Where: ({ g, node, dy, needsGrad }) => {
    const c = input(node, 0);
    const a = input(node, 1);
    const b = input(node, 2);
    const d = dy[0]!;
    return [undefined, needsGrad[1] ? unb(g, g.where(c, d, 0), a) : undefined, needsGrad[2] ? unb(g, g.where(c, 0, d), b) : undefined];
  },
  Max: minMaxRule(true),
  Min: minMaxRule(false),
  MatMul: matmulRule,
  Gemm: gemmRule,
  Softmax: ({ g, node, dy }) => {
    const y = node.outputs[0];
    const axis = intAttr(node.attributes, 'axis', -1);
    const dyy = g.mul(dy[0]!, y);
    return [g.sub(dyy, g.mul(y, g.reduceSum(dyy, [axis])))];
  },
  LogSoftmax: ({ g, node, dy }) => {
    const y = node.outputs[0];
    const axis = intAttr(node.attributes, 'axis', -1);
    return [g.sub(dy[0]!, g.mul(g.exp(y), g.reduceSum(dy[0]!, [axis])))];
  },
  LayerNormalization: layerNormRule,
  Conv: convRule,
  ReduceSum: ({ g, node, dy }) => [unreduce(g, node, dy[0]!).grad, undefined],
  ReduceMean: ({ g, node, dy }) => {
    const { grad, count } = unreduce(g, node, dy[0]!);
    return [count === 1 ? grad : g.div(grad, count), undefined];
  },
  ReduceMax: ({ g, node, dy }) => {
    const x = input(node, 0);
    const { grad } = unreduce(g, node, dy[0]!);
    const { grad: yFull, axes } = unreduce(g, node, node.outputs[0]);
    // Ties share the gradient equally.
    const mask = g.cast(g.equal(x, yFull), x.dtype);
    const ties = axes.length ? g.reduceSum(mask, axes) : mask;
    return [g.div(g.mul(grad, mask), ties), undefined];
  },
  Reshape: reshapeLike,
  Unsqueeze: reshapeLike,
  Squeeze: reshapeLike,
  Flatten: reshapeLike,
  Transpose: ({ g, node, dy }) => {
    const rank = input(node, 0).staticShape().length;
    const perm = intsAttr(node.attributes, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inv = new Array<number>(rank);
    perm.forEach((p, i) => (inv[p] = i));
    return [g.transpose(dy[0]!, inv)];
  },
  Expand: ({ g, node, dy }) => [unb(g, dy[0]!, input(node, 0)), undefined],
  Concat: concatRule,
  Split: splitRule,
  Slice: sliceRule,
  Gather: gatherRule,
  Cast: ({ g, node, dy }) => {
    const x = input(node, 0);
    return [dy[0]!.dtype === x.dtype ? dy[0] : g.cast(dy[0]!, x.dtype)];
  },
};

/**
 * Ops whose outputs carry no gradient (piecewise constant or integer/bool valued). They
 * may sit on the path to the loss without a rule; nothing flows back through them.
 */
export const NON_DIFFERENTIABLE_OPS: ReadonlySet<string> = new Set([
  'Constant', 'ConstantOfShape', 'Shape', 'Size', 'Sign', 'Floor', 'Ceil', 'Round', 'ArgMax', 'ArgMin',
  'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual', 'And', 'Or', 'Not', 'Xor', 'IsNaN', 'IsInf',
  'Range', 'NonZero', 'OneHot',
]);
