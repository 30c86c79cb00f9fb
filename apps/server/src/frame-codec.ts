import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { ImageFrame } from '@dytrack/core';
import { HttpError } from './http-error.js';
import type { ServerLimits } from './limits.js';
import { sniffImageType } from './image-type.js';

export { sniffImageType };

/**
 * How the bytes of a frame are encoded: a JPEG or PNG image, or raw
 * interleaved 8-bit pixels whose size the client declares.
 */
export type FrameEncoding =
  | { readonly kind: 'jpeg' }
  | { readonly kind: 'png' }
  | { readonly kind: 'raw'; readonly width: number; readonly height: number; readonly format: 'rgb' | 'rgba' };

function corrupt(kind: string, why: string): HttpError {
  return new HttpError(400, 'INVALID_FRAME', `corrupt ${kind} image: ${why}`);
}

/** Width and height from a PNG's IHDR chunk (bytes 16..24), without decoding. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  // Signature (8), chunk length (4), "IHDR" (4), width (4), height (4).
  if (bytes.length < 24 || bytes[12] !== 0x49 || bytes[13] !== 0x48 || bytes[14] !== 0x44 || bytes[15] !== 0x52) {
    throw corrupt('PNG', 'the IHDR chunk is missing');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * Width and height from a JPEG's start-of-frame segment, walking the marker
 * segments without decoding anything.
 */
function jpegSize(bytes: Uint8Array): { width: number; height: number } {
  let i = 2;
  const n = bytes.length;
  while (i + 1 < n) {
    if (bytes[i] !== 0xff) throw corrupt('JPEG', `expected a marker at byte ${i}`);
    let marker = bytes[i + 1]!;
    // Fill bytes: any number of 0xff before the marker code.
    while (marker === 0xff && i + 2 < n) {
      i++;
      marker = bytes[i + 1]!;
    }
    i += 2;
    // Stand-alone markers carry no length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) break; // end of image or start of scan before any frame header
    if (i + 1 >= n) break;
    const length = (bytes[i]! << 8) | bytes[i + 1]!;
    if (length < 2) throw corrupt('JPEG', `segment length ${length} at byte ${i}`);
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isStartOfFrame) {
      if (i + 6 >= n) break;
      return { height: (bytes[i + 3]! << 8) | bytes[i + 4]!, width: (bytes[i + 5]! << 8) | bytes[i + 6]! };
    }
    i += length;
  }
  throw corrupt('JPEG', 'no frame header (SOF) before the image data; the file is truncated or not a JPEG');
}

/** Throws 413 FRAME_TOO_LARGE when a frame exceeds the limits, 400 when its size is zero. */
export function checkFrameSize(width: number, height: number, limits: Pick<ServerLimits, 'maxFrameSide' | 'maxFramePixels'>): void {
  if (width <= 0 || height <= 0) throw new HttpError(400, 'INVALID_FRAME', `frame has invalid size ${width}x${height}`);
  if (width > limits.maxFrameSide || height > limits.maxFrameSide || width * height > limits.maxFramePixels) {
    throw new HttpError(
      413,
      'FRAME_TOO_LARGE',
      `frame is ${width}x${height}; this server accepts frames up to ${limits.maxFrameSide} pixels a side and ${limits.maxFramePixels} pixels in all`,
    );
  }
}

/**
 * Decodes frame bytes into an {@link ImageFrame} (`'rgb'` for JPEG, `'rgba'`
 * for PNG, as declared for raw). The image size is read from the header and
 * checked against the limits before any pixel is decoded, so a small file
 * that claims a huge image costs nothing. Errors are {@link HttpError}s: 400
 * INVALID_FRAME for corrupt or inconsistent bytes, 413 FRAME_TOO_LARGE.
 */
export function decodeFrame(bytes: Uint8Array, encoding: FrameEncoding, limits: Pick<ServerLimits, 'maxFrameSide' | 'maxFramePixels'>): ImageFrame {
  if (bytes.length === 0) throw new HttpError(400, 'INVALID_FRAME', 'the frame is empty (0 bytes)');
  switch (encoding.kind) {
    case 'raw': {
      const { width, height, format } = encoding;
      checkFrameSize(width, height, limits);
      const expected = width * height * (format === 'rgba' ? 4 : 3);
      if (bytes.length !== expected) {
        throw new HttpError(400, 'INVALID_FRAME', `raw ${format} frame of ${width}x${height} needs ${expected} bytes, got ${bytes.length}`);
      }
      return { data: bytes, width, height, format };
    }
    case 'png': {
      if (sniffImageType(bytes) !== 'png') throw corrupt('PNG', 'the PNG signature is missing');
      const { width, height } = pngSize(bytes);
      checkFrameSize(width, height, limits);
      let png: PNG;
      try {
        png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      } catch (cause) {
        throw new HttpError(400, 'INVALID_FRAME', `corrupt PNG image: ${(cause as Error).message}`, { cause });
      }
      const data = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
      return { data, width: png.width, height: png.height, format: 'rgba' };
    }
    case 'jpeg': {
      if (sniffImageType(bytes) !== 'jpeg') throw corrupt('JPEG', 'the JPEG signature (FF D8 FF) is missing');
      const { width, height } = jpegSize(bytes);
      checkFrameSize(width, height, limits);
      let decoded: { width: number; height: number; data: Uint8Array };
      try {
        decoded = jpeg.decode(bytes, {
          useTArray: true,
          formatAsRGBA: false,
          // Corrupt entropy-coded data must be an error, not a grey picture.
          tolerantDecoding: false,
          maxMemoryUsageInMB: Math.ceil((limits.maxFramePixels * 8) / (1024 * 1024)) + 64,
        });
      } catch (cause) {
        throw new HttpError(400, 'INVALID_FRAME', `corrupt JPEG image: ${String((cause as Error)?.message ?? cause)}`, { cause });
      }
      if (decoded.width !== width || decoded.height !== height || decoded.data.length !== width * height * 3) {
        throw corrupt('JPEG', `header says ${width}x${height} but the data decodes to ${decoded.width}x${decoded.height}`);
      }
      return { data: decoded.data, width, height, format: 'rgb' };
    }
  }
}
