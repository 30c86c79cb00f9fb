/**
 * Build-time assets of the web demo (Node side): onnxruntime-web's wasm files,
 * the model directory and the built-in sample. The app serves all of them
 * itself; nothing comes from a CDN.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_FILE_NAME } from '@dytrack/core';
import { createSyntheticSequence } from '@dytrack/eval';
import { exportModel, initWeights, manifestFiles, modelConfig } from '@dytrack/model';
import { loadModelDirectory } from '@dytrack/model/node';
import type { DemoManifest } from '../protocol.js';

/** The web demo's package directory. */
export const APP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The shipped default model's directory in the monorepo. */
export const DEFAULT_MODEL_DIR = resolve(APP_ROOT, '../../packages/model/default');

/** onnxruntime-web files the app needs: `ort.min.mjs` (the non-bundled build) loads the JSEP (WebGPU + wasm) runtime. */
export const ORT_FILES = ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm'] as const;

/** Options of the built-in sample (a seeded `@dytrack/eval` procedural sequence). */
export interface SampleOptions {
  readonly seed: number;
  readonly length: number;
  readonly width: number;
  readonly height: number;
}

/** The sample the demo ships: 90 frames of 320x240 (21 MB of raw RGB). */
export const DEFAULT_SAMPLE: SampleOptions = { seed: 2024, length: 90, width: 320, height: 240 };

/** Options of {@link createDemoAssets}. */
export interface DemoAssetOptions {
  /**
   * Model directory to serve. Default: `$DYTRACK_MODEL_DIR`, else the shipped
   * default model; when neither exists, a random-init `tiny` model is exported
   * (development only: it tracks nothing, and the page says so).
   */
  readonly modelDir?: string;
  /** The built-in sample. */
  readonly sample?: SampleOptions;
  /** Called with warnings (the random-init fallback). */
  readonly warn?: (message: string) => void;
}

/** One file the app serves. */
export interface DemoAsset {
  readonly bytes: Uint8Array;
  readonly contentType: string;
}

/** Files by path relative to the app's base URL. */
export type DemoAssets = ReadonlyMap<string, DemoAsset>;

const CONTENT_TYPES: Record<string, string> = {
  '.mjs': 'text/javascript',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

/** MIME type of a served file (`application/octet-stream` for model and frame data). */
export function contentTypeOf(path: string): string {
  const dot = path.lastIndexOf('.');
  return (dot >= 0 && CONTENT_TYPES[path.slice(dot)]) || 'application/octet-stream';
}

function asset(bytes: Uint8Array, path: string): DemoAsset {
  return { bytes, contentType: contentTypeOf(path) };
}

async function modelAssets(options: DemoAssetOptions): Promise<{ files: Map<string, Uint8Array>; trained: boolean; origin: string }> {
  const dir = options.modelDir ?? process.env.DYTRACK_MODEL_DIR ?? DEFAULT_MODEL_DIR;
  const files = new Map<string, Uint8Array>();
  if (existsSync(join(dir, MANIFEST_FILE_NAME))) {
    // Verifies every file against the manifest's sha256 before it is shipped.
    const model = await loadModelDirectory(dir);
    files.set(MANIFEST_FILE_NAME, new Uint8Array(await readFile(join(dir, MANIFEST_FILE_NAME))));
    for (const { file } of manifestFiles(model.manifest)) files.set(file, await model.readFile(file));
    return { files, trained: true, origin: relative(resolve(APP_ROOT, '../..'), resolve(dir)) || basename(dir) };
  }
  if (options.modelDir !== undefined || process.env.DYTRACK_MODEL_DIR !== undefined) {
    throw new Error(`web-demo: no ${MANIFEST_FILE_NAME} in the model directory ${dir}`);
  }
  options.warn?.(`web-demo: ${DEFAULT_MODEL_DIR} has no trained model yet; serving a random-init tiny model (it will not track)`);
  const config = modelConfig('tiny');
  const exported = await exportModel(config, initWeights(config, { seed: 1, perturbAll: true }), { name: 'dytrack-tiny-random-init' });
  for (const [file, bytes] of exported.files) files.set(file, bytes);
  return { files, trained: false, origin: 'random-init tiny (development)' };
}

/** Renders the sample's frames into one raw RGB buffer, frame after frame. */
function renderSample(options: SampleOptions): { frames: Uint8Array; truth: { x: number; y: number; width: number; height: number }[] } {
  const sequence = createSyntheticSequence({ seed: options.seed, length: options.length, width: options.width, height: options.height });
  const frameBytes = options.width * options.height * 3;
  const frames = new Uint8Array(frameBytes * options.length);
  for (let i = 0; i < options.length; i++) sequence.renderFrame(i, frames.subarray(i * frameBytes, (i + 1) * frameBytes));
  const truth = sequence.groundTruth.map((b) => ({ x: b.x, y: b.y, width: b.width, height: b.height }));
  return { frames, truth };
}

/**
 * Everything the demo serves besides its bundle: `ort/*` (onnxruntime-web's
 * wasm runtime), `model/*` (the model directory), `sample/frames.rgb` and
 * `demo.json` (which says where they are and what the model is).
 */
export async function createDemoAssets(options: DemoAssetOptions = {}): Promise<DemoAssets> {
  const assets = new Map<string, DemoAsset>();
  const require = createRequire(import.meta.url);
  for (const file of ORT_FILES) {
    const path = require.resolve(`onnxruntime-web/${file}`);
    assets.set(`ort/${file}`, asset(new Uint8Array(await readFile(path)), file));
  }
  const model = await modelAssets(options);
  for (const [file, bytes] of model.files) assets.set(`model/${file}`, asset(bytes, file));
  const sampleOptions = options.sample ?? DEFAULT_SAMPLE;
  const sample = renderSample(sampleOptions);
  assets.set('sample/frames.rgb', asset(sample.frames, 'frames.rgb'));
  const manifest: DemoManifest = {
    model: { path: 'model/', trained: model.trained, origin: model.origin },
    ortPath: 'ort/',
    sample: { ...sampleOptions, frames: 'sample/frames.rgb', truth: sample.truth },
  };
  assets.set('demo.json', asset(new TextEncoder().encode(JSON.stringify(manifest)), 'demo.json'));
  return assets;
}
