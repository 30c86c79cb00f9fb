// Median latency of one run of a small transformer-sized MLP block (197 tokens,
// width 192, hidden 768: the shape of a DyTrack-tiny stage's MLP), through the
// DyTrack backend and through raw onnxruntime-node, to show the wrapper's overhead.
//   node --conditions=@dytrack/source --import tsx packages/backend-node/bench/run-latency.ts
import { buildModel, type InitializerSpec } from '@dytrack/conformance';
import { createNodeBackend } from '@dytrack/backend-node';
import { InferenceSession, Tensor } from 'onnxruntime-node';

const TOKENS = 197;
const WIDTH = 192;
const HIDDEN = 768;
const WARMUP = 20;
const REPEATS = 200;

function weights(name: string, dims: number[]): InitializerSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dtype: 'float32', dims, values: Array.from({ length: n }, (_, i) => Math.sin(i) * 0.05) };
}

const model = buildModel({
  name: 'mlp-block',
  inputs: [{ name: 'x', dtype: 'float32', shape: [TOKENS, WIDTH] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [TOKENS, WIDTH] }],
  initializers: [weights('w1', [WIDTH, HIDDEN]), weights('b1', [HIDDEN]), weights('w2', [HIDDEN, WIDTH]), weights('b2', [WIDTH])],
  nodes: [
    { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h0'] },
    { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
    { op: 'Relu', inputs: ['h1'], outputs: ['h2'] },
    { op: 'MatMul', inputs: ['h2', 'w2'], outputs: ['y0'] },
    { op: 'Add', inputs: ['y0', 'b2'], outputs: ['y1'] },
    { op: 'Add', inputs: ['y1', 'x'], outputs: ['y'] },
  ],
});

const data = Float32Array.from({ length: TOKENS * WIDTH }, (_, i) => Math.cos(i) * 0.1);

/** Medians of `a` and `b`, timed alternately so that load from other processes hits both alike. */
async function medians(a: () => Promise<void>, b: () => Promise<void>): Promise<[number, number]> {
  for (let i = 0; i < WARMUP; i++) {
    await a();
    await b();
  }
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < REPEATS; i++) {
    for (const [k, run] of [a, b].entries()) {
      const t0 = performance.now();
      await run();
      times[k].push(performance.now() - t0);
    }
  }
  return times.map((t) => t.sort((x, y) => x - y)[t.length >> 1]) as [number, number];
}

for (const threads of [1, 2]) {
  const backend = createNodeBackend({ intraOpNumThreads: threads });
  const session = await backend.loadModel(model);
  const raw = await InferenceSession.create(model, { intraOpNumThreads: threads, logSeverityLevel: 3 });
  const [viaBackend, viaOrt] = await medians(
    async () => {
      const { y } = await session.run({ x: { dtype: 'float32', dims: [TOKENS, WIDTH], data } });
      y.dispose();
    },
    async () => {
      const out = await raw.run({ x: new Tensor('float32', data, [TOKENS, WIDTH]) });
      out.y.dispose();
    },
  );
  console.log(
    `onnxruntime-node, ${threads} thread(s): median ${viaBackend.toFixed(3)} ms via @dytrack/backend-node, ` +
      `${viaOrt.toFixed(3)} ms raw ORT (overhead ${(viaBackend - viaOrt).toFixed(3)} ms)`,
  );
  await raw.release();
  await backend.dispose();
}
