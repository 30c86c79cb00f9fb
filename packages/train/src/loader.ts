import { DisposedError, InvalidArgumentError } from '@dytrack/core';
import { allocateBatch, PairSampler, type BatchBuffers, type SamplerOptions } from './data.js';
import { startWorker } from './worker.js';

/** @internal Message to the loader worker. */
export interface LoaderRequest {
  readonly batch: number;
  readonly buffers: BatchBuffers;
}

/** @internal Message from the loader worker. */
export interface LoaderReply {
  readonly batch: number;
  readonly buffers: BatchBuffers;
  readonly produceMs: number;
  readonly error?: string;
}

/** Timing counters of a {@link BatchLoader}. */
export interface LoaderStats {
  /** Batches handed out. */
  readonly batches: number;
  /** Total time spent producing batches (in the worker when there is one), ms. */
  readonly produceMs: number;
  /** Total time {@link BatchLoader.next} kept its caller waiting, ms: near 0 when loading overlaps the steps. */
  readonly waitMs: number;
}

/** Options of {@link createBatchLoader}. */
export interface BatchLoaderOptions {
  /** First batch number to produce (a resumed run starts at its step count). */
  readonly startBatch?: number;
  /** Batches prepared ahead (default 2). */
  readonly prefetch?: number;
  /**
   * Produce batches on a worker thread (default true), so data preparation runs while
   * the training step runs. `false` produces them on the calling thread.
   */
  readonly worker?: boolean;
}

/** A batch handed out by a {@link BatchLoader}. */
export interface LoadedBatch {
  /** Its number (the step that consumes it, 0-based). */
  readonly batch: number;
  /** The data; give it back with {@link BatchLoader.recycle} once consumed. */
  readonly buffers: BatchBuffers;
}

/**
 * Hands out batches `start, start+1, ...` in order. With a worker, batches are
 * prepared ahead into transferable buffers (moved, not copied, between threads);
 * give a batch back with {@link BatchLoader.recycle} when its step has consumed it
 * and its buffers are reused.
 */
export interface BatchLoader {
  /** The next batch (its number and buffers). */
  next(): Promise<LoadedBatch>;
  /** Returns a consumed batch's buffers for reuse. */
  recycle(buffers: BatchBuffers): void;
  /** Timing counters. */
  stats(): LoaderStats;
  /** Stops the worker. */
  close(): Promise<void>;
}

interface Pending {
  promise: Promise<LoaderReply>;
}

/** Creates a {@link BatchLoader} over a {@link PairSampler} with `options`. */
export async function createBatchLoader(sampler: SamplerOptions, options: BatchLoaderOptions = {}): Promise<BatchLoader> {
  const start = options.startBatch ?? 0;
  const prefetch = options.prefetch ?? 2;
  if (!Number.isInteger(start) || start < 0) throw new InvalidArgumentError(`startBatch must be a non-negative integer, got ${start}`);
  if (!Number.isInteger(prefetch) || prefetch < 1) throw new InvalidArgumentError(`prefetch must be a positive integer, got ${prefetch}`);
  let produceMs = 0;
  let waitMs = 0;
  let handed = 0;
  let closed = false;
  const spare: BatchBuffers[] = [];
  const take = (): BatchBuffers => spare.pop() ?? allocateBatch(sampler.model, sampler.batchSize);

  if (options.worker === false) {
    const local = await PairSampler.create(sampler);
    let nextBatch = start;
    return {
      async next() {
        if (closed) throw new DisposedError('BatchLoader');
        const t = performance.now();
        const buffers = take();
        const batch = nextBatch++;
        await local.fillBatch(batch, buffers);
        const ms = performance.now() - t;
        produceMs += ms;
        waitMs += ms;
        handed++;
        return { batch, buffers };
      },
      recycle: (b) => void spare.push(b),
      stats: () => ({ batches: handed, produceMs, waitMs }),
      async close() {
        closed = true;
      },
    };
  }

  const worker = startWorker('loader-worker', sampler);
  worker.unref();
  const waiting = new Map<number, (r: LoaderReply) => void>();
  let failure: Error | undefined;
  worker.on('message', (r: LoaderReply) => {
    const resolve = waiting.get(r.batch);
    waiting.delete(r.batch);
    resolve?.(r);
  });
  const fail = (e: Error): void => {
    failure ??= e;
    for (const resolve of waiting.values()) resolve({ batch: -1, buffers: allocateBatch(sampler.model, 1), produceMs: 0, error: e.message });
    waiting.clear();
  };
  worker.on('error', fail);
  // A worker that ends without an error event (process.exit in a dependency, an out-of-memory kill of the thread)
  // would otherwise leave next() waiting for ever.
  worker.on('exit', (code) => {
    if (!closed) fail(new Error(`the worker exited with code ${code}`));
  });
  const queue: Pending[] = [];
  let requested = start;
  const request = (): void => {
    const batch = requested++;
    const buffers = take();
    const promise = new Promise<LoaderReply>((resolve) => waiting.set(batch, resolve));
    const transfer = [buffers.templateImage.buffer, buffers.searchImage.buffer, buffers.heatmap.buffer, buffers.boxes.buffer, buffers.tokenMask.buffer] as ArrayBuffer[];
    worker.postMessage({ batch, buffers } satisfies LoaderRequest, transfer);
    queue.push({ promise });
  };
  for (let i = 0; i < prefetch; i++) request();
  return {
    async next() {
      if (closed) throw new DisposedError('BatchLoader');
      if (failure) throw new InvalidArgumentError(`batch loader worker failed: ${failure.message}`, { cause: failure });
      const t = performance.now();
      const reply = await queue.shift()!.promise;
      waitMs += performance.now() - t;
      if (reply.error !== undefined) throw new InvalidArgumentError(`batch loader: ${reply.error}`);
      produceMs += reply.produceMs;
      handed++;
      request();
      return { batch: reply.batch, buffers: reply.buffers };
    },
    recycle: (b) => void spare.push(b),
    stats: () => ({ batches: handed, produceMs, waitMs }),
    async close() {
      if (closed) return;
      closed = true;
      await worker.terminate();
    },
  };
}
