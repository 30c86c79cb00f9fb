import { InvalidArgumentError } from '@dytrack/core';

/**
 * Per-channel normalisation `(v/255 - mean[c]) / std[c]` for RGB channels, the
 * shape of `ModelManifest.input.normalization`.
 */
export interface Normalization {
  /** Mean of R, G, B in [0, 1] units. */
  readonly mean: readonly [number, number, number];
  /** Standard deviation of R, G, B in [0, 1] units. */
  readonly std: readonly [number, number, number];
}

/** ImageNet statistics, what OSTrack (and DESIGN 4) normalise with. */
export const IMAGENET_NORMALIZATION: Normalization = Object.freeze({
  mean: Object.freeze([0.485, 0.456, 0.406] as const),
  std: Object.freeze([0.229, 0.224, 0.225] as const),
}) as Normalization;

/**
 * `(v/255 - mean)/std` as `v * scale[c] + bias[c]`: one multiply-add per value on
 * the hot path. Writes into `out` (length 6: scale r, g, b then bias r, g, b).
 * @internal
 */
export function normalizationCoefficients(normalization: Normalization, out: Float64Array): Float64Array {
  if (normalization === null || typeof normalization !== 'object') {
    throw new InvalidArgumentError('normalization must be an object { mean: [r, g, b], std: [r, g, b] }');
  }
  const { mean, std } = normalization;
  if (mean === undefined || std === undefined || mean.length !== 3 || std.length !== 3) {
    throw new InvalidArgumentError('normalization.mean and normalization.std must each have 3 values (R, G, B)');
  }
  for (let c = 0; c < 3; c++) {
    const m = mean[c];
    const s = std[c];
    if (!Number.isFinite(m)) throw new InvalidArgumentError(`normalization.mean[${c}] must be finite, got ${m}`);
    if (!Number.isFinite(s) || s === 0) throw new InvalidArgumentError(`normalization.std[${c}] must be finite and non-zero, got ${s}`);
    out[c] = 1 / (255 * s);
    out[3 + c] = -m / s;
  }
  return out;
}

/** Throws unless `size` is a positive integer side length. @internal */
export function assertImageSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size <= 0) throw new InvalidArgumentError(`${what} must be a positive integer, got ${String(size)}`);
}

const coefficientsScratch = new Float64Array(6);

/**
 * Normalises a packed RGB image (HWC, `size * size * 3` bytes, as returned by
 * `cropAndResize`) into NCHW float32 `[1, 3, size, size]`:
 * `(v/255 - mean[c]) / std[c]`. Writes into `out` when given.
 */
export function normalizeToNCHW(rgb: Uint8Array | Uint8ClampedArray, size: number, normalization: Normalization, out?: Float32Array): Float32Array {
  assertImageSize(size, 'size');
  const plane = size * size;
  if (rgb.length !== plane * 3) {
    throw new InvalidArgumentError(`normalizeToNCHW input has length ${rgb.length}; a ${size}x${size} RGB image has ${plane * 3}`);
  }
  const target = out ?? new Float32Array(plane * 3);
  if (target.length !== plane * 3) {
    throw new InvalidArgumentError(`normalizeToNCHW output has length ${target.length}; [1, 3, ${size}, ${size}] needs ${plane * 3}`);
  }
  const k = normalizationCoefficients(normalization, coefficientsScratch);
  const sr = k[0], sg = k[1], sb = k[2], br = k[3], bg = k[4], bb = k[5];
  const g0 = plane;
  const b0 = 2 * plane;
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    target[i] = rgb[p] * sr + br;
    target[g0 + i] = rgb[p + 1] * sg + bg;
    target[b0 + i] = rgb[p + 2] * sb + bb;
  }
  return target;
}
