import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { InvalidArgumentError, type ImageFrame } from '@dytrack/core';
import { ImageDecodeError } from './errors.js';
import { probeImage, type ImageInfo, type ImageType } from './probe.js';

/** Options of {@link decodeImage} and {@link decodePngRgba}. */
export interface DecodeImageOptions {
  /** File path or name used in error messages. */
  readonly name?: string;
  /**
   * Refuse images with more pixels than this (checked from the header, before
   * any pixel is decoded). Default: no limit of ours (jpeg-js still refuses
   * JPEGs over 100 megapixels).
   */
  readonly maxPixels?: number;
  /** Require this format (e.g. the one a client declared): other bytes are a corrupt image of this type. */
  readonly type?: ImageType;
}

const MIB = 1024 * 1024;

/** Probes the header and applies the size checks shared by both decoders. */
function probeAndCheck(bytes: Uint8Array, options: DecodeImageOptions): ImageInfo {
  const { name, maxPixels } = options;
  if (maxPixels !== undefined && !(maxPixels > 0)) throw new InvalidArgumentError(`maxPixels must be a positive number, got ${String(maxPixels)}`);
  const info = probeImage(bytes, options);
  const kind = info.type === 'jpeg' ? 'JPEG' : 'PNG';
  if (info.width <= 0 || info.height <= 0) {
    throw new ImageDecodeError('corrupt', `corrupt ${kind} image: the header gives an empty size ${info.width}x${info.height}`, name);
  }
  if (maxPixels !== undefined && info.width * info.height > maxPixels) {
    throw new ImageDecodeError(
      'too-large',
      `image is ${info.width}x${info.height} (${info.width * info.height} pixels), over the limit of ${maxPixels} pixels`,
      name,
    );
  }
  return info;
}

function causeText(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

function readPng(bytes: Uint8Array, info: ImageInfo, name: string | undefined): PNG {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (cause) {
    throw new ImageDecodeError('corrupt', `corrupt PNG image: ${causeText(cause)}`, name, { cause });
  }
  if (png.width !== info.width || png.height !== info.height) {
    throw new ImageDecodeError('corrupt', `corrupt PNG image: header says ${info.width}x${info.height} but the data decodes to ${png.width}x${png.height}`, name);
  }
  return png;
}

function readJpeg(bytes: Uint8Array, info: ImageInfo, options: DecodeImageOptions): ImageFrame {
  const { name, maxPixels } = options;
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      // Damaged entropy-coded data must be an error, not a grey picture.
      tolerantDecoding: false,
      // jpeg-js budgets memory itself; size the budget to the pixel limit (components at up to 8 bytes a pixel).
      maxMemoryUsageInMB: maxPixels === undefined ? 1024 : Math.ceil((maxPixels * 8) / MIB) + 64,
    });
  } catch (cause) {
    throw new ImageDecodeError('corrupt', `corrupt JPEG image: ${causeText(cause)}`, name, { cause });
  }
  if (decoded.width !== info.width || decoded.height !== info.height || decoded.data.length !== info.width * info.height * 3) {
    throw new ImageDecodeError('corrupt', `corrupt JPEG image: header says ${info.width}x${info.height} but the data decodes to ${decoded.width}x${decoded.height}`, name);
  }
  return { data: decoded.data, width: decoded.width, height: decoded.height, format: 'rgb' };
}

/**
 * Decodes JPEG or PNG bytes, recognised by their signature (not a file
 * name), into an `'rgb'` frame; a PNG's alpha channel is dropped. The size
 * is read from the header and checked against `maxPixels` before any pixel
 * is decoded.
 *
 * @throws {@link ImageDecodeError} (an `InvalidFrameError`) naming
 * `options.name`: `'unrecognized'` (neither JPEG nor PNG), `'corrupt'`
 * (damaged or truncated), `'too-large'` (over `maxPixels`).
 */
export function decodeImage(bytes: Uint8Array, options: DecodeImageOptions = {}): ImageFrame {
  const info = probeAndCheck(bytes, options);
  if (info.type === 'jpeg') return readJpeg(bytes, info, options);
  const png = readPng(bytes, info, options.name);
  const rgba = png.data;
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0, j = 0; j < rgb.length; i += 4, j += 3) {
    rgb[j] = rgba[i]!;
    rgb[j + 1] = rgba[i + 1]!;
    rgb[j + 2] = rgba[i + 2]!;
  }
  return { data: rgb, width: png.width, height: png.height, format: 'rgb' };
}

/**
 * Decodes PNG bytes into an `'rgba'` frame, keeping the alpha channel
 * (sprites with transparency, or a PNG frame without the RGB copy). The
 * frame's data views the decoder's buffer: no copy is made.
 *
 * @throws {@link ImageDecodeError} as {@link decodeImage} does; JPEG bytes
 * are reported as a PNG missing its signature.
 */
export function decodePngRgba(bytes: Uint8Array, options: DecodeImageOptions = {}): ImageFrame {
  const info = probeAndCheck(bytes, { ...options, type: 'png' });
  const png = readPng(bytes, info, options.name);
  return { data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength), width: png.width, height: png.height, format: 'rgba' };
}
