import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ModelSource } from '@dytrack/core';
import { createDyTrackClient, DyTrackClientError, type DyTrackClient, type StreamServerMessage } from '../src/index.js';
import { exportTestModel, rawRequest, startServer, testSequence, type RunningServer, type TestSequence } from './helpers.js';

const MAX_BODY = 128 * 1024;

async function expectClientError(promise: Promise<unknown>, status: number, code: string): Promise<DyTrackClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DyTrackClientError);
  expect((error as DyTrackClientError).status).toBe(status);
  expect((error as DyTrackClientError).code).toBe(code);
  return error as DyTrackClientError;
}

function openStream(url: string): Promise<{ ws: WebSocket; messages: StreamServerMessage[] }> {
  const ws = new WebSocket(url);
  const messages: StreamServerMessage[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as StreamServerMessage));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages }));
    ws.once('error', reject);
  });
}

async function until(predicate: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('bad input and limits', () => {
  let model: ModelSource;
  let cleanup: () => Promise<void>;
  let seq: TestSequence;
  let running: RunningServer;
  let client: DyTrackClient;
  /** A session that tracks through every bad request of the other tests: the server keeps serving it. */
  let witness: string;
  let witnessFrame = 1;
  let witnessBoxes: unknown[] = [];

  async function witnessStillTracks(): Promise<void> {
    const r = await client.track(witness, seq.jpegs[witnessFrame % seq.jpegs.length]!);
    expect(r.frameIndex).toBe(witnessFrame);
    witnessBoxes.push(r.box);
    witnessFrame += 1;
  }

  beforeAll(async () => {
    ({ model, cleanup } = await exportTestModel());
    seq = testSequence(8);
    running = await startServer(model, {
      limits: { maxBodyBytes: MAX_BODY, maxSessionsPerClient: 4, maxSessions: 6, maxInFlightPerSession: 2, maxFrameSide: 1000, maxFramePixels: 400_000 },
    });
    client = createDyTrackClient(running.url);
    witness = (await client.createSession()).id;
    await client.initSession(witness, seq.jpegs[0]!, seq.initBox);
    witnessBoxes = [];
  });
  afterAll(async () => {
    await running?.stop();
    await cleanup?.();
  });

  it('answers malformed JSON with 400 INVALID_JSON naming the parse error', async () => {
    const r = await rawRequest(`${running.url}/v1/sessions`, { method: 'POST', body: '{"model": ', headers: { 'Content-Type': 'application/json' } });
    expect(r.status).toBe(400);
    expect(r.body.error!.code).toBe('INVALID_JSON');
    expect(r.body.error!.message).toMatch(/not valid JSON/);
    const array = await rawRequest(`${running.url}/v1/sessions`, { method: 'POST', body: '[1,2]', headers: { 'Content-Type': 'application/json' } });
    expect(array.status).toBe(400);
    expect(array.body.error!.message).toMatch(/must be a JSON object, got array\(2\)/);
    await witnessStillTracks();
  });

  it('answers a wrong content type with 415', async () => {
    const json = await rawRequest(`${running.url}/v1/sessions`, { method: 'POST', body: '{}', headers: { 'Content-Type': 'text/plain' } });
    expect(json.status).toBe(415);
    expect(json.body.error).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(json.body.error!.message).toMatch(/application\/json.*"text\/plain"/);
    const frame = await rawRequest(`${running.url}/v1/sessions/${witness}/frames`, { method: 'POST', body: seq.jpegs[1]!, headers: { 'Content-Type': 'image/gif' } });
    expect(frame.status).toBe(415);
    expect(frame.body.error!.message).toMatch(/image\/jpeg, image\/png or application\/octet-stream/);
    await witnessStillTracks();
  });

  it('refuses an oversize body with 413, declared or chunked', async () => {
    const big = new Uint8Array(MAX_BODY + 1024);
    const declared = await rawRequest(`${running.url}/v1/sessions/${witness}/frames?width=100&height=100`, {
      method: 'POST',
      body: big,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    expect(declared.status).toBe(413);
    expect(declared.body.error!.code).toBe('PAYLOAD_TOO_LARGE');
    expect(declared.body.error!.message).toMatch(new RegExp(`at most ${MAX_BODY}`));
    // No Content-Length: the server counts as it reads.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new Uint8Array(MAX_BODY / 4));
        controller.close();
      },
    });
    const response = await fetch(`${running.url}/v1/sessions/${witness}/frames?width=100&height=100`, {
      method: 'POST',
      body: chunks,
      headers: { 'Content-Type': 'application/octet-stream' },
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    await witnessStillTracks();
  });

  it('refuses a frame larger than the frame limits from its header, before decoding', async () => {
    // A PNG header claiming 5000x5000 pixels: refused from the IHDR alone.
    const png = new Uint8Array(seq.pngs[0]!);
    new DataView(png.buffer).setUint32(16, 5000);
    new DataView(png.buffer).setUint32(20, 5000);
    const r = await rawRequest(`${running.url}/v1/sessions/${witness}/frames`, { method: 'POST', body: png, headers: { 'Content-Type': 'image/png' } });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ code: 'FRAME_TOO_LARGE' });
    expect(r.body.error!.message).toMatch(/5000x5000/);
    await witnessStillTracks();
  });

  it('answers corrupt images with 400 INVALID_FRAME', async () => {
    const truncated = seq.jpegs[1]!.subarray(0, 300);
    const a = await rawRequest(`${running.url}/v1/sessions/${witness}/frames`, { method: 'POST', body: truncated, headers: { 'Content-Type': 'image/jpeg' } });
    expect(a.status).toBe(400);
    expect(a.body.error).toMatchObject({ code: 'INVALID_FRAME' });
    expect(a.body.error!.message).toMatch(/corrupt JPEG/);
    const garbage = new Uint8Array(2000).fill(7);
    const b = await rawRequest(`${running.url}/v1/sessions/${witness}/frames`, { method: 'POST', body: garbage, headers: { 'Content-Type': 'image/png' } });
    expect(b.status).toBe(400);
    expect(b.body.error!.message).toMatch(/corrupt PNG image: the PNG signature is missing/);
    const badPng = new Uint8Array(seq.pngs[1]!);
    badPng.fill(0, 40, 200); // inside the compressed data
    const c = await rawRequest(`${running.url}/v1/sessions/${witness}/frames`, { method: 'POST', body: badPng, headers: { 'Content-Type': 'image/png' } });
    expect(c.status).toBe(400);
    expect(c.body.error!.message).toMatch(/corrupt PNG/);
    const raw = await rawRequest(`${running.url}/v1/sessions/${witness}/frames?width=160&height=120`, { method: 'POST', body: new Uint8Array(100), headers: { 'Content-Type': 'application/octet-stream' } });
    expect(raw.status).toBe(400);
    expect(raw.body.error!.message).toBe('raw rgb frame of 160x120 needs 57600 bytes, got 100');
    // The failed frames were not counted: the witness goes on at its next frame index.
    await witnessStillTracks();
  });

  it('answers an unknown session with 404 and an unknown route with 404, a wrong method with 405', async () => {
    await expectClientError(client.track('no-such-session', seq.jpegs[1]!), 404, 'SESSION_NOT_FOUND');
    const route = await rawRequest(`${running.url}/v2/sessions`);
    expect(route.status).toBe(404);
    expect(route.body.error!.message).toMatch(/under \/v1/);
    const method = await rawRequest(`${running.url}/v1/models`, { method: 'DELETE' });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET');
    await witnessStillTracks();
  });

  it('answers a frame before init with 409 SESSION_NOT_INITIALIZED and how to initialise', async () => {
    const session = await client.createSession();
    const error = await expectClientError(client.track(session.id, seq.jpegs[1]!), 409, 'SESSION_NOT_INITIALIZED');
    expect(error.message).toMatch(/init\?box=x,y,width,height/);
    // A box outside the frame cannot initialise it either.
    await expectClientError(client.initSession(session.id, seq.jpegs[0]!, { x: 500, y: 500, width: 10, height: 10 }), 400, 'INVALID_BOX');
    const noBox = await rawRequest(`${running.url}/v1/sessions/${session.id}/init`, { method: 'POST', body: seq.jpegs[0]!, headers: { 'Content-Type': 'image/jpeg' } });
    expect(noBox.status).toBe(400);
    expect(noBox.body.error!.message).toMatch(/box=x,y,width,height/);
    await client.closeSession(session.id);
    await expectClientError(client.getSession(session.id), 404, 'SESSION_NOT_FOUND');
    await witnessStillTracks();
  });

  it('answers bad session requests with 400 naming the field', async () => {
    await expectClientError(client.createSession({ model: 'nope' }), 400, 'UNKNOWN_MODEL');
    const unknownPolicy = await rawRequest(`${running.url}/v1/sessions`, { method: 'POST', body: JSON.stringify({ policy: { type: 'magic' } }), headers: { 'Content-Type': 'application/json' } });
    expect(unknownPolicy.body.error).toMatchObject({ code: 'UNKNOWN_POLICY' });
    const e = await expectClientError(client.createSession({ policy: { type: 'confidence', threshold: 2 } }), 400, 'INVALID_ARGUMENT');
    expect(e.message).toMatch(/confidencePolicy.threshold must be a number in \[0, 1\], got 2/);
    expect(running.server.sessionCount).toBe(1);
  });

  it('refuses more frames in flight than the limit with 429, keeping the order of the accepted ones', async () => {
    const settled = await Promise.allSettled(Array.from({ length: 6 }, () => client.track(witness, seq.jpegs[2]!)));
    const ok = settled.filter((s) => s.status === 'fulfilled');
    const refused = settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason as DyTrackClientError);
    expect(ok.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect([r.status, r.code]).toEqual([429, 'TOO_MANY_IN_FLIGHT']);
    const indices = ok.map((s) => s.value.frameIndex).sort((a, b) => a - b);
    expect(indices).toEqual(indices.map((_, i) => witnessFrame + i));
    witnessFrame += ok.length;
    await witnessStillTracks();
  });

  it('pauses a WebSocket that sends faster than the session tracks instead of queueing without bound', async () => {
    const session = await client.createSession();
    const { ws, messages } = await openStream(client.streamUrl(session.id));
    ws.send(JSON.stringify({ type: 'raw-format', width: 160, height: 120 }));
    ws.send(JSON.stringify({ type: 'init', box: seq.initBox }));
    const count = 40;
    let peak = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        peak = Math.max(peak, (await client.getSession(session.id)).inFlight);
      }
    })();
    for (let i = 0; i < count; i++) ws.send(seq.frames[i % seq.frames.length]!.data);
    await until(() => messages.length === 1 + count);
    polling = false;
    await poll;
    // 40 frames of 57 KB were written at once; the server held only a few (its limit plus what one socket read carries).
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(6);
    expect(messages.slice(1).map((m) => (m as { seq: number }).seq)).toEqual(Array.from({ length: count }, (_, i) => i));
    ws.close();
    await client.closeSession(session.id);
  });

  it('survives a client that disconnects mid-stream, and its session stays usable', async () => {
    const session = await client.createSession();
    const { ws, messages } = await openStream(client.streamUrl(session.id));
    ws.send(JSON.stringify({ type: 'init', box: seq.initBox }));
    // Far more frames than the server reads ahead (it pauses the socket), so many are still unread or queued at the drop.
    for (let i = 0; i < 120; i++) ws.send(seq.jpegs[i % seq.jpegs.length]!);
    await until(() => messages.length >= 3);
    ws.terminate(); // no close handshake: the TCP connection just drops
    // Queued frames of the gone client are skipped; the session drains and answers HTTP.
    let info = await client.getSession(session.id);
    for (let tries = 0; info.inFlight > 0 && tries < 500; tries++) {
      await new Promise((r) => setTimeout(r, 20));
      info = await client.getSession(session.id);
    }
    expect(info.inFlight).toBe(0);
    expect(info.frames).toBeLessThan(119);
    expect(await client.metrics()).toMatch(/^dytrack_websocket_streams_active 0$/m);
    const next = await client.track(session.id, seq.jpegs[1]!);
    expect(next.frameIndex).toBe(info.frames + 1);
    await client.closeSession(session.id);
    await witnessStillTracks();
  });

  it('answers stream errors per message and keeps the stream open', async () => {
    const session = await client.createSession();
    const { ws, messages } = await openStream(client.streamUrl(session.id));
    ws.send('{not json');
    ws.send(new Uint8Array([1, 2, 3])); // no raw-format declared
    ws.send(seq.jpegs[1]!); // before init
    ws.send(JSON.stringify({ type: 'init', box: seq.initBox }));
    ws.send(seq.jpegs[0]!);
    ws.send(seq.jpegs[1]!);
    await until(() => messages.length === 6);
    expect(messages.map((m) => m.type)).toEqual(['ready', 'error', 'error', 'error', 'initialized', 'result']);
    expect(messages[1]).toMatchObject({ seq: null, error: { code: 'INVALID_JSON' } });
    expect(messages[2]).toMatchObject({ seq: 0, error: { code: 'INVALID_FRAME' } });
    expect(messages[3]).toMatchObject({ seq: 1, error: { code: 'SESSION_NOT_INITIALIZED' } });
    expect(messages[5]).toMatchObject({ seq: 3, result: { frameIndex: 1 } });
    // Closing the session closes its stream.
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await client.closeSession(session.id);
    expect(await closed).toBe(1000);
  });

  it('refuses a stream for an unknown session with a 404 JSON body', async () => {
    const ws = new WebSocket(`${running.url.replace('http', 'ws')}/v1/sessions/nope/stream`);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  it('refuses sessions past the per-client and total limits with 429 TOO_MANY_SESSIONS', async () => {
    const extra: string[] = [];
    while (running.server.sessionCount < 4) extra.push((await client.createSession()).id);
    const e = await expectClientError(client.createSession(), 429, 'TOO_MANY_SESSIONS');
    expect(e.message).toMatch(/per-client limit is 4/);
    // Concurrent creations do not overshoot the limit.
    await client.closeSession(extra.pop()!);
    const burst = await Promise.allSettled([client.createSession(), client.createSession(), client.createSession()]);
    expect(burst.filter((b) => b.status === 'fulfilled')).toHaveLength(1);
    expect(running.server.sessionCount).toBe(4);
    for (const b of burst) if (b.status === 'fulfilled') extra.push(b.value.id);
    for (const id of extra) await client.closeSession(id);
    await witnessStillTracks();
    const metrics = await client.metrics();
    expect(metrics).toMatch(/^dytrack_rejected_total\{limit="sessions"\} 3$/m);
    expect(metrics).toMatch(/^dytrack_rejected_total\{limit="body"\} 2$/m);
  });

  it('kept tracking the witness session correctly through all of it', () => {
    expect(witnessBoxes.length).toBeGreaterThanOrEqual(10);
    for (const b of witnessBoxes) expect(b).toMatchObject({ x: expect.any(Number), width: expect.any(Number) });
  });
});
