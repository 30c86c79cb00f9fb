/**
 * `@dytrack/model/node`: the Node-only parts of `@dytrack/model` (file-system
 * loading and writing of model directories and safetensors files). Kept apart
 * so browser bundles of `@dytrack/model` never import `node:fs`.
 *
 * @packageDocumentation
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DyTrackError, InvalidArgumentError, MANIFEST_FILE_NAME, ModelMismatchError, parseManifest, verifySha256, type ModelSource } from '@dytrack/core';
import { architectureFromManifest, type ModelConfig } from './config.js';
import type { ExportedModel } from './export.js';
import { manifestFiles } from './loader.js';
import { weightsFromOnnxFiles, weightsFromSafetensors, weightsToSafetensors, type ModelWeights, type ReadWeightsOptions, type WriteWeightsOptions } from './weights.js';

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(`${what}: cannot read ${path}${code ? ` (${code})` : ''}`, { cause: e });
  }
}

/**
 * A {@link ModelSource} over a model directory: reads and parses
 * `dytrack.model.json` and checks that every file it names exists and matches
 * its sha256 (so a bad directory fails here, not mid-tracking). The first
 * `readFile` of each file hands over the bytes verified at load (no second read
 * and hash); later calls re-read and re-verify.
 */
export async function loadModelDirectory(dir: string): Promise<ModelSource> {
  const root = resolve(dir);
  const manifest = parseManifest(new TextDecoder().decode(await readBytes(join(root, MANIFEST_FILE_NAME), 'loadModelDirectory')));
  const known = new Map(manifestFiles(manifest).map((f) => [f.file, f.sha256]));
  const read = async (file: string): Promise<Uint8Array> => {
    const expected = known.get(file);
    if (expected === undefined) throw new ModelMismatchError(`${file}: not a file named by the manifest in ${root}`);
    const bytes = await readBytes(join(root, file), 'loadModelDirectory');
    await verifySha256(bytes, expected, file);
    return bytes;
  };
  const verified = new Map<string, Uint8Array>();
  for (const file of known.keys()) verified.set(file, await read(file));
  return {
    manifest,
    async readFile(file: string): Promise<Uint8Array> {
      const bytes = verified.get(file);
      if (bytes === undefined) return read(file);
      verified.delete(file); // handed over once; not kept alive by the source
      return bytes;
    },
  };
}

/** Writes the result of `exportModel` (an {@link ExportedModel}) into `dir` (created if needed). Returns the written paths. */
export async function writeModelDirectory(dir: string, exported: ExportedModel): Promise<string[]> {
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const written: string[] = [];
  for (const [file, bytes] of exported.files) {
    const path = join(root, file);
    await writeFile(path, bytes);
    written.push(path);
  }
  return written;
}

/** Reads model weights from a `.safetensors` file (see `weightsFromSafetensors`). */
export async function readWeightsFile(path: string, config: ModelConfig, options?: ReadWeightsOptions): Promise<Map<string, Float32Array>> {
  return weightsFromSafetensors(config, await readBytes(path, 'readWeightsFile'), options);
}

/** Writes model weights to a `.safetensors` file (see `weightsToSafetensors`). */
export async function writeWeightsFile(path: string, config: ModelConfig, weights: ModelWeights, options?: WriteWeightsOptions): Promise<void> {
  await writeFile(path, weightsToSafetensors(config, weights, options));
}

/**
 * The architecture and weights of an exported model directory (files verified against the
 * manifest's sha256, weights read back from the ONNX files with `weightsFromOnnxFiles`):
 * what fine-tuning a shipped model starts from.
 *
 * @throws ModelMismatchError when the manifest records no architecture (not exported by
 * `@dytrack/model`) or the files lack its parameters.
 */
export async function readModelDirectoryWeights(dir: string): Promise<{ config: ModelConfig; weights: Map<string, Float32Array> }> {
  const source = await loadModelDirectory(dir);
  const config = architectureFromManifest(source.manifest);
  if (!config) throw new ModelMismatchError(`${resolve(dir)}: the manifest records no architecture (provenance.architecture), so its weights cannot be named`);
  const files: Uint8Array[] = [];
  for (const f of manifestFiles(source.manifest)) files.push(await source.readFile(f.file));
  return { config, weights: weightsFromOnnxFiles(config, files) };
}

/**
 * Directory of the shipped default model (`tiny`, trained by `@dytrack/train`):
 * `default/` at the root of this package. The training pipeline writes it there.
 */
export const DEFAULT_MODEL_DIRECTORY: string = fileURLToPath(new URL('../default/', import.meta.url));

/**
 * The shipped default model ({@link DEFAULT_MODEL_DIRECTORY}), loaded and
 * verified like {@link loadModelDirectory}. Rejects with an `INVALID_MODEL`
 * error saying how to produce it when the package ships without one.
 */
export async function loadDefaultModel(): Promise<ModelSource> {
  try {
    await access(join(DEFAULT_MODEL_DIRECTORY, MANIFEST_FILE_NAME));
  } catch (e) {
    throw new DyTrackError(
      'INVALID_MODEL',
      `the shipped default model is missing (no ${MANIFEST_FILE_NAME} in ${DEFAULT_MODEL_DIRECTORY}); train it with \`dytrack train\` or export one there with \`dytrack export --weights FILE --out ${DEFAULT_MODEL_DIRECTORY}\`, or pass a model directory`,
      { cause: e },
    );
  }
  return loadModelDirectory(DEFAULT_MODEL_DIRECTORY);
}
