import { InvalidArgumentError, type Box } from '@dytrack/core';

/**
 * A {@link Box} whose fields can be written: the type of every `out` parameter,
 * so per-frame code can reuse one object instead of allocating a box per call.
 */
export interface MutableBox {
  /** Left edge, frame pixels. */
  x: number;
  /** Top edge, frame pixels. */
  y: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** A box given by its centre and size (`cx = x + width/2`, continuous convention). */
export interface CenterBox {
  /** Centre x: `x + width/2`. */
  readonly cx: number;
  /** Centre y: `y + height/2`. */
  readonly cy: number;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/** A writable {@link CenterBox}. */
export interface MutableCenterBox {
  /** Centre x: `x + width/2`. */
  cx: number;
  /** Centre y: `y + height/2`. */
  cy: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
}

/** A box given by its corners: `[x1, x2) x [y1, y2)`, continuous convention (`x2 = x + width`). */
export interface CornerBox {
  /** Left edge: `x`. */
  readonly x1: number;
  /** Top edge: `y`. */
  readonly y1: number;
  /** Right edge (exclusive): `x + width`. */
  readonly x2: number;
  /** Bottom edge (exclusive): `y + height`. */
  readonly y2: number;
}

/** A writable {@link CornerBox}. */
export interface MutableCornerBox {
  /** Left edge: `x`. */
  x1: number;
  /** Top edge: `y`. */
  y1: number;
  /** Right edge (exclusive): `x + width`. */
  x2: number;
  /** Bottom edge (exclusive): `y + height`. */
  y2: number;
}

/** A new zeroed {@link MutableBox}, for use as an `out` parameter. */
export function createBox(x = 0, y = 0, width = 0, height = 0): MutableBox {
  return { x, y, width, height };
}

/** Copies `box` into `out` (a new object when `out` is omitted). */
export function copyBox(box: Box, out: MutableBox = createBox()): MutableBox {
  out.x = box.x;
  out.y = box.y;
  out.width = box.width;
  out.height = box.height;
  return out;
}

/**
 * Centre form of a box: `cx = x + width/2`, `cy = y + height/2`. This is the
 * continuous convention OSTrack uses for its state; the pytracking metric centre
 * `x + (width-1)/2` belongs to `@dytrack/eval`.
 */
export function toCenterBox(box: Box, out: MutableCenterBox = { cx: 0, cy: 0, width: 0, height: 0 }): MutableCenterBox {
  out.cx = box.x + 0.5 * box.width;
  out.cy = box.y + 0.5 * box.height;
  out.width = box.width;
  out.height = box.height;
  return out;
}

/** Inverse of {@link toCenterBox}: `x = cx - width/2`, `y = cy - height/2`. */
export function fromCenterBox(box: CenterBox, out: MutableBox = createBox()): MutableBox {
  const { cx, cy, width, height } = box;
  out.x = cx - 0.5 * width;
  out.y = cy - 0.5 * height;
  out.width = width;
  out.height = height;
  return out;
}

/** Corner form of a box: `x2 = x + width`, `y2 = y + height` (continuous, not inclusive). */
export function toCornerBox(box: Box, out: MutableCornerBox = { x1: 0, y1: 0, x2: 0, y2: 0 }): MutableCornerBox {
  const { x, y, width, height } = box;
  out.x1 = x;
  out.y1 = y;
  out.x2 = x + width;
  out.y2 = y + height;
  return out;
}

/** Inverse of {@link toCornerBox}: `width = x2 - x1`, `height = y2 - y1`. */
export function fromCornerBox(box: CornerBox, out: MutableBox = createBox()): MutableBox {
  const { x1, y1, x2, y2 } = box;
  out.x = x1;
  out.y = y1;
  out.width = x2 - x1;
  out.height = y2 - y1;
  return out;
}

/**
 * Intersection over union of two boxes as continuous regions
 * `[x, x + width) x [y, y + height)`. Boxes of zero or negative size have zero
 * area; the result is 0 when the union is empty.
 *
 * This is not the pytracking metric IoU (inclusive pixels, `br = xy + wh - 1`),
 * which `@dytrack/eval` implements for benchmark numbers.
 */
export function iou(a: Box, b: Box): number {
  const ix = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const iy = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  const areaA = Math.max(a.width, 0) * Math.max(a.height, 0);
  const areaB = Math.max(b.width, 0) * Math.max(b.height, 0);
  const inter = ix > 0 && iy > 0 ? ix * iy : 0;
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Scales a box's coordinates, as when the frame it lives in is resized by
 * `scaleX` horizontally and `scaleY` vertically (`scaleY` defaults to `scaleX`):
 * `x * scaleX, y * scaleY, width * scaleX, height * scaleY`.
 */
export function scaleBox(box: Box, scaleX: number, scaleY: number = scaleX, out: MutableBox = createBox()): MutableBox {
  if (!Number.isFinite(scaleX) || !Number.isFinite(scaleY) || scaleX <= 0 || scaleY <= 0) {
    throw new InvalidArgumentError(`scaleBox needs positive finite scales, got ${scaleX} and ${scaleY}`);
  }
  out.x = box.x * scaleX;
  out.y = box.y * scaleY;
  out.width = box.width * scaleX;
  out.height = box.height * scaleY;
  return out;
}

/**
 * Grows (`factor > 1`) or shrinks a box about its centre: the centre is kept and
 * width and height are multiplied by `factor`.
 */
export function scaleBoxAboutCenter(box: Box, factor: number, out: MutableBox = createBox()): MutableBox {
  if (!Number.isFinite(factor) || factor <= 0) {
    throw new InvalidArgumentError(`scaleBoxAboutCenter needs a positive finite factor, got ${factor}`);
  }
  const cx = box.x + 0.5 * box.width;
  const cy = box.y + 0.5 * box.height;
  const width = box.width * factor;
  const height = box.height * factor;
  out.x = cx - 0.5 * width;
  out.y = cy - 0.5 * height;
  out.width = width;
  out.height = height;
  return out;
}
