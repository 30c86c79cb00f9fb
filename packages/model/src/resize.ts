import { InvalidArgumentError } from '@dytrack/core';

/**
 * Keys' cubic convolution kernel with a = −0.5 (PIL's bicubic; PyTorch's uses −0.75): the
 * choice that reproduces linear and quadratic functions, so a smooth embedding stays smooth.
 */
function cubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/**
 * Resampling weights from `from` samples to `to` along one axis: for each output sample, the
 * first source index and the normalised weights of the source samples it reads (indices past
 * either end clamped to it). Pixel centres are aligned (`align_corners = false`); when shrinking,
 * the kernel is stretched by `from / to`, so every source sample contributes (antialiasing).
 */
function axisWeights(from: number, to: number): { first: number; weights: number[] }[] {
  const scale = from / to;
  const stretch = Math.max(1, scale);
  const support = 2 * stretch;
  const out: { first: number; weights: number[] }[] = [];
  for (let o = 0; o < to; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const first = Math.ceil(centre - support);
    const last = Math.floor(centre + support);
    const weights: number[] = [];
    let sum = 0;
    for (let i = first; i <= last; i++) {
      const w = cubic((i - centre) / stretch);
      weights.push(w);
      sum += w;
    }
    out.push({ first, weights: weights.map((w) => w / sum) });
  }
  return out;
}

/**
 * Resamples a row-major `[1, from·from, dim]` position embedding (one row of `dim` values per
 * patch of a `from x from` grid) to a `to x to` grid by separable bicubic interpolation, as
 * ViTs fine-tuned at another input size do (timm's `resample_abs_pos_embed`): each token keeps
 * the embedding of the same relative place in the crop. Returns a new array; `from === to`
 * returns a copy.
 */
export function resizePositionEmbedding(values: Float32Array, from: number, to: number, dim: number): Float32Array {
  for (const [name, v] of [['from', from], ['to', to], ['dim', dim]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`resizePositionEmbedding: ${name} must be a positive integer, got ${v}`);
  }
  if (values.length !== from * from * dim) {
    throw new InvalidArgumentError(`resizePositionEmbedding: ${values.length} values are not a ${from}x${from} grid of width ${dim} (${from * from * dim})`);
  }
  if (from === to) return Float32Array.from(values);
  const wx = axisWeights(from, to);
  const clamp = (i: number) => Math.min(from - 1, Math.max(0, i));
  // Rows first (to x from), then columns (to x to), in float64.
  const rows = new Float64Array(to * from * dim);
  for (let oy = 0; oy < to; oy++) {
    const { first, weights } = wx[oy]!;
    for (let k = 0; k < weights.length; k++) {
      const w = weights[k]!;
      const sy = clamp(first + k);
      for (let x = 0; x < from; x++) {
        const src = (sy * from + x) * dim;
        const dst = (oy * from + x) * dim;
        for (let c = 0; c < dim; c++) rows[dst + c]! += w * values[src + c]!;
      }
    }
  }
  const out = new Float32Array(to * to * dim);
  const acc = new Float64Array(dim);
  for (let oy = 0; oy < to; oy++) {
    for (let ox = 0; ox < to; ox++) {
      acc.fill(0);
      const { first, weights } = wx[ox]!;
      for (let k = 0; k < weights.length; k++) {
        const w = weights[k]!;
        const src = (oy * from + clamp(first + k)) * dim;
        for (let c = 0; c < dim; c++) acc[c]! += w * rows[src + c]!;
      }
      out.set(acc, (oy * to + ox) * dim);
    }
  }
  return out;
}

/** One position embedding {@link resizePositionEmbeddings} resampled. */
export interface ResizedPositionEmbedding {
  readonly name: string;
  /** Grid side the given weights were made for. */
  readonly from: number;
  /** Grid side of the configuration. */
  readonly to: number;
}

/**
 * Returns `weights` with each position embedding (`backbone.pos_embed_z`, `backbone.pos_embed_x`)
 * that holds a square grid of another side than `grid` asks resampled to it by
 * {@link resizePositionEmbedding}; every other entry is passed through as is. For weights
 * trained at another template or search size.
 */
export function resizePositionEmbeddings(
  weights: ReadonlyMap<string, Float32Array>,
  grids: { readonly template: number; readonly search: number },
  dim: number,
): { weights: Map<string, Float32Array>; resized: ResizedPositionEmbedding[] } {
  const out = new Map(weights);
  const resized: ResizedPositionEmbedding[] = [];
  for (const [name, to] of [['backbone.pos_embed_z', grids.template], ['backbone.pos_embed_x', grids.search]] as const) {
    const values = weights.get(name);
    if (!values || values.length === to * to * dim || values.length % dim !== 0) continue;
    const from = Math.round(Math.sqrt(values.length / dim));
    if (from * from * dim !== values.length) continue;
    out.set(name, resizePositionEmbedding(values, from, to, dim));
    resized.push({ name, from, to });
  }
  return { weights: out, resized };
}
