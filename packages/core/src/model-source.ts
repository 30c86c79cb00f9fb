import { ModelMismatchError } from './errors.js';
import type { ModelManifest } from './manifest.js';

/**
 * A model as the tracker consumes it: the parsed manifest and a way to read
 * the files it names. Loaders (`@dytrack/model`'s directory and URL loaders,
 * or {@link inMemoryModel}) produce it.
 */
export interface ModelSource {
  readonly manifest: ModelManifest;
  /**
   * Bytes of a file named by the manifest (path relative to the manifest),
   * already checked against the manifest's sha256.
   */
  readFile(file: string): Promise<Uint8Array>;
}

/** Lower-case hex sha256 of bytes (WebCrypto: Node 20 and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  const view = new Uint8Array(digest);
  let hex = '';
  for (let i = 0; i < view.length; i++) hex += view[i]!.toString(16).padStart(2, '0');
  return hex;
}

/** Throws {@link ModelMismatchError} when `bytes` do not hash to `expected`. */
export async function verifySha256(bytes: Uint8Array, expected: string, file: string): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected) {
    throw new ModelMismatchError(`${file}: sha256 is ${actual} but the manifest says ${expected}; the file does not belong to this manifest`);
  }
}

/**
 * A {@link ModelSource} over files held in memory (a `Map`, such as an export's
 * `files`, or a plain object), verified on read.
 */
export function inMemoryModel(manifest: ModelManifest, files: ReadonlyMap<string, Uint8Array> | Readonly<Record<string, Uint8Array>>): ModelSource {
  const lookup = (file: string): Uint8Array | undefined =>
    files instanceof Map ? files.get(file) : Object.prototype.hasOwnProperty.call(files, file) ? (files as Record<string, Uint8Array>)[file] : undefined;
  return {
    manifest,
    async readFile(file: string): Promise<Uint8Array> {
      const bytes = lookup(file);
      if (!bytes) throw new ModelMismatchError(`${file}: named by the manifest but not among the model's files`);
      const graph = [manifest.templateEncoder, ...manifest.stages].find((g) => g?.file === file);
      if (graph) await verifySha256(bytes, graph.sha256, file);
      return bytes;
    },
  };
}
