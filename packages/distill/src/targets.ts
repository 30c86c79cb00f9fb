import { InvalidArgumentError, assertValidBox, type Box } from '@dytrack/core';

/** A writable float buffer a target builder can fill. */
export type FloatBuffer = Float32Array | Float64Array;

const f32 = Math.fround;

// Python-float constants of CornerNet's radius formula with min_overlap = 0.7, as PyTorch
// casts them when it multiplies them with a float32 tensor.
const OVERLAP = 0.7;

function assertPositive(value: number, what: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${what} must be a finite positive number, got ${String(value)}`);
  }
}

function assertMapSize(n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`mapSize must be a positive integer, got ${String(n)}`);
}

function outputBuffer(out: FloatBuffer | undefined, offset: number, length: number, what: string): FloatBuffer {
  if (!Number.isInteger(offset) || offset < 0) throw new InvalidArgumentError(`${what}: offset must be a non-negative integer, got ${String(offset)}`);
  const target = out ?? new Float32Array(offset + length);
  if (!(target instanceof Float32Array || target instanceof Float64Array)) {
    throw new InvalidArgumentError(`${what}: out must be a Float32Array or Float64Array`);
  }
  if (target.length < offset + length) {
    throw new InvalidArgumentError(`${what}: out has ${target.length} elements; offset ${offset} + ${length} values do not fit`);
  }
  return target;
}

/** Rounds half to even, as `torch.round` does. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * The Gaussian radius OSTrack's `generate_heatmap` uses (CornerNet's `gaussian_radius`,
 * the "bug version" OSTrack copied, `min_overlap = 0.7`): the smallest of the three
 * roots `r1, r2, r3` for a box of `width x height` map cells, clamped at 0, truncated to
 * an integer. Computed in float32 arithmetic, step by step as PyTorch evaluates the
 * formula on float32 tensors, so the integer truncation agrees with OSTrack bit for bit.
 *
 * - `r1 = (b1 + sqrt(b1^2 - 4 c1)) / 2`, `b1 = h + w`, `c1 = w h (1 - 0.7) / (1 + 0.7)`
 * - `r2 = (b2 + sqrt(b2^2 - 16 c2)) / 2`, `b2 = 2 (h + w)`, `c2 = (1 - 0.7) w h`
 * - `r3 = (b3 + sqrt(b3^2 - 4 (4·0.7) c3)) / 2`, `b3 = -2·0.7 (h + w)`, `c3 = (0.7 - 1) w h`
 *
 * `r3` is almost always the smallest, so the radius is small: 2 for an 8 x 8 cell box.
 */
export function gaussianRadius(width: number, height: number): number {
  if (!Number.isFinite(width) || !Number.isFinite(height) || width < 0 || height < 0) {
    throw new InvalidArgumentError(`gaussianRadius: width and height must be finite and non-negative, got ${String(width)} x ${String(height)}`);
  }
  const w = f32(width);
  const h = f32(height);
  const hw = f32(h + w);
  const b1 = hw;
  const c1 = f32(f32(f32(w * h) * f32(1 - OVERLAP)) / f32(1 + OVERLAP));
  const r1 = f32(f32(b1 + f32(Math.sqrt(f32(f32(b1 * b1) - f32(4 * c1))))) / 2);
  const b2 = f32(2 * hw);
  const c2 = f32(f32(f32(1 - OVERLAP) * w) * h);
  const r2 = f32(f32(b2 + f32(Math.sqrt(f32(f32(b2 * b2) - f32(16 * c2))))) / 2);
  const b3 = f32(f32(-2 * OVERLAP) * hw);
  const c3 = f32(f32(f32(OVERLAP - 1) * w) * h);
  const r3 = f32(f32(b3 + f32(Math.sqrt(f32(f32(b3 * b3) - f32(f32(4 * (4 * OVERLAP)) * c3))))) / 2);
  const r = Math.max(Math.min(r1, r2, r3), 0);
  return Math.trunc(r);
}

/**
 * The Gaussian heat map target of the focal loss for one sample, exactly as OSTrack's
 * `generate_heatmap` (CenterNet's `draw_gaussian`) builds it on the `n x n` map:
 *
 * 1. normalise the box to the crop (`x / cropSize`, ..., float32), scale to cells:
 *    `bx = x·n`, `by = y·n`, `bw = w·n`, `bh = h·n` (float32);
 * 2. centre cell `cx = round(bx + bw/2)`, `cy = round(by + bh/2)` (round half to even,
 *    like `torch.round`); note the convention: cell `i` stands for position `i/n`, so the
 *    peak sits at the cell whose top-left corner is nearest the box centre;
 * 3. radius `r = gaussianRadius(bw, bh)`, `sigma = (2r + 1) / 6`;
 * 4. `heat[iy][ix] = exp(-((ix - cx)^2 + (iy - cy)^2) / (2 sigma^2))` for
 *    `|ix - cx| <= r` and `|iy - cy| <= r`, 0 elsewhere (the part of the
 *    `(2r+1)^2` kernel that falls outside the map is cut off; a centre off the map
 *    draws only the kernel's visible part, possibly nothing).
 *
 * The peak value is exactly 1 when the centre cell is on the map (the focal loss counts
 * those cells as positives). CenterNet zeroes kernel values below `eps · max`; with
 * `sigma = (2r+1)/6` the smallest kernel value is `exp(-36 r^2 / (2r+1)^2) > exp(-9)`, so
 * that step never changes anything and is omitted.
 *
 * Writes `n * n` row-major values at `out[offset..]` (zeroing them first) and returns
 * `out` (a new Float32Array when omitted). `box` is in search-crop pixels.
 *
 * @throws InvalidBoxError for a non-finite or non-positive box; InvalidArgumentError for a
 * bad `cropSize`, `mapSize` or `out`.
 */
export function gaussianHeatmap(box: Box, cropSize: number, mapSize: number, out?: FloatBuffer, offset = 0): FloatBuffer {
  assertValidBox(box, 'gaussianHeatmap box');
  assertPositive(cropSize, 'gaussianHeatmap cropSize');
  assertMapSize(mapSize);
  const n = mapSize;
  const target = outputBuffer(out, offset, n * n, 'gaussianHeatmap');
  target.fill(0, offset, offset + n * n);
  // The box in fractions of the crop as OSTrack holds its float32 `search_anno`, then in cells.
  const bx = f32(f32(box.x / cropSize) * n);
  const by = f32(f32(box.y / cropSize) * n);
  const bw = f32(f32(box.width / cropSize) * n);
  const bh = f32(f32(box.height / cropSize) * n);
  const cx = roundHalfEven(f32(bx + f32(bw / 2)));
  const cy = roundHalfEven(f32(by + f32(bh / 2)));
  const r = gaussianRadius(bw, bh);
  const sigma = (2 * r + 1) / 6;
  // numpy's evaluation order: -(x*x + y*y) / (2 * sigma * sigma), in float64.
  const denom = 2 * sigma * sigma;
  const x0 = Math.max(cx - r, 0);
  const x1 = Math.min(cx + r, n - 1);
  const y0 = Math.max(cy - r, 0);
  const y1 = Math.min(cy + r, n - 1);
  for (let iy = y0; iy <= y1; iy++) {
    const dy = iy - cy;
    const row = offset + iy * n;
    for (let ix = x0; ix <= x1; ix++) {
      const dx = ix - cx;
      target[row + ix] = Math.exp(-(dx * dx + dy * dy) / denom);
    }
  }
  return target;
}

/**
 * The box regression target for one sample: `(cx, cy, w, h)` in fractions of the search
 * crop (`cx = (x + w/2) / cropSize`, ...), the layout the losses take as `targetBoxes`.
 * Writes 4 values at `out[offset..]` and returns `out` (a new Float32Array when omitted).
 * `box` is in search-crop pixels and may extend beyond the crop (the losses clamp the
 * corner form to `[0, 1]`, as OSTrack does).
 *
 * @throws InvalidBoxError for a non-finite or non-positive box; InvalidArgumentError for a
 * bad `cropSize` or `out`.
 */
export function boxTarget(box: Box, cropSize: number, out?: FloatBuffer, offset = 0): FloatBuffer {
  assertValidBox(box, 'boxTarget box');
  assertPositive(cropSize, 'boxTarget cropSize');
  const target = outputBuffer(out, offset, 4, 'boxTarget');
  target[offset] = (box.x + box.width / 2) / cropSize;
  target[offset + 1] = (box.y + box.height / 2) / cropSize;
  target[offset + 2] = box.width / cropSize;
  target[offset + 3] = box.height / cropSize;
  return target;
}

/** Options of {@link tokenMask}. */
export interface TokenMaskOptions {
  /**
   * `'box'` (default): weight 1 for tokens whose patch centre lies inside the box (plus the
   * token holding the box centre, so a box smaller than a patch still has one), the
   * background weight elsewhere. `'gaussian'`: `bg + (1 - bg) · exp(-(dx^2/(2 sx^2) +
   * dy^2/(2 sy^2)))` over patch centres, with `sx = max(sigmaFactor · w, 0.5/n)` (same for y).
   */
  readonly mode?: 'box' | 'gaussian';
  /** Weight of background tokens, in `[0, 1]`. Default {@link DEFAULT_BACKGROUND_WEIGHT}. */
  readonly backgroundWeight?: number;
  /** `'gaussian'` mode: standard deviation as a fraction of the box size. Default 0.25 (weight e^-2 at the box edge). */
  readonly sigmaFactor?: number;
}

/** Scratch row of {@link tokenMask}'s separable Gaussian (reused: the builder runs per sample). */
let columnWeights = new Float64Array(32);

/** Default weight of background tokens in the target-aware distillation mask. */
export const DEFAULT_BACKGROUND_WEIGHT = 0.1;

/**
 * The per-token weights `m_i` of the target-aware feature-mimicking loss for one sample:
 * `n * n` values for the search tokens in row-major patch order (token `iy * n + ix`
 * covers crop pixels `[ix, ix+1) · cropSize/n` horizontally), see {@link TokenMaskOptions}.
 * Writes at `out[offset..]` and returns `out` (a new Float32Array when omitted). `box` is
 * in search-crop pixels.
 *
 * @throws InvalidBoxError for a non-finite or non-positive box; InvalidArgumentError for a
 * bad size, option or `out`.
 */
export function tokenMask(box: Box, cropSize: number, mapSize: number, options: TokenMaskOptions = {}, out?: FloatBuffer, offset = 0): FloatBuffer {
  assertValidBox(box, 'tokenMask box');
  assertPositive(cropSize, 'tokenMask cropSize');
  assertMapSize(mapSize);
  const mode = options.mode ?? 'box';
  const bg = options.backgroundWeight ?? DEFAULT_BACKGROUND_WEIGHT;
  if (!(bg >= 0 && bg <= 1)) throw new InvalidArgumentError(`tokenMask backgroundWeight must be in [0, 1], got ${String(bg)}`);
  const n = mapSize;
  const target = outputBuffer(out, offset, n * n, 'tokenMask');
  const x1 = box.x / cropSize;
  const y1 = box.y / cropSize;
  const x2 = (box.x + box.width) / cropSize;
  const y2 = (box.y + box.height) / cropSize;
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  if (mode === 'box') {
    for (let iy = 0; iy < n; iy++) {
      const py = (iy + 0.5) / n;
      const insideY = py >= y1 && py <= y2;
      for (let ix = 0; ix < n; ix++) {
        const px = (ix + 0.5) / n;
        target[offset + iy * n + ix] = insideY && px >= x1 && px <= x2 ? 1 : bg;
      }
    }
    const ix = Math.floor(cx * n);
    const iy = Math.floor(cy * n);
    if (ix >= 0 && ix < n && iy >= 0 && iy < n) target[offset + iy * n + ix] = 1;
  } else if (mode === 'gaussian') {
    const factor = options.sigmaFactor ?? 0.25;
    assertPositive(factor, 'tokenMask sigmaFactor');
    const sx = Math.max(factor * (x2 - x1), 0.5 / n);
    const sy = Math.max(factor * (y2 - y1), 0.5 / n);
    // The Gaussian is separable: n exps per axis instead of n^2.
    if (columnWeights.length < n) columnWeights = new Float64Array(n);
    const ex = columnWeights;
    for (let ix = 0; ix < n; ix++) {
      const dx = (ix + 0.5) / n - cx;
      ex[ix] = Math.exp(-(dx * dx) / (2 * sx * sx));
    }
    for (let iy = 0; iy < n; iy++) {
      const dy = (iy + 0.5) / n - cy;
      const ey = (1 - bg) * Math.exp(-(dy * dy) / (2 * sy * sy));
      const row = offset + iy * n;
      for (let ix = 0; ix < n; ix++) target[row + ix] = bg + ey * ex[ix];
    }
  } else {
    throw new InvalidArgumentError(`tokenMask mode must be 'box' or 'gaussian', got ${JSON.stringify(mode)}`);
  }
  return target;
}
