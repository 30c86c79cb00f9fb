import type { ImageFrame } from '@dytrack/core';
import { decodeImage, decodePngRgba, ImageDecodeError, probeImage, sniffImageType, type ImageType } from '@dytrack/image';
import { HttpError } from './http-error.js';
import type { ServerLimits } from './limits.js';

export { sniffImageType };

/**
 * How the bytes of a frame are encoded: a JPEG or PNG image, or raw
 * interleaved 8-bit pixels whose size the client declares.
 */
export type FrameEncoding =
  | { readonly kind: 'jpeg' }
  | { readonly kind: 'png' }
  | { readonly kind: 'raw'; readonly width: number; readonly height: number; readonly format: 'rgb' | 'rgba' };

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
    case 'png':
    case 'jpeg':
      return decodeImageFrame(bytes, encoding.kind, limits);
  }
}

/**
 * JPEG to `'rgb'`, PNG to `'rgba'` (the decoder's own buffer, no copy), with
 * the server's side and pixel limits checked from the header first.
 */
function decodeImageFrame(bytes: Uint8Array, type: ImageType, limits: Pick<ServerLimits, 'maxFrameSide' | 'maxFramePixels'>): ImageFrame {
  try {
    const { width, height } = probeImage(bytes, { type });
    checkFrameSize(width, height, limits);
    const options = { type, maxPixels: limits.maxFramePixels };
    return type === 'png' ? decodePngRgba(bytes, options) : decodeImage(bytes, options);
  } catch (error) {
    // No name is passed, so the detail is the whole message ("corrupt JPEG image: ...").
    if (error instanceof ImageDecodeError) throw new HttpError(400, 'INVALID_FRAME', error.detail, { cause: error });
    throw error;
  }
}
