import { InvalidBoxError, InvalidFrameError } from './errors.js';

/** Pixel layouts accepted for frames. All are 8 bits per channel, interleaved, row-major. */
export type PixelFormat = 'rgb' | 'rgba' | 'bgr';

/** Bytes per pixel of each {@link PixelFormat}. */
export const CHANNELS: Readonly<Record<PixelFormat, number>> = { rgb: 3, rgba: 4, bgr: 3 };

/**
 * One video frame in host memory. Browser `ImageData` fits this type as it is
 * (RGBA is the default format).
 */
export interface ImageFrame {
  /** Interleaved 8-bit pixels, row-major, no row padding. */
  readonly data: Uint8Array | Uint8ClampedArray;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Pixel layout; `'rgba'` when omitted. */
  readonly format?: PixelFormat;
}

/**
 * An axis-aligned box in frame pixels: top-left corner and size. Coordinates are
 * real numbers (sub-pixel), as the tracker's state is.
 */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** The format of a frame, with the default applied. */
export function frameFormat(frame: ImageFrame): PixelFormat {
  return frame.format ?? 'rgba';
}

/**
 * Checks that a frame is well formed: positive integer size, a known format and
 * a byte length equal to `width * height * channels`. Throws {@link InvalidFrameError}.
 */
export function assertValidFrame(frame: ImageFrame, what = 'frame'): void {
  if (frame === null || typeof frame !== 'object') throw new InvalidFrameError(`${what} must be an object with data, width and height`);
  const { width, height, data } = frame;
  if (!Number.isInteger(width) || width <= 0 || !Number.isInteger(height) || height <= 0) {
    throw new InvalidFrameError(`${what} has invalid size ${String(width)}x${String(height)}; width and height must be positive integers`);
  }
  const format = frameFormat(frame);
  const channels = CHANNELS[format];
  if (channels === undefined) throw new InvalidFrameError(`${what} has unknown pixel format ${JSON.stringify(format)}; expected rgb, rgba or bgr`);
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new InvalidFrameError(`${what}.data must be a Uint8Array or Uint8ClampedArray`);
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    throw new InvalidFrameError(
      `${what}.data has ${data.length} bytes but a ${width}x${height} ${format} frame needs ${expected}`,
    );
  }
}

/** Checks that a box has finite coordinates and a positive size. Throws {@link InvalidBoxError}. */
export function assertValidBox(box: Box, what = 'box'): void {
  if (box === null || typeof box !== 'object') throw new InvalidBoxError(`${what} must be an object {x, y, width, height}`);
  for (const key of ['x', 'y', 'width', 'height'] as const) {
    const v = box[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new InvalidBoxError(`${what}.${key} must be a finite number, got ${String(v)}`);
    }
  }
  if (box.width <= 0 || box.height <= 0) {
    throw new InvalidBoxError(`${what} must have positive size, got ${box.width}x${box.height}`);
  }
}

/**
 * Checks a box and that it overlaps the frame by at least one pixel area.
 * A box wholly outside the frame cannot initialise a tracker.
 */
export function assertBoxInFrame(box: Box, width: number, height: number, what = 'box'): void {
  assertValidBox(box, what);
  const x2 = box.x + box.width;
  const y2 = box.y + box.height;
  if (x2 <= 0 || y2 <= 0 || box.x >= width || box.y >= height) {
    throw new InvalidBoxError(
      `${what} (${box.x}, ${box.y}, ${box.width}, ${box.height}) lies outside the ${width}x${height} frame`,
    );
  }
  // A box covering less than one pixel (0.2 x 0.2, or a sliver at the border) shows no target to learn.
  const inside = (Math.min(x2, width) - Math.max(box.x, 0)) * (Math.min(y2, height) - Math.max(box.y, 0));
  if (inside < 1) {
    throw new InvalidBoxError(
      `${what} (${box.x}, ${box.y}, ${box.width}, ${box.height}) covers ${Number(inside.toPrecision(3))} pixel(s) of the ${width}x${height} frame; at least 1 is needed`,
    );
  }
}
