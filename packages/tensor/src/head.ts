import { InvalidArgumentError, InvalidBoxError, type Box } from '@dytrack/core';
import { createBox, type MutableBox } from './box.js';
import { assertImageSize } from './normalize.js';

/**
 * The 1-D Hann window OSTrack multiplies score maps with (`hann1d(n, centered=True)`):
 * `0.5 * (1 - cos(2*pi*k/(n+1)))` for `k = 1..n`. Strictly positive, symmetric,
 * peak 1 at the centre when `n` is odd.
 */
export function hannWindow1d(n: number, out?: Float32Array): Float32Array {
  assertImageSize(n, 'Hann window size');
  const target = out ?? new Float32Array(n);
  if (target.length !== n) throw new InvalidArgumentError(`hannWindow1d output has length ${target.length}, expected ${n}`);
  const step = (2 * Math.PI) / (n + 1);
  for (let k = 1; k <= n; k++) target[k - 1] = 0.5 * (1 - Math.cos(step * k));
  return target;
}

/**
 * The 2-D Hann window: outer product of {@link hannWindow1d} with itself,
 * row-major `n * n` (`window[iy * n + ix] = hann[iy] * hann[ix]`).
 */
export function hannWindow2d(n: number, out?: Float32Array): Float32Array {
  assertImageSize(n, 'Hann window size');
  const target = out ?? new Float32Array(n * n);
  if (target.length !== n * n) throw new InvalidArgumentError(`hannWindow2d output has length ${target.length}, expected ${n * n}`);
  const step = (2 * Math.PI) / (n + 1);
  for (let iy = 0; iy < n; iy++) {
    // float32 factors, as OSTrack's hann2d multiplies two float32 hann1d tensors.
    const hy = Math.fround(0.5 * (1 - Math.cos(step * (iy + 1))));
    for (let ix = 0; ix < n; ix++) target[iy * n + ix] = hy * Math.fround(0.5 * (1 - Math.cos(step * (ix + 1))));
  }
  return target;
}

/**
 * A box decoded from the center head's maps, in fractions of the search crop.
 * Writable, so one object can be reused as an `out` parameter.
 */
export interface DecodedBox {
  /** Centre x, fraction of the crop: `(ix + offset_x) / n`. */
  cx: number;
  /** Centre y, fraction of the crop: `(iy + offset_y) / n`. */
  cy: number;
  /** Width, fraction of the crop (size map channel 0). */
  w: number;
  /** Height, fraction of the crop (size map channel 1). */
  h: number;
  /** The unwindowed score at the chosen cell: the tracker's confidence. */
  score: number;
  /** Row-major index `iy * n + ix` of the chosen cell. */
  index: number;
}

/** A new zeroed {@link DecodedBox}, for use as an `out` parameter. */
export function createDecodedBox(): DecodedBox {
  return { cx: 0, cy: 0, w: 0, h: 0, score: 0, index: 0 };
}

/**
 * Decodes OSTrack's center head (`cal_bbox` on `score * window`):
 * picks the cell with the largest windowed score (`score[i] * window[i]`, computed
 * in float32 as PyTorch does; the first one in row-major order on ties), then
 * `cx = (ix + offset[0][i]) / n`, `cy = (iy + offset[1][i]) / n`,
 * `w = size[0][i]`, `h = size[1][i]`, and `score = scoreMap[i]` (unwindowed).
 *
 * Maps: `scoreMap` is `[1, 1, n, n]`, `sizeMap` and `offsetMap` are `[1, 2, n, n]`
 * (channel 0 is x or w, channel 1 is y or h), all row-major. Without `window`
 * the raw score is used. Throws when the score map has no finite value.
 */
export function decodeCenterHead(
  scoreMap: ArrayLike<number>,
  sizeMap: ArrayLike<number>,
  offsetMap: ArrayLike<number>,
  n: number,
  window?: ArrayLike<number>,
  out: DecodedBox = createDecodedBox(),
): DecodedBox {
  assertImageSize(n, 'map size n');
  const cells = n * n;
  if (scoreMap.length !== cells) throw new InvalidArgumentError(`score map has ${scoreMap.length} values; [1, 1, ${n}, ${n}] needs ${cells}`);
  if (sizeMap.length !== 2 * cells) throw new InvalidArgumentError(`size map has ${sizeMap.length} values; [1, 2, ${n}, ${n}] needs ${2 * cells}`);
  if (offsetMap.length !== 2 * cells) throw new InvalidArgumentError(`offset map has ${offsetMap.length} values; [1, 2, ${n}, ${n}] needs ${2 * cells}`);
  if (window !== undefined && window.length !== cells) throw new InvalidArgumentError(`window has ${window.length} values; expected ${cells}`);
  let best = -Infinity;
  let index = -1;
  if (window === undefined) {
    for (let i = 0; i < cells; i++) {
      const v = scoreMap[i];
      if (v > best) {
        best = v;
        index = i;
      }
    }
  } else {
    for (let i = 0; i < cells; i++) {
      const v = Math.fround(scoreMap[i] * window[i]);
      if (v > best) {
        best = v;
        index = i;
      }
    }
  }
  if (index < 0) throw new InvalidArgumentError('score map has no value above -Infinity (all NaN or -Infinity)');
  const iy = Math.floor(index / n);
  const ix = index - iy * n;
  out.cx = (ix + offsetMap[index]) / n;
  out.cy = (iy + offsetMap[cells + index]) / n;
  out.w = sizeMap[index];
  out.h = sizeMap[cells + index];
  out.score = scoreMap[index];
  out.index = index;
  return out;
}

