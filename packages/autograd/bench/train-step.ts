/**
 * Training-step throughput for a ViT of DyTrack's tiny shape (dim 128, 6 blocks, 320 tokens,
 * batch 32, MLP ratio 4, 4 heads), at 1 and 2 intra-op threads, next to the MatMul rate
 * onnxruntime reaches in the same run. Training steps and MatMul runs are interleaved so
 * both see the same machine load (the CPUs may be shared). Prints medians.
 *
 *   node --conditions=@dytrack/source --import tsx packages/autograd/bench/train-step.ts [--steps 5]
 */
import { performance } from 'node:perf_hooks';
import { createNodeBackend } from '@dytrack/backend-node';
import type { HostTensor, InferenceSession } from '@dytrack/core';
import { Graph, serializeModel } from '@dytrack/onnx';
import { Trainer, buildTrainingStep } from '@dytrack/autograd';
import type { VitConfig } from '../test/fixtures/models.js';
import { initParameters, rng, toDType, vitForwardMacs, vitParameters, vitSpec, vitVectorBase } from '../test/fixtures/models.js';

const argSteps = process.argv.indexOf('--steps');
const STEPS = argSteps > 0 ? Number(process.argv[argSteps + 1]) : 5;

const config: VitConfig = { batch: 32, tokens: 320, inputDim: 768, dim: 128, heads: 4, mlpRatio: 4, blocks: 6, head: 'tokens', gelu: 'none' };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function randomArray(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

/** A chain of four 1024³ MatMuls in one graph: the reference rate of this machine. */
const MATMUL_N = 1024;
const MATMUL_CHAIN = 4;
const matmulFlops = MATMUL_CHAIN * 2 * MATMUL_N ** 3;
function matmulModel(): Uint8Array {
  const n = MATMUL_N;
  const g = new Graph({ dtype: 'float32' });
  let x = g.input('a', 'float32', [n, n]);
  const w = g.initializer('w', [n, n], randomArray(n * n, 1).map((v) => v / 32));
  for (let i = 0; i < MATMUL_CHAIN; i++) x = g.matmul(x, w);
  g.output(x, 'y');
  return serializeModel(g);
}

async function timeMatmul(session: InferenceSession, feeds: Record<string, HostTensor>): Promise<number> {
  const t = performance.now();
  await session.run(feeds);
  return performance.now() - t;
}

const forwardFlops = 2 * vitForwardMacs(config);
// Backward costs two forward-sized matmuls per forward matmul (input and weight gradients).
const stepFlops = 3 * forwardFlops;
console.log(
  `ViT tiny training step: dim ${config.dim}, ${config.blocks} blocks, ${config.tokens} tokens, batch ${config.batch}, ` +
    `MLP ratio ${config.mlpRatio}, ${config.heads} heads; ${(stepFlops / 1e9).toFixed(1)} GFLOP per step (3 x forward matmul FLOPs)`,
);

const t0 = performance.now();
const step = buildTrainingStep(vitSpec(config, 'float32', { weightDecay: 0.05, maxGradNorm: 1 }));
console.log(`graph: ${step.graph.nodes.length} nodes, built and serialised in ${(performance.now() - t0).toFixed(0)} ms`);
const init = initParameters(vitParameters(config), 1, vitVectorBase);
const { batch: N, tokens: T, inputDim: I } = config;
const batch = {
  x: { dtype: 'float32' as const, dims: [N, T, I], data: randomArray(N * T * I, 3) },
  y: { dtype: 'float32' as const, dims: [N, T, 1], data: randomArray(N * T, 4) },
};
const matmulFeeds = { a: { dtype: 'float32' as const, dims: [MATMUL_N, MATMUL_N], data: randomArray(MATMUL_N * MATMUL_N, 2) } };

for (const threads of [1, 2]) {
  const backend = createNodeBackend({ intraOpNumThreads: threads });
  const trainer = await Trainer.create(backend, step, toDType(init, 'float32'));
  const matmul = await backend.loadModel(matmulModel());
  // The first runs grow onnxruntime's memory arena and are several times slower.
  let loss = NaN;
  for (let i = 0; i < 3; i++) loss = (await trainer.step(batch, 1e-3)).loss;
  for (let i = 0; i < 2; i++) await timeMatmul(matmul, matmulFeeds);
  const stepMs: number[] = [];
  const matmulMs: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const before = await timeMatmul(matmul, matmulFeeds);
    const t = performance.now();
    loss = (await trainer.step(batch, 1e-3)).loss;
    const ms = performance.now() - t;
    const after = await timeMatmul(matmul, matmulFeeds);
    stepMs.push(ms);
    matmulMs.push(before, after);
    ratios.push((stepFlops / ms) / (matmulFlops / ((before + after) / 2)));
  }
  await trainer.release();
  await backend.dispose();
  const achieved = stepFlops / (median(stepMs) / 1000) / 1e9;
  const rate = matmulFlops / (median(matmulMs) / 1000) / 1e9;
  console.log(
    `threads ${threads}: step median ${median(stepMs).toFixed(0)} ms over ${STEPS} steps (loss ${loss.toFixed(4)}); ` +
      `achieved ${achieved.toFixed(1)} GFLOP/s; MatMul ${rate.toFixed(1)} GFLOP/s; ` +
      `median ratio of neighbouring runs ${(100 * median(ratios)).toFixed(0)}%`,
  );
}
