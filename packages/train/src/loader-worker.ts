/**
 * The batch loader's worker thread: opens a {@link PairSampler} from the options it is
 * started with and answers `{ batch, buffers }` requests by filling the buffers and
 * transferring them back. Not part of the public API.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PairSampler, type BatchBuffers, type SamplerOptions } from './data.js';
import type { LoaderReply, LoaderRequest } from './loader.js';

const port = parentPort;
if (!port) throw new Error('loader-worker must run in a worker thread');
const samplerPromise = PairSampler.create(workerData as SamplerOptions);

port.on('message', (request: LoaderRequest) => {
  void (async () => {
    const start = performance.now();
    try {
      const sampler = await samplerPromise;
      await sampler.fillBatch(request.batch, request.buffers);
      const reply: LoaderReply = { batch: request.batch, buffers: request.buffers, produceMs: performance.now() - start };
      port.postMessage(reply, transferList(request.buffers));
    } catch (e) {
      const reply: LoaderReply = { batch: request.batch, buffers: request.buffers, produceMs: 0, error: (e as Error).message };
      port.postMessage(reply, transferList(request.buffers));
    }
  })();
});

function transferList(b: BatchBuffers): ArrayBuffer[] {
  return [b.templateImage.buffer, b.searchImage.buffer, b.heatmap.buffer, b.boxes.buffer, b.tokenMask.buffer] as ArrayBuffer[];
}
