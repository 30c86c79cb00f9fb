// Median latency of one run of a small transformer-sized MLP block (197 tokens,
// width 192, hidden 768: the shape of a DyTrack-tiny stage's MLP), through the
// DyTrack backend and through raw onnxruntime-web (wasm), to show the wrapper's overhead.
//   node --conditions=@dytrack/source --import tsx packages/backend-web/bench/run-latency.ts [threads]
import { alternatingMedians as medians, MLP_BLOCK, mlpBlockInput, mlpBlockModel } from '@dytrack/conformance';
import { createWebBackend } from '@dytrack/backend-web';
import { InferenceSession, Tensor } from 'onnxruntime-web';

const { tokens: TOKENS, width: WIDTH } = MLP_BLOCK;
const model = mlpBlockModel();
const data = mlpBlockInput();

// The wasm runtime is configured once per process: pass the thread count as argv[2] (default 1).
const threads = Number(process.argv[2] ?? 1);
const backend = createWebBackend({ executionProviders: ['wasm'], numThreads: threads });
const session = await backend.loadModel(model);
const raw = await InferenceSession.create(model, { executionProviders: ['wasm'], logSeverityLevel: 3 });
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
  `onnxruntime-web wasm, ${threads} thread(s): median ${viaBackend.toFixed(3)} ms via @dytrack/backend-web, ` +
    `${viaOrt.toFixed(3)} ms raw ORT (overhead ${(viaBackend - viaOrt).toFixed(3)} ms)`,
);
await raw.release();
await backend.dispose();
