import { readFile } from 'node:fs/promises';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { assertValidFrame, CHANNELS, frameFormat, type ImageFrame } from '@dytrack/core';
import { DatasetFormatError } from './box-file.js';

/**
 * Decodes JPEG or PNG bytes (recognised by their signature, not the file name)
 * into an RGB frame. Throws {@link DatasetFormatError} naming `file` when the
 * bytes are neither or are corrupt.
 */
export function decodeImage(bytes: Uint8Array, file: string): ImageFrame {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    let decoded: { width: number; height: number; data: Uint8Array };
    try {
      decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    } catch (cause) {
      throw new DatasetFormatError(file, undefined, `cannot decode JPEG: ${(cause as Error).message}`, { cause });
    }
    return { data: decoded.data, width: decoded.width, height: decoded.height, format: 'rgb' };
  }
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    let png: PNG;
    try {
      png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (cause) {
      throw new DatasetFormatError(file, undefined, `cannot decode PNG: ${(cause as Error).message}`, { cause });
    }
    const rgba = png.data;
    const rgb = new Uint8Array(png.width * png.height * 3);
    for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
      rgb[j] = rgba[i]!;
      rgb[j + 1] = rgba[i + 1]!;
      rgb[j + 2] = rgba[i + 2]!;
    }
    return { data: rgb, width: png.width, height: png.height, format: 'rgb' };
  }
  throw new DatasetFormatError(file, undefined, 'not a JPEG or PNG image');
}

/** Decodes PNG bytes keeping the alpha channel (an `'rgba'` frame); used for clip-art sprites. */
export function decodePngRgba(bytes: Uint8Array, file: string): ImageFrame {
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength), width: png.width, height: png.height, format: 'rgba' };
  } catch (cause) {
    throw new DatasetFormatError(file, undefined, `cannot decode PNG: ${(cause as Error).message}`, { cause });
  }
}

/** Reads and decodes an image file; errors name the file. */
export async function readImageFile(file: string): Promise<ImageFrame> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw new DatasetFormatError(file, undefined, `cannot read image: ${(cause as Error).message}`, { cause });
  }
  return decodeImage(bytes, file);
}

/** Encodes a frame (rgb, rgba or bgr) as PNG bytes. */
export function encodePng(frame: ImageFrame): Uint8Array {
  assertValidFrame(frame);
  const format = frameFormat(frame);
  const png = new PNG({ width: frame.width, height: frame.height });
  const src = frame.data;
  const dst = png.data;
  const c = CHANNELS[format];
  const swap = format === 'bgr';
  for (let i = 0, j = 0; j < dst.length; i += c, j += 4) {
    dst[j] = src[swap ? i + 2 : i]!;
    dst[j + 1] = src[i + 1]!;
    dst[j + 2] = src[swap ? i : i + 2]!;
    dst[j + 3] = c === 4 ? src[i + 3]! : 255;
  }
  return PNG.sync.write(png);
}

/** Encodes a frame as JPEG bytes (quality 0-100). */
export function encodeJpeg(frame: ImageFrame, quality = 90): Uint8Array {
  assertValidFrame(frame);
  const format = frameFormat(frame);
  const c = CHANNELS[format];
  const rgba = new Uint8Array(frame.width * frame.height * 4);
  const src = frame.data;
  const swap = format === 'bgr';
  for (let i = 0, j = 0; j < rgba.length; i += c, j += 4) {
    rgba[j] = src[swap ? i + 2 : i]!;
    rgba[j + 1] = src[i + 1]!;
    rgba[j + 2] = src[swap ? i : i + 2]!;
    rgba[j + 3] = 255;
  }
  return jpeg.encode({ data: rgba, width: frame.width, height: frame.height }, quality).data;
}
