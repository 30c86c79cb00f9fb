import { decodeImage, decodePngRgba, ImageDecodeError } from '@dytrack/image';
import { readImageFile } from '@dytrack/image/node';
import type { ImageFrame } from '@dytrack/core';
import { DatasetFormatError } from './box-file.js';

// Dataset files are reported as DatasetFormatError (file, no line) like every
// other malformed dataset input; the @dytrack/image error stays the cause.
function asDatasetError(error: unknown, file: string): unknown {
  return error instanceof ImageDecodeError ? new DatasetFormatError(file, undefined, error.detail, { cause: error }) : error;
}

/** Reads and decodes a dataset frame into `'rgb'`; errors are {@link DatasetFormatError}s naming the file. */
export async function readDatasetImage(file: string): Promise<ImageFrame> {
  try {
    return await readImageFile(file);
  } catch (error) {
    throw asDatasetError(error, file);
  }
}

/**
 * Decodes asset bytes into `'rgb'` (`rgba: false`) or, for PNG sprites, `'rgba'`; errors name
 * `file`. An image over `maxPixels` (read from its header, before any pixel is decoded) gives
 * `undefined`: the caller draws without it.
 */
export function decodeAssetImage(bytes: Uint8Array, file: string, rgba: boolean, maxPixels?: number): ImageFrame | undefined {
  try {
    const options = { name: file, ...(maxPixels !== undefined ? { maxPixels } : {}) };
    return rgba ? decodePngRgba(bytes, options) : decodeImage(bytes, options);
  } catch (error) {
    if (error instanceof ImageDecodeError && error.problem === 'too-large') return undefined;
    throw asDatasetError(error, file);
  }
}
