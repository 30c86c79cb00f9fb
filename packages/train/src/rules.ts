import { defaultGradientRules, zeros, type GradientRule, type GradientRules } from '@dytrack/autograd';
import { elementAsNumber, normalizeAxis, type Graph, type GraphNode, type Value } from '@dytrack/onnx';

function constInts(g: Graph, node: GraphNode, i: number): number[] | undefined {
  const v = node.inputs[i];
  if (!v) return undefined;
  const c = g.constantValue(v);
  if (!c) return undefined;
  return Array.from({ length: c.data.length }, (_, k) => elementAsNumber(c.data, k));
}

/**
 * Gradient of a unit-step `Slice` as a concatenation with zero blocks, which keeps the
 * gradient's static shape (ONNX shape inference gives `Pad` with a tensor `pads` input
 * no shape, and the broadcast reductions downstream need one). Other slices fall back
 * to `@dytrack/autograd`'s rule.
 */
const staticSliceRule: GradientRule = (ctx) => {
  const { g, node, dy } = ctx;
  const x = node.inputs[0]!;
  const shape = x.staticShape();
  const starts = constInts(g, node, 1);
  const ends = constInts(g, node, 2);
  const axesIn = constInts(g, node, 3);
  const steps = constInts(g, node, 4);
  if (!starts || !ends || (steps && steps.some((s) => s !== 1))) return defaultGradientRules.Slice!(ctx);
  const axes = (axesIn ?? starts.map((_, i) => i)).map((a) => normalizeAxis(a, shape.length, 'Slice'));
  let grad: Value = dy[0]!;
  axes.forEach((axis, k) => {
    const dim = shape[axis]!;
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const s = clamp(starts[k]!);
    const e = Math.max(clamp(ends[k]!), s);
    const parts: Value[] = [];
    const block = (len: number): Value => zeros(g, grad.staticShape().map((d, i) => (i === axis ? len : d)), grad.dtype);
    if (s > 0) parts.push(block(s));
    parts.push(grad);
    if (dim - e > 0) parts.push(block(dim - e));
    if (parts.length > 1) grad = g.concat(parts, axis);
  });
  return [grad];
};

/** Gradient rules the DyTrack training step adds to `@dytrack/autograd`'s defaults. */
export const TRAINING_GRADIENT_RULES: GradientRules = { Slice: staticSliceRule };
