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

/** Decodes asset bytes into `'rgb'` (`rgba: false`) or, for PNG sprites, `'rgba'`; errors name `file`. */
export function decodeAssetImage(bytes: Uint8Array, file: string, rgba: boolean): ImageFrame {
  try {
    return rgba ? decodePngRgba(bytes, { name: file }) : decodeImage(bytes, { name: file });
  } catch (error) {
    throw asDatasetError(error, file);
  }
}
