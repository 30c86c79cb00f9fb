import { DyTrackError, InvalidArgumentError } from '@dytrack/core';

/** Element types of the safetensors format this package reads and writes. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each {@link SafetensorsDType}. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** One tensor of a safetensors file: its type, shape and raw little-endian bytes. */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Raw little-endian element bytes, row-major. */
  readonly data: Uint8Array;
}

/** A parsed safetensors file. Tensors keep the file's header order. */
export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafetensorsTensor>;
  /** The optional `__metadata__` string map. */
  readonly metadata: Readonly<Record<string, string>>;
}

/** A safetensors file that does not follow the format; `tensor` names the culprit when there is one. */
export class SafetensorsError extends DyTrackError {
  /** Name of the offending tensor, when the problem is one tensor's. */
  readonly tensor: string | undefined;

  constructor(message: string, tensor?: string) {
    super('INVALID_MODEL', tensor === undefined ? `safetensors: ${message}` : `safetensors: tensor "${tensor}": ${message}`);
    this.name = 'SafetensorsError';
    this.tensor = tensor;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Elements of a shape. */
function count(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Parses safetensors bytes: an 8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?}`,
 * then the data buffer. Tensor data are views into `bytes` (no copy). Throws
 * {@link SafetensorsError} naming the tensor whose entry or bytes are bad.
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (bytes.byteLength < 8) throw new SafetensorsError(`file of ${bytes.byteLength} bytes is shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.byteLength - 8)) {
    throw new SafetensorsError(`header length ${headerLength} exceeds the file (${bytes.byteLength - 8} bytes after the length); truncated file?`);
  }
  // The reference implementation refuses headers above 100 MB; so do we (a corrupt length would otherwise allocate it).
  if (headerLength > 100_000_000n) throw new SafetensorsError(`header length ${headerLength} exceeds the format's 100 MB limit`);
  const n = Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new SafetensorsError('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, SafetensorsTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry) || Object.values(entry).some((v) => typeof v !== 'string')) {
        throw new SafetensorsError('__metadata__ must be an object of strings');
      }
      metadata = { ...(entry as Record<string, string>) };
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw new SafetensorsError('header entry is not an object', name);
    const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPE_BYTES)) throw new SafetensorsError(`unsupported dtype ${JSON.stringify(dtype)}`, name);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new SafetensorsError('shape must be an array of non-negative integers', name);
    if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isInteger(o) || o < 0) || offsets[1] < offsets[0]) {
      throw new SafetensorsError('data_offsets must be [begin, end] with 0 <= begin <= end', name);
    }
    const [begin, end] = offsets as [number, number];
    const dt = dtype as SafetensorsDType;
    const expected = count(shape as number[]) * SAFETENSORS_DTYPE_BYTES[dt];
    if (end - begin !== expected) throw new SafetensorsError(`data_offsets span ${end - begin} bytes but ${dt} [${(shape as number[]).join(', ')}] needs ${expected}`, name);
    if (end > dataLength) throw new SafetensorsError(`data ends at byte ${end} but the data buffer has only ${dataLength} bytes (truncated file)`, name);
    spans.push([begin, end, name]);
    tensors.set(name, { dtype: dt, shape: [...(shape as number[])], data: bytes.subarray(dataStart + begin, dataStart + end) });
  }
  // The format requires the buffers to tile the data section with no overlap or hole.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cursor = 0;
  for (const [begin, end, name] of spans) {
    if (begin !== cursor) throw new SafetensorsError(begin < cursor ? `data overlaps the previous tensor's (begins at ${begin}, previous ends at ${cursor})` : `hole in the data buffer before this tensor (begins at ${begin}, previous ends at ${cursor})`, name);
    cursor = end;
  }
  if (cursor !== dataLength) throw new SafetensorsError(`${dataLength - cursor} bytes after the last tensor's data`);
  return { tensors, metadata };
}

/**
 * Serialises tensors to safetensors bytes, in the given order, with the header
 * padded by spaces to an 8-byte boundary (as the reference implementation does).
 * `write(read(bytes))` reproduces files this function wrote, bit for bit.
 */
export function writeSafetensors(tensors: Iterable<readonly [string, SafetensorsTensor]>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const list: [string, SafetensorsTensor][] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__' || name.length === 0) throw new InvalidArgumentError(`safetensors: invalid tensor name ${JSON.stringify(name)}`);
    if (Object.prototype.hasOwnProperty.call(header, name)) throw new InvalidArgumentError(`safetensors: tensor "${name}" given twice`);
    const expected = count(t.shape) * SAFETENSORS_DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== expected) throw new InvalidArgumentError(`safetensors: tensor "${name}" has ${t.data.byteLength} bytes but ${t.dtype} [${t.shape.join(', ')}] needs ${expected}`);
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + expected] };
    list.push([name, t]);
    offset += expected;
  }
  let json = JSON.stringify(header);
  let headerBytes = new TextEncoder().encode(json);
  const pad = (8 - (headerBytes.byteLength % 8)) % 8;
  if (pad > 0) {
    json += ' '.repeat(pad);
    headerBytes = new TextEncoder().encode(json);
  }
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const [, t] of list) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Raw bytes of a typed array (a view, no copy). */
export function typedArrayBytes(array: ArrayBufferView): Uint8Array {
  if (!LITTLE_ENDIAN) throw new DyTrackError('UNSUPPORTED', 'safetensors I/O needs a little-endian machine');
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** A copy of little-endian bytes as a Float32Array (aligned). */
export function bytesToFloat32(data: Uint8Array): Float32Array {
  if (!LITTLE_ENDIAN) throw new DyTrackError('UNSUPPORTED', 'safetensors I/O needs a little-endian machine');
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return new Float32Array(copy.buffer);
}
