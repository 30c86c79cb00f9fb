/**
 * Load test of the DyTrack server, on loopback only, bounded in count and time.
 *
 *   node --expose-gc --conditions=@dytrack/source --import tsx apps/server/bench/load.ts \
 *        [--sessions 24] [--frames 40] [--rounds 2] [--idle-ms 10000] [--max-seconds 90] [--variant tiny|small] [--threads 1]
 *
 * Starts a server in this process on 127.0.0.1 (a random port) with a DyTrack
 * model of the chosen architecture and random weights (fixed seed), then runs
 * `--sessions` concurrent sessions: half over HTTP (one frame at a time), half
 * over WebSocket (two frames in flight). Each tracks `--frames` JPEG frames of
 * a procedural 320x240 sequence, or stops at `--max-seconds`. HTTP sessions
 * then close themselves and WebSocket sessions are left to expire, and memory
 * is measured again. A second round shows whether what memory stays after the
 * first is reused (allocator caches) or grows (a leak). Prints throughput, p50/p95/p99 latency (client round trip)
 * and memory: before, peak and after.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createNodeBackend } from '@dytrack/backend-node';
import { createSyntheticSequence } from '@dytrack/eval';
import { decodeImage, encodeJpeg } from '@dytrack/image';
import { thresholdPolicy } from '@dytrack/exit-policies';
import { createTracker } from '@dytrack/tracker';
import { exportModel, initWeights, modelConfig } from '@dytrack/model';
import { loadModelDirectory, writeModelDirectory } from '@dytrack/model/node';
import { createJsonLogger, createServer } from '../src/index.js';
import type { LoadClientInput, LoadClientOutput } from './load-client.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '24' },
    frames: { type: 'string', default: '40' },
    'max-seconds': { type: 'string', default: '90' },
    variant: { type: 'string', default: 'tiny' },
    threads: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '2' },
    'idle-ms': { type: 'string', default: '10000' },
  },
});
const SESSIONS = Math.min(64, Math.max(1, Number(values.sessions)));
const FRAMES = Math.min(1000, Math.max(2, Number(values.frames)));
const MAX_MS = Math.min(600, Math.max(5, Number(values['max-seconds']))) * 1000;
const ROUNDS = Math.min(5, Math.max(1, Number(values.rounds)));
const IDLE_MS = Math.min(60_000, Math.max(500, Number(values['idle-ms'])));

const mb = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);
const gc = (globalThis as { gc?: () => void }).gc;
async function settleMemory(): Promise<{ rss: number; heapUsed: number }> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// ---- model and frames -------------------------------------------------------------------------
const config =
  values.variant === 'small'
    ? modelConfig('tiny', { name: 'load-small', dim: 32, heads: 2, stageDepths: [1, 1, 1], headChannels: 16, decisionHidden: 16, templateSize: 64, searchSize: 128, defaultThresholds: [0.34, 0.3, 0] })
    : modelConfig('tiny', { name: 'load-tiny', defaultThresholds: [0.34, 0.3, 0] });
const modelDir = await mkdtemp(join(tmpdir(), 'dytrack-load-'));
await writeModelDirectory(modelDir, await exportModel(config, initWeights(config, { seed: 7, perturbAll: true, std: 0.3 })));
const model = await loadModelDirectory(modelDir);
const seq = createSyntheticSequence({ seed: 11, width: 320, height: 240, length: 30 });
const jpegs = Array.from({ length: seq.length }, (_, i) => encodeJpeg(seq.renderFrame(i), 85));
const initBox = seq.groundTruth[0]!;

// ---- server -----------------------------------------------------------------------------------
const backend = createNodeBackend({ intraOpNumThreads: Number(values.threads) });
const server = createServer({
  models: { [config.name]: model },
  backend,
  limits: { maxSessions: 64, maxSessionsPerClient: 64, sessionIdleMs: IDLE_MS, maxInFlightPerSession: 2 },
  ...(process.env.LOAD_DEBUG ? { logger: createJsonLogger({ level: 'debug', stream: process.stderr }) } : {}),
});
const { url } = await server.listen(0, '127.0.0.1');
// Baseline: one tracker in this process, no server, the same decoded frames one after another.
{
  const tracker = await createTracker({ backend, model, exitPolicy: thresholdPolicy({ manifest: model.manifest }) });
  const frames = jpegs.map((b) => decodeImage(b, { name: 'frame.jpg' }));
  await tracker.init(frames[0]!, initBox);
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 1; i < Math.min(FRAMES, 31); i++) {
    const t = performance.now();
    await tracker.update(frames[i % frames.length]!);
    times.push(performance.now() - t);
  }
  const wall = performance.now() - t0;
  await tracker.dispose();
  times.sort((a, b) => a - b);
  console.log(`baseline, one tracker in process (no server): update p50 ${percentile(times, 50).toFixed(2)} ms, ${(times.length / (wall / 1000)).toFixed(1)} frames/s`);
}
const before = await settleMemory();
let peakRss = before.rss;
let peakHeap = before.heapUsed;
let peakSessions = 0;
const sampler = setInterval(() => {
  peakSessions = Math.max(peakSessions, server.sessionCount);
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 25);

console.log(`load: ${ROUNDS} round(s) of ${SESSIONS} sessions x ${FRAMES} frames (320x240 JPEG), model ${config.name} (${config.stageDepths.length} exits, dim ${config.dim}), loopback ${url}`);
console.log(`memory MB before any session: rss ${mb(before.rss)}, heap ${mb(before.heapUsed)}`);
for (let round = 1; round <= ROUNDS; round++) {
  peakSessions = 0;
  // The load generator runs in a worker thread: its HTTP and WebSocket clients must not share the server's thread.
  // (Started through tsx's API: a worker does not inherit the --import hooks of this thread.)
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./load-client.ts', import.meta.url).href)}); });`;
  const worker = new Worker(bootstrap, {
    eval: true,
    workerData: { url, sessions: SESSIONS, frames: FRAMES, maxMs: MAX_MS, jpegs, initBox } satisfies LoadClientInput,
  });
  const r = await new Promise<LoadClientOutput>((resolve, reject) => {
    worker.once('message', (m: LoadClientOutput) => resolve(m));
    worker.once('error', reject);
  });
  await worker.terminate(); // closes whatever connections a timed-out round left open

  const expireStart = Date.now();
  while (server.sessionCount > 0 && Date.now() - expireStart < IDLE_MS * 4) await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await settleMemory();

  const latencies = [...r.latencies].sort((a, b) => a - b);
  const trackerMs = [...r.trackerMs].sort((a, b) => a - b);
  const meanExit = r.exits.reduce((a, b) => a + b, 0) / Math.max(1, r.exits.length);
  console.log(`-- round ${round}`);
  console.log(`sessions: ${peakSessions} open at peak, set up (create + init) in ${(r.setupMs / 1000).toFixed(2)} s; ${server.sessionCount} left after close/expiry; models loaded: ${server.loadedModels}; errors: ${r.errors}`);
  if (r.errorSamples.length > 0) console.log(`first errors: ${r.errorSamples.join(' | ')}`);
  console.log(`frames: ${latencies.length} in ${(r.trackMs / 1000).toFixed(2)} s = ${(latencies.length / (r.trackMs / 1000)).toFixed(1)} frames/s`);
  console.log(`latency ms (client round trip): p50 ${percentile(latencies, 50).toFixed(2)}  p95 ${percentile(latencies, 95).toFixed(2)}  p99 ${percentile(latencies, 99).toFixed(2)}  max ${latencies[latencies.length - 1]?.toFixed(2)}`);
  console.log(`tracker time per frame ms: p50 ${percentile(trackerMs, 50).toFixed(2)} (wall time inside update, including waits for other sessions' inference on the shared thread)`);
  console.log(`mean exit index: ${meanExit.toFixed(2)} (of ${config.stageDepths.length - 1})`);
  console.log(`memory MB: rss peak ${mb(peakRss)}, after ${mb(after.rss)} (${after.rss >= before.rss ? '+' : ''}${mb(after.rss - before.rss)} vs before); heap peak ${mb(peakHeap)}, after ${mb(after.heapUsed)}${gc ? '' : ' (run with --expose-gc for settled figures)'}`);
}
clearInterval(sampler);

await server.close();
await backend.dispose();
await rm(modelDir, { recursive: true, force: true });
