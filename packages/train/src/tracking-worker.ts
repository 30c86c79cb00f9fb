/**
 * A {@link TrackingPool}'s worker thread: builds the model from the bytes it is started
 * with, keeps one tracker per policy on a one-session-per-graph backend of its own, and
 * answers each request with the run of one sequence. Not part of the public API.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DyTrackError, InvalidArgumentError, inMemoryModel } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { createSyntheticSequence, openDataset, runTrackerOnSequence, type Dataset, type Sequence } from '@dytrack/eval';
import { fixedDepthPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import { createTracker, type DyTrackTracker } from '@dytrack/tracker';
import type { PolicySpec, SequenceSource, TrackingCloseRequest, TrackingReply, TrackingRequest, TrackingWorkerData } from './tracking-pool.js';

const port = parentPort;
if (!port) throw new Error('tracking-worker must run in a worker thread');
const data = workerData as TrackingWorkerData;
const model = inMemoryModel(data.manifest, new Map(data.files));
const backend = createNodeBackend({ intraOpNumThreads: data.threads });
const trackers = new Map<string, Promise<DyTrackTracker>>();
const datasets = new Map<string, Promise<Dataset>>();

function trackerFor(policy: PolicySpec): Promise<DyTrackTracker> {
  const key = JSON.stringify(policy);
  let tracker = trackers.get(key);
  if (!tracker) {
    const exitPolicy = 'exit' in policy ? fixedDepthPolicy({ exit: policy.exit }) : thresholdPolicy({ thresholds: policy.thresholds });
    tracker = createTracker({ backend, model, exitPolicy, ...(data.lostThreshold !== undefined ? { lostThreshold: data.lostThreshold } : {}) });
    trackers.set(key, tracker);
    // A failure is answered once, not cached: the next request for this policy tries again.
    tracker.catch(() => trackers.delete(key));
  }
  return tracker;
}

async function open(source: SequenceSource): Promise<Sequence> {
  if ('synthetic' in source) return createSyntheticSequence(source.synthetic);
  let dataset = datasets.get(source.dataset);
  if (!dataset) {
    datasets.set(source.dataset, (dataset = openDataset(source.dataset)));
    dataset.catch(() => datasets.delete(source.dataset));
  }
  const sequence = (await dataset).sequences.find((s) => s.name === source.name);
  if (!sequence) throw new InvalidArgumentError(`${source.dataset}: no sequence named ${source.name}`);
  return sequence;
}

/** Disposes every tracker and the backend, then lets the thread end. */
async function close(): Promise<void> {
  const built = await Promise.allSettled(trackers.values());
  for (const t of built) if (t.status === 'fulfilled') await t.value.dispose();
  await backend.dispose();
  port!.close();
}

port.on('message', (request: TrackingRequest | TrackingCloseRequest) => {
  if ('close' in request) return void close();
  void (async () => {
    let reply: TrackingReply;
    try {
      const tracker = await trackerFor(request.policy);
      const run = await runTrackerOnSequence({ init: (f, b) => tracker.init(f, b), update: (f) => tracker.update(f) }, await open(request.source));
      reply = { id: request.id, run };
    } catch (e) {
      const error = e as Error;
      const code = error instanceof DyTrackError ? { code: error.code } : {};
      reply = { id: request.id, error: { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}), ...code } };
    }
    port.postMessage(reply);
  })();
});
