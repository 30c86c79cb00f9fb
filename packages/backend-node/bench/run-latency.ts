// Median latency of one run of a small transformer-sized MLP block (197 tokens,
// width 192, hidden 768: the shape of a DyTrack-tiny stage's MLP), through the
// DyTrack backend and through raw onnxruntime-node, to show the wrapper's overhead.
//   node --conditions=@dytrack/source --import tsx packages/backend-node/bench/run-latency.ts
import { alternatingMedians as medians, MLP_BLOCK, mlpBlockInput, mlpBlockModel } from '@dytrack/conformance';
import { createNodeBackend } from '@dytrack/backend-node';
import { InferenceSession, Tensor } from 'onnxruntime-node';

const { tokens: TOKENS, width: WIDTH } = MLP_BLOCK;
const model = mlpBlockModel();
const data = mlpBlockInput();

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
