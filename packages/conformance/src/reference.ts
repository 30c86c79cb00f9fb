/**
 * Plain-TypeScript float64 references for the conformance models, and the
 * deterministic inputs they run on.
 */

/** Deterministic uniform numbers in [lo, hi) (mulberry32), so failures reproduce. */
export function seededUniform(seed: number, count: number, lo = -1, hi = 1): number[] {
  let state = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out.push(lo + (hi - lo) * u);
  }
  return out;
}

/** `relu(x @ w + b)` for row-major `x` [n, k], `w` [k, m], `b` [m]. */
export function referenceMlp(x: ArrayLike<number>, n: number, w: readonly number[], b: readonly number[], k: number, m: number): number[] {
  const y: number[] = [];
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < m; c++) {
      let acc = b[c];
      for (let i = 0; i < k; i++) acc += x[r * k + i] * w[i * m + c];
      y.push(Math.max(0, acc));
    }
  }
  return y;
}

/** Softmax over the last axis of row-major `x` [n, m], max-subtracted for stability. */
export function referenceSoftmax(x: ArrayLike<number>, n: number, m: number): number[] {
  const y: number[] = [];
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let c = 0; c < m; c++) max = Math.max(max, x[r * m + c]);
    let sum = 0;
    const row: number[] = [];
    for (let c = 0; c < m; c++) {
      const e = Math.exp(x[r * m + c] - max);
      row.push(e);
      sum += e;
    }
    for (const e of row) y.push(e / sum);
  }
  return y;
}

/** Sums of the rows of row-major `x` [n, m]. */
export function referenceRowSums(x: ArrayLike<number>, n: number, m: number): number[] {
  const y: number[] = [];
  for (let r = 0; r < n; r++) {
    let acc = 0;
    for (let c = 0; c < m; c++) acc += x[r * m + c];
    y.push(acc);
  }
  return y;
}

/** Index of the first element of `actual` farther than `rtol * |ref| + atol` from `expected`, or -1. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): number {
  if (actual.length !== expected.length) return 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= rtol * Math.abs(e) + atol)) return i;
  }
  return -1;
}
