/**
 * Node-only helpers of `@dytrack/image` (they read files with `node:fs`); the
 * codecs themselves are in the package root, which needs no file system.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { ImageFrame } from '@dytrack/core';
import { decodeImage, type DecodeImageOptions } from './decode.js';
import { ImageDecodeError } from './errors.js';

/** Options of {@link readImageFile}: those of `decodeImage`, with the path as the default name. */
export type ReadImageFileOptions = DecodeImageOptions;

/**
 * Reads a JPEG or PNG file and decodes it into an `'rgb'` frame (see
 * `decodeImage`). Errors name the file.
 *
 * @throws ImageDecodeError `'unreadable'` when the file cannot be read, else
 * as `decodeImage`.
 */
export async function readImageFile(path: string, options: ReadImageFileOptions = {}): Promise<ImageFrame> {
  const name = options.name ?? path;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new ImageDecodeError('unreadable', `cannot read image: ${cause instanceof Error ? cause.message : String(cause)}`, name, { cause });
  }
  return decodeImage(bytes, { ...options, name });
}