/** The fields of a {@link DecodedBox} that {@link mapBoxBack} reads. */
export interface CropRelativeBox {
  /** Centre x, fraction of the crop. */
  readonly cx: number;
  /** Centre y, fraction of the crop. */
  readonly cy: number;
  /** Width, fraction of the crop. */
  readonly w: number;
  /** Height, fraction of the crop. */
  readonly h: number;
}

/**
 * Maps a decoded box (fractions of the search crop) back to frame pixels, as
 * OSTrack's `map_box_back`: `w, h, cx, cy` times `cropSize`, then
 * `cx_img = cx + (cx_prev - cropSize/2)` where `cx_prev = x + width/2` is the
 * previous box's unrounded centre (the crop was centred there up to rounding,
 * which OSTrack ignores here), same for y; `x = cx_img - w/2`, `y = cy_img - h/2`.
 */
export function mapBoxBack(decoded: CropRelativeBox, previousBox: Box, cropSize: number, out: MutableBox = createBox()): MutableBox {
  if (!Number.isFinite(cropSize) || cropSize <= 0) throw new InvalidArgumentError(`cropSize must be positive and finite, got ${cropSize}`);
  const cxPrev = previousBox.x + 0.5 * previousBox.width;
  const cyPrev = previousBox.y + 0.5 * previousBox.height;
  const half = 0.5 * cropSize;
  const w = decoded.w * cropSize;
  const h = decoded.h * cropSize;
  const cx = decoded.cx * cropSize + (cxPrev - half);
  const cy = decoded.cy * cropSize + (cyPrev - half);
  out.x = cx - 0.5 * w;
  out.y = cy - 0.5 * h;
  out.width = w;
  out.height = h;
  return out;
}

/**
 * OSTrack's `clip_box(box, H, W, margin)`, which keeps the tracker's state on the
 * frame. With `x2 = x + width`, `y2 = y + height`:
 * ```
 * x1' = min(max(0, x),  W - margin)     y1' = min(max(0, y),  H - margin)
 * x2' = min(max(margin, x2), W)         y2' = min(max(margin, y2), H)
 * width'  = max(margin, x2' - x1')      height' = max(margin, y2' - y1')
 * ```
 * and the result is `(x1', y1', width', height')`. The corner is clipped first and
 * kept; the size is then at least `margin`, so a box wholly off the frame becomes
 * a `margin`-sized box at the nearest edge and the result stays inside a frame of
 * at least `margin` pixels. Throws {@link InvalidBoxError} on non-finite input.
 */
export function clipBox(box: Box, frameWidth: number, frameHeight: number, margin = 10, out: MutableBox = createBox()): MutableBox {
  const { x, y, width, height } = box;
  if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(width) || !Number.isFinite(height)) {
    throw new InvalidBoxError(`clipBox needs a finite box, got (${x}, ${y}, ${width}, ${height})`);
  }
  if (!(frameWidth > 0) || !(frameHeight > 0) || !Number.isFinite(frameWidth) || !Number.isFinite(frameHeight)) {
    throw new InvalidArgumentError(`clipBox needs a positive frame size, got ${frameWidth}x${frameHeight}`);
  }
  if (!Number.isFinite(margin) || margin < 0) throw new InvalidArgumentError(`clipBox margin must be finite and non-negative, got ${margin}`);
  const x1 = Math.min(Math.max(0, x), frameWidth - margin);
  const x2 = Math.min(Math.max(margin, x + width), frameWidth);
  const y1 = Math.min(Math.max(0, y), frameHeight - margin);
  const y2 = Math.min(Math.max(margin, y + height), frameHeight);
  out.x = x1;
  out.y = y1;
  out.width = Math.max(margin, x2 - x1);
  out.height = Math.max(margin, y2 - y1);
  return out;
}
