import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { assertValidFrame, CHANNELS, frameFormat, InvalidArgumentError, type ImageFrame } from '@dytrack/core';

/** Copies any frame format into interleaved RGBA (alpha 255 unless the frame has one), as both encoders want. */
function toRgba(frame: ImageFrame, dst: Uint8Array): void {
  const format = frameFormat(frame);
  const src = frame.data;
  const c = CHANNELS[format];
  const swap = format === 'bgr';
  for (let i = 0, j = 0; j < dst.length; i += c, j += 4) {
    dst[j] = src[swap ? i + 2 : i]!;
    dst[j + 1] = src[i + 1]!;
    dst[j + 2] = src[swap ? i : i + 2]!;
    dst[j + 3] = c === 4 ? src[i + 3]! : 255;
  }
}

/**
 * The encoders return Node Buffers; hand out a plain Uint8Array view of the
 * same memory instead, so `slice()` copies as it does on any Uint8Array.
 */
function plainBytes(buffer: Uint8Array): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Encodes a frame (`'rgb'`, `'rgba'` or `'bgr'`) as PNG bytes: lossless, with
 * alpha kept for `'rgba'` frames.
 *
 * @throws InvalidFrameError for a frame whose size and data disagree.
 */
export function encodePng(frame: ImageFrame): Uint8Array {
  assertValidFrame(frame);
  const png = new PNG({ width: frame.width, height: frame.height });
  toRgba(frame, png.data);
  return plainBytes(PNG.sync.write(png));
}

/**
 * Encodes a frame as baseline JPEG bytes (4:4:4, alpha dropped).
 *
 * Speed: jpeg-js builds its Huffman and colour tables afresh on every call,
 * a fixed cost of roughly a third of a second on a small machine, whatever
 * the frame size; it does not expose its encoder object for reuse. Prefer
 * PNG where many small frames are written.
 *
 * @param quality 1 (smallest) to 100 (best); default 90.
 * @throws InvalidFrameError for a frame whose size and data disagree;
 * InvalidArgumentError for a quality outside 1..100.
 */
export function encodeJpeg(frame: ImageFrame, quality = 90): Uint8Array {
  assertValidFrame(frame);
  if (!(quality >= 1 && quality <= 100)) throw new InvalidArgumentError(`JPEG quality must be in 1..100, got ${String(quality)}`);
  const rgba = new Uint8Array(frame.width * frame.height * 4);
  toRgba(frame, rgba);
  return plainBytes(jpeg.encode({ data: rgba, width: frame.width, height: frame.height }, quality).data);
}
