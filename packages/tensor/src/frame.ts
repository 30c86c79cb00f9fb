import { InvalidArgumentError, InvalidFrameError, assertValidFrame, frameFormat, type ImageFrame, type PixelFormat } from '@dytrack/core';

/**
 * Where the red, green and blue bytes of a pixel sit for one {@link PixelFormat}:
 * pixel `(x, y)` starts at byte `(y * width + x) * stride`, and its red byte is at
 * that position plus `red`.
 */
export interface PixelLayout {
  /** Bytes per pixel (3 or 4). */
  readonly stride: number;
  /** Byte offset of red within a pixel. */
  readonly red: number;
  /** Byte offset of green within a pixel. */
  readonly green: number;
  /** Byte offset of blue within a pixel. */
  readonly blue: number;
}

const LAYOUTS: Readonly<Record<PixelFormat, PixelLayout>> = {
  rgb: { stride: 3, red: 0, green: 1, blue: 2 },
  rgba: { stride: 4, red: 0, green: 1, blue: 2 },
  bgr: { stride: 3, red: 2, green: 1, blue: 0 },
};

/** The byte layout of a pixel format (`'rgba'` when `format` is omitted, as for {@link ImageFrame}). */
export function pixelLayout(format: PixelFormat = 'rgba'): PixelLayout {
  const layout = LAYOUTS[format];
  if (layout === undefined) throw new InvalidFrameError(`unknown pixel format ${JSON.stringify(format)}; expected rgb, rgba or bgr`);
  return layout;
}

/**
 * Reads pixel `(x, y)` of a frame as RGB into `out[0..2]` (a new array when
 * omitted). Integer coordinates inside the frame only. Meant for tests and
 * tooling; the crop functions read frames directly.
 */
export function readPixelRgb(frame: ImageFrame, x: number, y: number, out: Uint8Array = new Uint8Array(3)): Uint8Array {
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= frame.width || y >= frame.height) {
    throw new InvalidArgumentError(`pixel (${x}, ${y}) is not an integer position inside the ${frame.width}x${frame.height} frame`);
  }
  const layout = pixelLayout(frameFormat(frame));
  const p = (y * frame.width + x) * layout.stride;
  out[0] = frame.data[p + layout.red];
  out[1] = frame.data[p + layout.green];
  out[2] = frame.data[p + layout.blue];
  return out;
}

/**
 * Converts a whole frame to packed RGB (HWC, 3 bytes per pixel), writing into
 * `out` when given (length `width * height * 3`). Validates the frame first.
 */
export function frameToRgb(frame: ImageFrame, out?: Uint8Array): Uint8Array {
  assertValidFrame(frame);
  const { width, height, data } = frame;
  const n = width * height;
  const target = out ?? new Uint8Array(n * 3);
  if (target.length !== n * 3) {
    throw new InvalidArgumentError(`frameToRgb output has length ${target.length}; a ${width}x${height} RGB image needs ${n * 3}`);
  }
  const format = frameFormat(frame);
  if (format === 'rgb') {
    target.set(data);
    return target;
  }
  const { stride, red, green, blue } = LAYOUTS[format];
  for (let i = 0, p = 0, q = 0; i < n; i++, p += stride, q += 3) {
    target[q] = data[p + red];
    target[q + 1] = data[p + green];
    target[q + 2] = data[p + blue];
  }
  return target;
}
