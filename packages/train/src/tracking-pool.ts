import type { Worker } from 'node:worker_threads';
import { DisposedError, DyTrackError, InvalidArgumentError, type DyTrackErrorCode, type ModelManifest, type ModelSource } from '@dytrack/core';
import type { SequenceRun } from '@dytrack/eval';
import { manifestFiles } from '@dytrack/model';
import { startWorker } from './worker.js';

/** A sequence a worker can open by itself: a procedural one by seed, or one of a dataset directory's by name. */
export type SequenceSource =
  | { readonly synthetic: { readonly seed: number; readonly length: number } }
  | { readonly dataset: string; readonly name: string };

/** The exit policy a worker tracks with: always exit `exit`, or the threshold policy at `thresholds`. */
export type PolicySpec = { readonly exit: number } | { readonly thresholds: readonly number[] };

/** Options of {@link createTrackingPool}. */
export interface TrackingPoolOptions {
  /** Worker threads (default 2). */
  readonly workers?: number;
  /** onnxruntime intra-op threads per worker (default 1). */
  readonly threads?: number;
  /** The tracker's lost threshold (default: the tracker's). */
  readonly lostThreshold?: number;
}

/**
 * Tracks sequences on worker threads, one tracker per policy per worker: a model's
 * operating points measured side by side on every core. onnxruntime-node runs a session
 * on the calling thread, so threads (not promises) are what run sequences at once. Each
 * run is the same computation as in this thread, so boxes and stages are identical for
 * any number of workers; per-frame times are not solo times.
 * @internal
 */
export interface TrackingPool {
  /** Tracks every source with `policy`; runs come back in the order of `sources`. */
  track(policy: PolicySpec, sources: readonly SequenceSource[]): Promise<SequenceRun[]>;
  /** Stops the workers (pending runs are rejected). */
  close(): Promise<void>;
}

/** What a tracking worker is started with. @internal */
export interface TrackingWorkerData {
  readonly manifest: ModelManifest;
  readonly files: readonly (readonly [string, Uint8Array])[];
  readonly threads: number;
  readonly lostThreshold: number | undefined;
}

/** A request to a tracking worker. @internal */
export interface TrackingRequest {
  readonly id: number;
  readonly policy: PolicySpec;
  readonly source: SequenceSource;
}

/** Asks a tracking worker to dispose its trackers and backend, then exit. @internal */
export interface TrackingCloseRequest {
  readonly close: true;
}

/** A tracking worker's answer. @internal */
export interface TrackingReply {
  readonly id: number;
  readonly run?: SequenceRun;
  readonly error?: { readonly name: string; readonly message: string; readonly stack?: string; readonly code?: DyTrackErrorCode };
}

/** How long {@link TrackingPool.close} waits for a worker to dispose its sessions before terminating it. */
const CLOSE_GRACE_MS = 5_000;

/** A source as a person would name it, for error messages. */
function describeSource(source: SequenceSource): string {
  return 'synthetic' in source ? `synthetic sequence ${source.synthetic.seed}` : `${source.dataset}: ${source.name}`;
}

/**
 * A worker's error rebuilt in this thread: its name, its message naming what was tracked, its
 * stack as the cause. A {@link DyTrackError} stays one, with its code and class name (structured
 * clone would drop the class), so callers and the CLI treat it as an error of DyTrack's; its
 * subclass and extra fields (a `DatasetFormatError`'s `file`) do not cross: `instanceof
 * InvalidArgumentError` is false on this side.
 */
function remoteError(request: TrackingRequest, error: TrackingReply['error']): Error {
  const policy = 'exit' in request.policy ? `always exit ${request.policy.exit}` : `thresholds ${request.policy.thresholds.join(', ')}`;
  const cause = Object.assign(new Error(error?.message ?? 'unknown error'), { name: error?.name ?? 'Error', stack: error?.stack });
  const message = `tracking ${describeSource(request.source)} (${policy}) failed: ${cause.message}`;
  const rebuilt = error?.code !== undefined ? new DyTrackError(error.code, message, { cause }) : new Error(message, { cause });
  return Object.assign(rebuilt, { name: cause.name });
}

interface Task {
  readonly request: TrackingRequest;
  resolve(run: SequenceRun): void;
  reject(error: Error): void;
}

/** Starts a {@link TrackingPool} over `model` (its files are copied to each worker once). @internal */
export async function createTrackingPool(model: ModelSource, options: TrackingPoolOptions = {}): Promise<TrackingPool> {
  const count = options.workers ?? 2;
  const threads = options.threads ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError(`workers must be a positive integer, got ${String(count)}`);
  if (!Number.isInteger(threads) || threads < 1) throw new InvalidArgumentError(`threads must be a positive integer, got ${String(threads)}`);
  const files: [string, Uint8Array][] = [];
  for (const f of manifestFiles(model.manifest)) files.push([f.file, await model.readFile(f.file)]);
  const data: TrackingWorkerData = { manifest: model.manifest, files, threads, lostThreshold: options.lostThreshold };

  const queue: Task[] = [];
  const busy = new Map<Worker, Task>();
  const idle: Worker[] = [];
  let failure: Error | undefined;
  let closed = false;
  let nextId = 0;

  const fail = (error: Error): void => {
    failure ??= error;
    for (const task of [...busy.values(), ...queue.splice(0)]) task.reject(failure);
    busy.clear();
  };
  const pump = (): void => {
    while (idle.length > 0 && queue.length > 0) {
      const worker = idle.pop()!;
      const task = queue.shift()!;
      busy.set(worker, task);
      worker.postMessage(task.request);
    }
  };
  const start = (): Worker => {
    const worker = startWorker('tracking-worker', data);
    worker.on('message', (reply: TrackingReply) => {
      const task = busy.get(worker);
      // One request per worker at a time: any other answer is a protocol bug, and waiting on would hang.
      if (!task || task.request.id !== reply.id) return fail(new Error(`tracking worker answered request ${String(reply.id)} while ${task ? `request ${task.request.id}` : 'nothing'} was pending`));
      busy.delete(worker);
      idle.push(worker);
      if (reply.run) task.resolve(reply.run);
      else task.reject(remoteError(task.request, reply.error));
      pump();
    });
    worker.on('messageerror', (e) => fail(new Error(`a tracking worker's answer could not be read: ${e.message}`, { cause: e })));
    worker.on('error', (e) => fail(new Error(`tracking worker failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => {
      if (!closed) fail(new Error(`tracking worker exited with code ${code}`));
    });
    idle.push(worker);
    return worker;
  };
  const workers: Worker[] = [];
  try {
    for (let k = 0; k < count; k++) workers.push(start());
  } catch (error) {
    closed = true;
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  }
  // A worker that has not exited after disposing its sessions for CLOSE_GRACE_MS is terminated.
  const stop = (worker: Worker): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), CLOSE_GRACE_MS);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      worker.postMessage({ close: true } satisfies TrackingCloseRequest);
    });

  return {
    track(policy, sources) {
      if (closed) return Promise.reject(new DisposedError('TrackingPool'));
      if (failure) return Promise.reject(failure);
      const runs = sources.map(
        (source) =>
          new Promise<SequenceRun>((resolve, reject) => {
            queue.push({ request: { id: nextId++, policy, source }, resolve, reject });
          }),
      );
      pump();
      return Promise.all(runs);
    },
    async close() {
      if (closed) return;
      closed = true;
      fail(new DisposedError('TrackingPool'));
      await Promise.all(workers.map(stop));
    },
  };
}
