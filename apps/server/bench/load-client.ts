/**
 * The load generator of bench/load.ts, run in a worker thread so that its
 * clients do not compete with the server for the server's thread. Runs one
 * round: creates and initialises the sessions, tracks with half over HTTP
 * (one frame at a time, then DELETE) and half over WebSocket (two frames in
 * flight, then left to expire), and posts the measurements back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';
import type { Box } from '@dytrack/core';
import { createDyTrackClient, type StreamServerMessage } from '../src/index.js';

/** What the worker is given. */
export interface LoadClientInput {
  readonly url: string;
  readonly sessions: number;
  readonly frames: number;
  readonly maxMs: number;
  readonly jpegs: readonly Uint8Array[];
  readonly initBox: Box;
}

/** What it posts back. */
export interface LoadClientOutput {
  readonly latencies: number[];
  readonly exits: number[];
  readonly trackerMs: number[];
  readonly errors: number;
  readonly errorSamples: string[];
  readonly setupMs: number;
  readonly trackMs: number;
}

const input = workerData as LoadClientInput;
const { url, sessions, frames, jpegs, initBox } = input;
const client = createDyTrackClient(url);
const latencies: number[] = [];
const exits: number[] = [];
const trackerMs: number[] = [];
const errorSamples: string[] = [];
let errors = 0;
const noteError = (what: string): void => {
  errors++;
  if (errorSamples.length < 3) errorSamples.push(what);
};

const started = performance.now();
const ids = await Promise.all(
  Array.from({ length: sessions }, async () => {
    const s = await client.createSession();
    await client.initSession(s.id, jpegs[0]!, initBox);
    return s.id;
  }),
);
const setupMs = performance.now() - started;
const deadline = Date.now() + input.maxMs;

async function httpSession(id: string): Promise<void> {
  for (let i = 1; i < frames && Date.now() < deadline; i++) {
    const t0 = performance.now();
    const r = await client.track(id, jpegs[i % jpegs.length]!);
    latencies.push(performance.now() - t0);
    exits.push(r.exitIndex);
    trackerMs.push(r.timings.totalMs);
  }
  await client.closeSession(id);
}

function wsSession(id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(client.streamUrl(id));
    const sentAt = new Map<number, number>();
    let sent = 0;
    let received = 0;
    const window = 2;
    const pump = (): void => {
      while (sent < frames - 1 && sent - received < window && Date.now() < deadline) {
        sentAt.set(sent, performance.now());
        ws.send(jpegs[(sent + 1) % jpegs.length]!);
        sent++;
      }
      if (received === sent && (sent === frames - 1 || Date.now() >= deadline)) {
        ws.close();
        resolve();
      }
    };
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as StreamServerMessage;
      if (m.type === 'ready') return pump();
      if (m.type === 'error') noteError(`${m.error.code}: ${m.error.message}`);
      if (m.type === 'result') {
        latencies.push(performance.now() - sentAt.get(m.seq)!);
        exits.push(m.result.exitIndex);
        trackerMs.push(m.result.timings.totalMs);
      }
      received++;
      pump();
    });
    ws.on('error', reject);
    // The server closes the stream when the session expires or the server stops: end with what arrived.
    ws.on('close', (code, reason) => {
      if (received < sent || (sent < frames - 1 && Date.now() < deadline)) noteError(`stream closed early (${code} ${String(reason)}) after ${received} results`);
      resolve();
    });
  });
}

const trackStart = performance.now();
// Bounded in time whatever happens: past the deadline plus a grace period, report what was measured.
const hardStop = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), input.maxMs + 30_000).unref());
const all = Promise.allSettled(ids.map((id, k) => (k % 2 === 0 ? httpSession(id) : wsSession(id))));
const outcomes = await Promise.race([all, hardStop]);
const trackMs = performance.now() - trackStart;
if (outcomes === 'timeout') noteError('some sessions did not finish within --max-seconds + 30 s');
else for (const o of outcomes) if (o.status === 'rejected') noteError(String((o.reason as Error)?.message ?? o.reason));
parentPort!.postMessage({ latencies, exits, trackerMs, errors, errorSamples, setupMs, trackMs } satisfies LoadClientOutput);
