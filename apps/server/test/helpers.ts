import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Box, ImageFrame, InferenceBackend, ModelSource } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { createSyntheticSequence } from '@dytrack/eval';
import { encodeJpeg, encodePng } from '@dytrack/image';
import { exportModel, initWeights, modelConfig } from '@dytrack/model';
import { loadModelDirectory, writeModelDirectory } from '@dytrack/model/node';
import { createServer, type CreateServerOptions, type DyTrackServer } from '../src/index.js';

/**
 * A small DyTrack model with random weights (fixed seed), exported by
 * @dytrack/model into a temp directory and loaded back from it, as a
 * deployment would. Random weights still give deterministic boxes.
 */
export async function exportTestModel(seed = 7): Promise<{ dir: string; model: ModelSource; cleanup: () => Promise<void> }> {
  const config = modelConfig('tiny', {
    name: 'server-test',
    dim: 32,
    heads: 2,
    stageDepths: [1, 1, 1],
    headChannels: 16,
    decisionHidden: 16,
    templateSize: 64,
    searchSize: 128,
    // Thresholds inside the range of this model's terminating scores on the test sequence, so frames take different exits.
    defaultThresholds: [0.34, 0.3, 0],
    // The thresholds above were read off this exact random network: per-cell heads and timm's init.
    sizeConvLayers: 0,
  });
  // A wide init (std 0.3) makes the random network's boxes and scores depend on the frame (at 0.02 they barely move).
  const weights = initWeights(config, { seed, perturbAll: true, std: 0.3, positionEmbedding: 'trunc-normal', queryKey: 'independent' });
  const exported = await exportModel(config, weights);
  const dir = await mkdtemp(join(tmpdir(), 'dytrack-server-model-'));
  await writeModelDirectory(dir, exported);
  const model = await loadModelDirectory(dir);
  return { dir, model, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Frames of a procedural sequence, raw and encoded, with the first truth box. */
export interface TestSequence {
  readonly frames: readonly ImageFrame[];
  readonly jpegs: readonly Uint8Array[];
  readonly pngs: readonly Uint8Array[];
  readonly initBox: Box;
}

/** A short procedural sequence (deterministic) as raw RGB, JPEG and PNG. */
export function testSequence(length = 12, seed = 3): TestSequence {
  const seq = createSyntheticSequence({ seed, width: 160, height: 120, length, blur: false });
  const frames: ImageFrame[] = [];
  for (let i = 0; i < length; i++) {
    const f = seq.renderFrame(i);
    frames.push({ data: new Uint8Array(f.data), width: f.width, height: f.height, format: 'rgb' });
  }
  return {
    frames,
    jpegs: frames.map((f) => encodeJpeg(f, 90)),
    pngs: frames.map((f) => encodePng(f)),
    initBox: seq.groundTruth[0]!,
  };
}

/** A running server on 127.0.0.1 (port 0) with its own backend. */
export interface RunningServer {
  readonly server: DyTrackServer;
  readonly url: string;
  readonly backend: InferenceBackend;
  stop(): Promise<void>;
}

/** Starts a real server on a loopback port. */
export async function startServer(model: ModelSource, options: Partial<CreateServerOptions> = {}): Promise<RunningServer> {
  const backend = options.backend ?? createNodeBackend({ intraOpNumThreads: 1 });
  const server = createServer({ models: { 'server-test': model }, backend, ...options });
  const { url } = await server.listen(0, '127.0.0.1');
  return {
    server,
    url,
    backend,
    async stop() {
      await server.close();
      if (!options.backend) await backend.dispose();
    },
  };
}

/** Raw HTTP request with fetch, returning status, headers and the parsed JSON body. */
export async function rawRequest(
  url: string,
  init: { method?: string; body?: Uint8Array | string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: { error?: { code: string; message: string } } & Record<string, unknown> }> {
  const response = await fetch(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body as BodyInit } : {}) });
  const text = await response.text();
  let body: Record<string, unknown> = {};
  if (text !== '') body = JSON.parse(text) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, body };
}
