import { CHANNELS, assertValidFrame, frameFormat, InvalidArgumentError, type Box, type ImageFrame } from '@dytrack/core';
import { glyph } from './font.js';

/** An RGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/** An RGB frame whose pixels may be written (annotation target). */
export interface RgbImage extends ImageFrame {
  readonly data: Uint8Array;
  readonly format: 'rgb';
}

/** A new RGB image; black unless `fill` is given. */
export function createRgbImage(width: number, height: number, fill?: Rgb): RgbImage {
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0) {
    throw new InvalidArgumentError(`image size must be positive integers, got ${width}x${height}`);
  }
  const data = new Uint8Array(width * height * 3);
  if (fill) for (let i = 0; i < data.length; i += 3) (data[i] = fill[0]), (data[i + 1] = fill[1]), (data[i + 2] = fill[2]);
  return { data, width, height, format: 'rgb' };
}

/** A copy of any frame (RGB, RGBA, BGR) as an RGB image to draw on. */
export function toRgbImage(frame: ImageFrame): RgbImage {
  assertValidFrame(frame);
  const format = frameFormat(frame);
  const c = CHANNELS[format];
  const out = new Uint8Array(frame.width * frame.height * 3);
  const src = frame.data;
  const r = format === 'bgr' ? 2 : 0;
  const b = format === 'bgr' ? 0 : 2;
  for (let i = 0, j = 0; j < out.length; i += c, j += 3) {
    out[j] = src[i + r]!;
    out[j + 1] = src[i + 1]!;
    out[j + 2] = src[i + b]!;
  }
  return { data: out, width: frame.width, height: frame.height, format: 'rgb' };
}

/** Fills the pixel rectangle [x0, x1) x [y0, y1), clipped to the image. */
export function fillRect(image: RgbImage, x0: number, y0: number, x1: number, y1: number, color: Rgb): void {
  const xa = Math.max(0, Math.floor(x0));
  const ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(image.width, Math.floor(x1));
  const yb = Math.min(image.height, Math.floor(y1));
  const d = image.data;
  for (let y = ya; y < yb; y++) {
    for (let x = xa, p = (y * image.width + xa) * 3; x < xb; x++, p += 3) {
      d[p] = color[0];
      d[p + 1] = color[1];
      d[p + 2] = color[2];
    }
  }
}

/**
 * Draws the outline of `box` (frame pixels) with the given line thickness,
 * inside the box's edges; parts outside the image are clipped. A box with a
 * non-finite coordinate draws nothing.
 */
export function drawBox(image: RgbImage, box: Box, color: Rgb, thickness = 2): void {
  if (![box.x, box.y, box.width, box.height].every(Number.isFinite)) return;
  const x0 = Math.round(box.x);
  const y0 = Math.round(box.y);
  const x1 = Math.round(box.x + box.width);
  const y1 = Math.round(box.y + box.height);
  const t = Math.max(1, Math.round(thickness));
  fillRect(image, x0, y0, x1, y0 + t, color);
  fillRect(image, x0, y1 - t, x1, y1, color);
  fillRect(image, x0, y0, x0 + t, y1, color);
  fillRect(image, x1 - t, y0, x1, y1, color);
}

/** Draws `text` with the built-in 5x7 font, top-left at (x, y), on an optional background. */
export function drawText(image: RgbImage, x: number, y: number, text: string, color: Rgb, scale = 1, background?: Rgb): void {
  const s = Math.max(1, Math.round(scale));
  if (background) fillRect(image, x - s, y - s, x + text.length * 6 * s + s, y + 8 * s, background);
  for (let i = 0; i < text.length; i++) {
    const rows = glyph(text[i]!);
    const gx = x + i * 6 * s;
    for (let r = 0; r < 7; r++) {
      const bits = rows[r]!;
      for (let col = 0; col < 5; col++) {
        if (bits & (16 >> col)) fillRect(image, gx + col * s, y + r * s, gx + (col + 1) * s, y + (r + 1) * s, color);
      }
    }
  }
}

/** Resizes an RGB image to `width` x `height` by area-weighted box sampling (good for shrinking). */
export function resizeRgb(image: RgbImage, width: number, height: number): RgbImage {
  const out = createRgbImage(width, height);
  const sx = image.width / width;
  const sy = image.height / height;
  const src = image.data;
  for (let y = 0; y < height; y++) {
    const ya = Math.floor(y * sy);
    const yb = Math.max(ya + 1, Math.min(image.height, Math.floor((y + 1) * sy)));
    for (let x = 0; x < width; x++) {
      const xa = Math.floor(x * sx);
      const xb = Math.max(xa + 1, Math.min(image.width, Math.floor((x + 1) * sx)));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let yy = ya; yy < yb; yy++) {
        for (let xx = xa, p = (yy * image.width + xa) * 3; xx < xb; xx++, p += 3) {
          r += src[p]!;
          g += src[p + 1]!;
          b += src[p + 2]!;
        }
      }
      const n = (yb - ya) * (xb - xa);
      const q = (y * width + x) * 3;
      out.data[q] = Math.round(r / n);
      out.data[q + 1] = Math.round(g / n);
      out.data[q + 2] = Math.round(b / n);
    }
  }
  return out;
}

/** Options of {@link composeStrip}. */
export interface StripOptions {
  /** Tiles per row (default: all in one row, up to 6). */
  readonly columns?: number;
  /** Width of each tile in pixels; height keeps the aspect ratio (default 320). */
  readonly tileWidth?: number;
  /** Gap between tiles, in pixels (default 4). */
  readonly gap?: number;
  /** Background colour (default dark grey). */
  readonly background?: Rgb;
}

/** Lays annotated frames out as a grid of equally sized tiles (one PNG a person can open). */
export function composeStrip(images: readonly RgbImage[], options: StripOptions = {}): RgbImage {
  if (images.length === 0) throw new InvalidArgumentError('composeStrip needs at least one image');
  const columns = Math.max(1, Math.min(options.columns ?? Math.min(images.length, 6), images.length));
  const tileWidth = options.tileWidth ?? 320;
  const first = images[0]!;
  const tileHeight = Math.max(1, Math.round((tileWidth * first.height) / first.width));
  const gap = options.gap ?? 4;
  const rows = Math.ceil(images.length / columns);
  const strip = createRgbImage(columns * tileWidth + (columns + 1) * gap, rows * tileHeight + (rows + 1) * gap, options.background ?? [32, 32, 32]);
  images.forEach((image, i) => {
    const tile = resizeRgb(image, tileWidth, tileHeight);
    const ox = gap + (i % columns) * (tileWidth + gap);
    const oy = gap + Math.floor(i / columns) * (tileHeight + gap);
    for (let y = 0; y < tileHeight; y++) {
      strip.data.set(tile.data.subarray(y * tileWidth * 3, (y + 1) * tileWidth * 3), ((oy + y) * strip.width + ox) * 3);
    }
  });
  return strip;
}
