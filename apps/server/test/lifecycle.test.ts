import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { ModelSource } from '@dytrack/core';
import { createDyTrackClient, createJsonLogger, DyTrackClientError } from '../src/index.js';
import { exportTestModel, rawRequest, startServer, testSequence, type TestSequence } from './helpers.js';

describe('session lifetime, auth and shutdown', () => {
  let model: ModelSource;
  let dir: string;
  let cleanup: () => Promise<void>;
  let seq: TestSequence;

  beforeAll(async () => {
    ({ model, dir, cleanup } = await exportTestModel());
    seq = testSequence(4);
  });
  afterAll(async () => {
    await cleanup?.();
  });

  it('expires idle sessions, closes their streams and frees their trackers', async () => {
    const running = await startServer(model, { limits: { sessionIdleMs: 1000 } });
    try {
      const client = createDyTrackClient(running.url);
      const a = await client.createSession();
      // An open but silent stream does not keep its session alive.
      const ws = new WebSocket(client.streamUrl(a.id));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, String(reason)])));
      const b = await client.createSession();
      await client.initSession(b.id, seq.jpegs[0]!, seq.initBox);
      await client.track(b.id, seq.jpegs[1]!);
      expect(running.server.loadedModels).toBe(4); // template encoder and 3 stages, shared by both sessions
      expect(await closed).toEqual([1001, 'session expired']);
      // b was used later; wait for it without touching it.
      for (let i = 0; i < 100 && running.server.sessionCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
      await expect(client.getSession(b.id)).rejects.toMatchObject({ status: 404, code: 'SESSION_NOT_FOUND' });
      expect(running.server.sessionCount).toBe(0);
      expect(running.server.loadedModels).toBe(0);
      expect(await client.metrics()).toMatch(/^dytrack_sessions_closed_total\{reason="expired"\} 2$/m);
    } finally {
      await running.stop();
    }
  });

  it('keeps a session alive while it is used', async () => {
    const running = await startServer(model, { limits: { sessionIdleMs: 400 } });
    try {
      const client = createDyTrackClient(running.url);
      const s = await client.createSession();
      await client.initSession(s.id, seq.jpegs[0]!, seq.initBox);
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 100));
        await client.track(s.id, seq.jpegs[1 + (i % 3)]!);
      }
      expect((await client.getSession(s.id)).frames).toBe(8);
    } finally {
      await running.stop();
    }
  });

  it('requires a bearer token when auth is on (health excepted)', async () => {
    const running = await startServer(model, { auth: { tokens: ['s3cret', 'other'] }, limits: { maxSessionsPerClient: 1 } });
    try {
      const anonymous = createDyTrackClient(running.url);
      expect((await anonymous.health()).status).toBe('ok');
      const e = await anonymous.listModels().catch((error: unknown) => error as DyTrackClientError);
      expect(e).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
      const wrong = await rawRequest(`${running.url}/v1/models`, { headers: { Authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toMatch(/invalid_token/);
      const authed = createDyTrackClient(running.url, { token: 's3cret' });
      const s = await authed.createSession();
      // Sessions are counted per token: this token is at its limit, the other is not.
      await expect(authed.createSession()).rejects.toMatchObject({ status: 429 });
      const other = await createDyTrackClient(running.url, { token: 'other' }).createSession();
      const ws = new WebSocket(authed.streamUrl(s.id));
      expect(await new Promise<number>((resolve) => ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)))).toBe(401);
      const ok = new WebSocket(authed.streamUrl(s.id), { headers: { Authorization: 'Bearer s3cret' } });
      const ready = await new Promise<string>((resolve) => ok.once('message', (d) => resolve(String(d))));
      expect(JSON.parse(ready)).toMatchObject({ type: 'ready', session: { id: s.id } });
      ok.close();
      await authed.closeSession(other.id);
    } finally {
      await running.stop();
    }
  });

  it('shuts down gracefully: frames in flight finish, streams close, sessions are disposed', async () => {
    const running = await startServer(model);
    const client = createDyTrackClient(running.url);
    const s = await client.createSession();
    await client.initSession(s.id, seq.jpegs[0]!, seq.initBox);
    const ws = new WebSocket(client.streamUrl(s.id));
    await new Promise((resolve) => ws.once('open', resolve));
    const streamClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    const before = (await client.getSession(s.id)).frames;
    const inFlight = [client.track(s.id, seq.jpegs[1]!), client.track(s.id, seq.jpegs[2]!)];
    // Close once the server holds both frames (accepted or answered): a request still on its way
    // to an idle keep-alive connection when the server closes is refused, not in flight.
    for (let info = await client.getSession(s.id); info.frames - before + info.inFlight < 2; info = await client.getSession(s.id)) {
      await new Promise((r) => setTimeout(r, 2));
    }
    const closing = running.server.close();
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.frameIndex)).toEqual([1, 2]);
    await closing;
    expect(await streamClosed).toBe(1001);
    expect(running.server.sessionCount).toBe(0);
    expect(running.server.loadedModels).toBe(0);
    await expect(client.health()).rejects.toMatchObject({ code: 'NETWORK' });
    await running.backend.dispose();
  });

  it('writes JSON-line logs', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ level: 'info', stream: { write: (l: string) => lines.push(l) }, base: { service: 'test' } });
    logger.debug('hidden');
    logger.info('hello', { session: 'abc', error: new DyTrackClientError(404, 'NOT_FOUND', 'gone') });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', msg: 'hello', service: 'test', session: 'abc', error: { name: 'DyTrackClientError', message: 'gone', code: 'NOT_FOUND' } });
  });

  it('runs as a command: logs JSON lines, serves, and exits cleanly on SIGTERM', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=@dytrack/source', '--import', 'tsx', main, '--model', `test=${dir}`, '--port', '0', '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DYTRACK_TOKEN: 'tok' },
    });
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const listening = new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        buffered += String(d);
        let nl;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
          buffered = buffered.slice(nl + 1);
          lines.push(line);
          if (line.msg === 'listening') resolve(line.url as string);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
    });
    const url = await listening;
    const client = createDyTrackClient(url, { token: 'tok' });
    expect((await client.listModels()).map((m) => m.name)).toEqual(['test']);
    const s = await client.createSession();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'session created', 'signal received', 'shutting down', 'session closed', 'stopped']));
    expect(lines.find((l) => l.msg === 'session closed')).toMatchObject({ session: s.id, reason: 'shutdown' });
    expect(lines.every((l) => typeof l.time === 'string' && l.service === 'dytrack-server')).toBe(true);
  });
});
