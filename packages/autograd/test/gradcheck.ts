import * as ort from 'onnxruntime-node';
import type { FloatDType, Value } from '@dytrack/onnx';
import { Graph, serializeModel } from '@dytrack/onnx';
import type { GradientRules } from '@dytrack/autograd';
import { defaultGradientRules, gradients } from '@dytrack/autograd';

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One differentiable input of a check. */
export interface CheckInput {
  readonly shape: readonly number[];
  /** Value range; default [-1, 1]. */
  readonly range?: readonly [number, number];
}

/** A gradient check: inputs, the graph under test, and the op whose rule is under test. */
export interface GradCase {
  readonly name: string;
  /** Op type whose rule the sensitivity check perturbs. */
  readonly op: string;
  readonly inputs: readonly CheckInput[];
  readonly build: (g: Graph, xs: Value[]) => Value;
  readonly dtype?: FloatDType;
}

export interface CheckResult {
  /** Max over elements of |analytic - numeric| / (atol + rtol·|numeric|); ≤ 1 passes. */
  readonly worst: number;
  /** Same measure with the op's rule perturbed (gradients scaled by 1.01). */
  readonly worstPerturbed: number;
}

function buildCheckGraph(c: GradCase, rules: GradientRules | undefined, seed: number): { bytes: Uint8Array; shapes: number[][] } {
  const dtype = c.dtype ?? 'float64';
  const g = new Graph({ dtype });
  const xs = c.inputs.map((inp, i) => g.input(`x${i}`, dtype, inp.shape));
  const y = c.build(g, xs);
  // A random weighting makes the loss sensitive to every output element differently.
  const shape = y.staticShape();
  const r = rng(seed + 99);
  const n = shape.reduce((a, b) => a * b, 1);
  const weights = Array.from({ length: n }, () => r() * 2 - 1);
  const loss = g.reduceSum(g.mul(y, g.constant(weights, shape)), undefined, false);
  g.output(loss, 'loss');
  gradients(g, loss, xs, { rules }).forEach((d, i) => {
    // Downstream rules need static gradient shapes (broadcast reductions happen at build time).
    if (d.shape?.join(',') !== xs[i].staticShape().join(',')) {
      throw new Error(`${c.name}: gradient ${i} has shape ${d.shape ? `[${d.shape.join(',')}]` : 'unknown'}, expected [${xs[i].shape!.join(',')}]`);
    }
    g.output(d, `d${i}`);
  });
  return { bytes: serializeModel(g), shapes: c.inputs.map((i) => [...i.shape]) };
}

/** Runs a finite-difference gradient check of `c` (central differences on every input element). */
export async function checkGradients(c: GradCase, seed = 1): Promise<CheckResult> {
  const dtype = c.dtype ?? 'float64';
  const f64 = dtype === 'float64';
  const h = f64 ? 1e-6 : 1e-2;
  const atol = f64 ? 1e-7 : 1e-4;
  const rtol = f64 ? 1e-6 : 2e-3;
  const Arr = f64 ? Float64Array : Float32Array;
  const r = rng(seed);
  const data = c.inputs.map((inp) => {
    const [lo, hi] = inp.range ?? [-1, 1];
    const n = inp.shape.reduce((a, b) => a * b, 1);
    const out = new Arr(n);
    for (let k = 0; k < n; k++) out[k] = lo + (hi - lo) * r();
    return out;
  });
  const feeds = (arrays: (Float32Array | Float64Array)[]) =>
    Object.fromEntries(arrays.map((a, i) => [`x${i}`, new ort.Tensor(dtype, a, [...c.inputs[i].shape])]));

  const exact = buildCheckGraph(c, undefined, seed);
  const session = await ort.InferenceSession.create(exact.bytes);
  const analytic = await session.run(feeds(data));
  const numeric: Float64Array[] = [];
  for (let i = 0; i < data.length; i++) {
    const out = new Float64Array(data[i].length);
    for (let k = 0; k < data[i].length; k++) {
      const saved = data[i][k];
      data[i][k] = saved + h;
      const plus = Number((await session.run(feeds(data))).loss.data[0]);
      data[i][k] = saved - h;
      const minus = Number((await session.run(feeds(data))).loss.data[0]);
      data[i][k] = saved;
      out[k] = (plus - minus) / (2 * h);
    }
    numeric.push(out);
  }
  await session.release();

  const rule = defaultGradientRules[c.op];
  if (!rule) throw new Error(`no default rule for ${c.op}`);
  const perturbedRules: GradientRules = {
    [c.op]: (ctx) => rule(ctx).map((v) => (v ? ctx.g.mul(v, 1.01) : v)),
  };
  const perturbedSession = await ort.InferenceSession.create(buildCheckGraph(c, perturbedRules, seed).bytes);
  const perturbed = await perturbedSession.run(feeds(data));
  await perturbedSession.release();

  const score = (out: ort.InferenceSession.ReturnType) => {
    let worst = 0;
    numeric.forEach((num, i) => {
      const a = out[`d${i}`].data as Float64Array;
      for (let k = 0; k < num.length; k++) worst = Math.max(worst, Math.abs(a[k] - num[k]) / (atol + rtol * Math.abs(num[k])));
    });
    return worst;
  };
  return { worst: score(analytic), worstPerturbed: score(perturbed) };
}
