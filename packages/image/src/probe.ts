/**
 * Signature sniffing and header probing, also published alone as
 * `@dytrack/image/probe`: it imports no codec, so a browser client that only
 * needs to recognise an image pulls in no `jpeg-js` or `pngjs`.
 *
 * @module
 */
import { ImageDecodeError } from './errors.js';

// The errors probeImage throws, so the probe entry point is usable on its own.
export { ImageDecodeError, type ImageProblem } from './errors.js';

/** The two image formats DyTrack reads and writes. */
export type ImageType = 'jpeg' | 'png';

/** What {@link probeImage} reads from an image header. */
export interface ImageInfo {
  /** The format, from the signature. */
  readonly type: ImageType;
  /** Width in pixels as the header declares it (may be 0 in a broken file). */
  readonly width: number;
  /** Height in pixels as the header declares it (may be 0 in a broken file). */
  readonly height: number;
}

/** Options of {@link probeImage}. */
export interface ProbeImageOptions {
  /** File path or name used in error messages. */
  readonly name?: string;
  /** Require this format: other bytes are reported as a corrupt image of this type, missing its signature. */
  readonly type?: ImageType;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

/** `'jpeg'` or `'png'` from the file signature (the first bytes), or undefined for anything else. */
export function sniffImageType(bytes: Uint8Array): ImageType | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  return undefined;
}

function corrupt(type: ImageType, why: string, name: string | undefined): ImageDecodeError {
  return new ImageDecodeError('corrupt', `corrupt ${type === 'jpeg' ? 'JPEG' : 'PNG'} image: ${why}`, name);
}

/** Width and height from a PNG's IHDR chunk (bytes 16..24), which must come first. */
function pngSize(bytes: Uint8Array, name: string | undefined): { width: number; height: number } {
  // Signature (8), chunk length (4), "IHDR" (4), width (4), height (4).
  if (bytes.length < 24 || bytes[12] !== 0x49 || bytes[13] !== 0x48 || bytes[14] !== 0x44 || bytes[15] !== 0x52) {
    throw corrupt('png', 'the IHDR chunk is missing', name);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Width and height from a JPEG's start-of-frame segment, walking the marker segments. */
function jpegSize(bytes: Uint8Array, name: string | undefined): { width: number; height: number } {
  let i = 2;
  const n = bytes.length;
  while (i + 1 < n) {
    if (bytes[i] !== 0xff) throw corrupt('jpeg', `expected a marker at byte ${i}`, name);
    let marker = bytes[i + 1]!;
    // Fill bytes: any number of 0xff before the marker code.
    while (marker === 0xff && i + 2 < n) {
      i++;
      marker = bytes[i + 1]!;
    }
    i += 2;
    // Stand-alone markers carry no length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) break; // end of image, or image data before any frame header
    if (i + 1 >= n) break;
    const length = (bytes[i]! << 8) | bytes[i + 1]!;
    if (length < 2) throw corrupt('jpeg', `segment length ${length} at byte ${i}`, name);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range.
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isStartOfFrame) {
      if (i + 6 >= n) break;
      return { height: (bytes[i + 3]! << 8) | bytes[i + 4]!, width: (bytes[i + 5]! << 8) | bytes[i + 6]! };
    }
    i += length;
  }
  throw corrupt('jpeg', 'no frame header (SOF) before the image data; the file is truncated or not a JPEG', name);
}

/**
 * Reads an image's format and size from its header without decoding any
 * pixel, so a caller can refuse an oversize image before paying for it. The
 * cost is a walk over the header segments (a few hundred bytes).
 *
 * @throws {@link ImageDecodeError} `'unrecognized'` for bytes that are neither
 * JPEG nor PNG, `'corrupt'` for a damaged header (or, with `type`, for bytes
 * without that format's signature).
 */
export function probeImage(bytes: Uint8Array, options: ProbeImageOptions = {}): ImageInfo {
  const { name, type: expected } = options;
  const type = sniffImageType(bytes);
  if (expected !== undefined && type !== expected) {
    throw corrupt(expected, expected === 'jpeg' ? 'the JPEG signature (FF D8 FF) is missing' : 'the PNG signature is missing', name);
  }
  if (type === undefined) {
    throw new ImageDecodeError('unrecognized', `not a JPEG or PNG image (${bytes.length === 0 ? 'the file is empty' : 'unknown signature'})`, name);
  }
  const size = type === 'png' ? pngSize(bytes, name) : jpegSize(bytes, name);
  return { type, ...size };
}
