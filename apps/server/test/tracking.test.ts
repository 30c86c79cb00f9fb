import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { FrameResult, ImageFrame, ModelSource } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { decodeImage } from '@dytrack/image';
import { fixedDepthPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import { createTracker } from '@dytrack/tracker';
import { createDyTrackClient, type StreamServerMessage } from '../src/index.js';
import { exportTestModel, startServer, testSequence, type RunningServer, type TestSequence } from './helpers.js';

/** Boxes of the same frames tracked in process by @dytrack/tracker, the reference the server must match. */
async function trackInProcess(model: ModelSource, frames: readonly ImageFrame[], seq: TestSequence, policy: 'default' | number = 'default'): Promise<FrameResult[]> {
  const backend = createNodeBackend({ intraOpNumThreads: 1 });
  const exitPolicy = policy === 'default' ? thresholdPolicy({ manifest: model.manifest }) : fixedDepthPolicy({ exit: policy });
  const tracker = await createTracker({ backend, model, exitPolicy });
  try {
    await tracker.init(frames[0]!, seq.initBox);
    const out: FrameResult[] = [];
    for (let i = 1; i < frames.length; i++) out.push(await tracker.update(frames[i]!));
    return out;
  } finally {
    await tracker.dispose();
    await backend.dispose();
  }
}

function receiveAll(ws: WebSocket, count: number, timeoutMs = 30_000): Promise<StreamServerMessage[]> {
  const messages: StreamServerMessage[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${messages.length}/${count} messages`)), timeoutMs);
    ws.on('message', (data) => {
      messages.push(JSON.parse(String(data)) as StreamServerMessage);
      if (messages.length === count) {
        clearTimeout(timer);
        resolve(messages);
      }
    });
    ws.on('error', reject);
  });
}

describe('tracking through the server', () => {
  let model: ModelSource;
  let cleanup: () => Promise<void>;
  let seq: TestSequence;
  let running: RunningServer;
  let expectedFromJpeg: FrameResult[];
  let expectedFromRaw: FrameResult[];

  beforeAll(async () => {
    ({ model, cleanup } = await exportTestModel());
    seq = testSequence(12);
    // The server decodes JPEG with @dytrack/image too: the same pixels in both.
    expectedFromJpeg = await trackInProcess(model, seq.jpegs.map((b) => decodeImage(b, { name: 'frame.jpg' })), seq);
    expectedFromRaw = await trackInProcess(model, seq.frames, seq);
    running = await startServer(model, { limits: { maxInFlightPerSession: 2 } });
  });
  afterAll(async () => {
    await running?.stop();
    await cleanup?.();
  });

  it('tracks a JPEG sequence over HTTP with the same boxes as the tracker in process', async () => {
    const client = createDyTrackClient(running.url);
    const session = await client.createSession();
    expect(session.state).toBe('created');
    const init = await client.initSession(session.id, seq.jpegs[0]!, seq.initBox);
    expect(init).toMatchObject({ state: 'tracking', width: 160, height: 120 });
    const results: FrameResult[] = [];
    for (let i = 1; i < seq.jpegs.length; i++) results.push(await client.track(session.id, seq.jpegs[i]!));
    expect(results.map((r) => r.box)).toEqual(expectedFromJpeg.map((r) => r.box));
    expect(results.map((r) => r.exitIndex)).toEqual(expectedFromJpeg.map((r) => r.exitIndex));
    expect(results.map((r) => r.frameIndex)).toEqual(expectedFromJpeg.map((_, i) => i + 1));
    // Random weights take more than one exit on this sequence, so exit choice is really compared.
    expect(new Set(results.map((r) => r.exitIndex)).size).toBeGreaterThan(1);
    expect((await client.getSession(session.id)).frames).toBe(seq.jpegs.length - 1);
    await client.closeSession(session.id);
  });

  it('tracks raw RGB and PNG frames with the same boxes as raw frames in process', async () => {
    const client = createDyTrackClient(running.url);
    const raw = await client.createSession();
    const png = await client.createSession();
    await client.initSession(raw.id, seq.frames[0]!, seq.initBox);
    await client.initSession(png.id, seq.pngs[0]!, seq.initBox);
    const rawBoxes = [];
    const pngBoxes = [];
    for (let i = 1; i < seq.frames.length; i++) {
      // Interleaved: two sessions on one server keep separate state.
      rawBoxes.push((await client.track(raw.id, seq.frames[i]!)).box);
      pngBoxes.push((await client.track(png.id, seq.pngs[i]!)).box);
    }
    expect(rawBoxes).toEqual(expectedFromRaw.map((r) => r.box));
    // PNG is lossless: it decodes to the raw pixels (as RGBA).
    expect(pngBoxes).toEqual(expectedFromRaw.map((r) => r.box));
    await client.closeSession(raw.id);
    await client.closeSession(png.id);
  });

  it('streams a sequence over a WebSocket: every frame answered in order with the in-process boxes', async () => {
    const client = createDyTrackClient(running.url);
    const session = await client.createSession();
    const ws = new WebSocket(client.streamUrl(session.id));
    // ready + initialized + one result per update.
    const all = receiveAll(ws, 1 + seq.jpegs.length);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ type: 'init', box: seq.initBox }));
    // Everything at once: more frames than the in-flight limit, so the server must pause the socket, not drop or reorder.
    for (const jpeg of seq.jpegs) ws.send(jpeg);
    const messages = await all;
    expect(messages[0]!.type).toBe('ready');
    expect(messages[1]).toMatchObject({ type: 'initialized', seq: 0 });
    const results = messages.slice(2);
    expect(results.map((m) => m.type)).toEqual(results.map(() => 'result'));
    expect(results.map((m) => (m as { seq: number }).seq)).toEqual(expectedFromJpeg.map((_, i) => i + 1));
    expect(results.map((m) => (m as { result: FrameResult }).result.box)).toEqual(expectedFromJpeg.map((r) => r.box));
    ws.close();
    await client.closeSession(session.id);
  });

  it('streams raw frames declared by a raw-format message', async () => {
    const client = createDyTrackClient(running.url);
    const session = await client.createSession();
    const ws = new WebSocket(client.streamUrl(session.id));
    const all = receiveAll(ws, 1 + seq.frames.length);
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send(JSON.stringify({ type: 'raw-format', width: 160, height: 120, format: 'rgb' }));
    ws.send(JSON.stringify({ type: 'init', box: seq.initBox }));
    for (const f of seq.frames) ws.send(f.data);
    const results = (await all).slice(2) as Extract<StreamServerMessage, { type: 'result' }>[];
    expect(results.map((m) => m.result.box)).toEqual(expectedFromRaw.map((r) => r.box));
    ws.close();
  });

  it('runs the exit policy a session asks for, and swaps it between frames', async () => {
    const client = createDyTrackClient(running.url);
    const session = await client.createSession({ policy: { type: 'fixedDepth', exit: 0 } });
    expect(session.policyName).toBe('fixedDepth(0)');
    await client.initSession(session.id, seq.jpegs[0]!, seq.initBox);
    const first = await client.track(session.id, seq.jpegs[1]!);
    expect(first.exitIndex).toBe(0);
    const updated = await client.setPolicy(session.id, { type: 'anyOf', policies: [{ type: 'fixedDepth', exit: 2 }, { type: 'confidence', threshold: 1 }] });
    expect(updated.policyName).toBe('anyOf(fixedDepth(2), confidence(1))');
    const second = await client.track(session.id, seq.jpegs[2]!);
    expect(second.exitIndex).toBe(2);
    expect(second.stagesRun).toBe(3);
    await client.closeSession(session.id);
  });

  it('lists models and policies, and serves health, metrics and its OpenAPI description', async () => {
    const client = createDyTrackClient(running.url);
    const [models, policies, health] = await Promise.all([client.listModels(), client.listPolicies(), client.health()]);
    expect(models).toEqual([{ name: 'server-test', variant: 'tiny', exits: 3, defaultThresholds: [0.34, 0.3, 0], templateSize: 64, searchSize: 128 }]);
    expect(policies.map((p) => p.type)).toEqual(['threshold', 'confidence', 'fixedDepth', 'latencyBudget', 'temporalConsistency', 'anyOf', 'allOf']);
    expect(health.status).toBe('ok');

    const metrics = await client.metrics();
    // The earlier tests tracked 11 + 22 + 11 + 11 + 2 frames.
    expect(metrics).toMatch(/^dytrack_frames_total 57$/m);
    expect(metrics).toMatch(/^dytrack_frame_latency_seconds_count 6\d$/m);
    expect(metrics).toMatch(/^dytrack_frame_exit_index_bucket\{le="\+Inf"\} 57$/m);
    expect(metrics).toMatch(/^dytrack_sessions_created_total 6$/m);
    expect(metrics).toMatch(/^# TYPE dytrack_frame_latency_seconds histogram$/m);

    const doc = await client.openApi();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths as object).sort()).toEqual(
      ['/v1/health', '/v1/metrics', '/v1/models', '/v1/openapi.json', '/v1/policies', '/v1/sessions', '/v1/sessions/{id}', '/v1/sessions/{id}/frames', '/v1/sessions/{id}/init', '/v1/sessions/{id}/policy', '/v1/sessions/{id}/stream'].sort(),
    );
  });
});
