/**
 * Throughput of the real DyTrack training step (`buildDyTrackTrainingStep`, the `tiny`
 * preset, every loss term) on batches from the pair sampler: median step time and samples
 * per second at each batch size and thread count asked for, the graph's node count, and
 * onnxruntime's per-kernel time split (its profiler) for the first configuration, so a
 * change to the step graph shows where the time went. Prints medians over the timed steps.
 *
 *   node --conditions=@dytrack/source --import tsx packages/train/bench/train-step.ts \
 *     [--batch 8,16] [--threads 2] [--steps 8] [--variant tiny] [--no-profile] [--top N]
 *
 * `--top N` also lists the N costliest node groups: node names with their block, exit and
 * node numbers replaced by `*`, so the same operation in every block adds up to one line.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createNodeBackend } from '@dytrack/backend-node';
import { TRAINING_STEP_NAMES, Trainer } from '@dytrack/autograd';
import { initWeights, modelConfig } from '@dytrack/model';
import { readModel } from '@dytrack/onnx';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { BATCH_INPUTS, PairSampler, allocateBatch, buildDyTrackTrainingStep, type BatchBuffers } from '@dytrack/train';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
    steps: { type: 'string', default: '8' },
    variant: { type: 'string', default: 'tiny' },
    'no-profile': { type: 'boolean', default: false },
    top: { type: 'string', default: '0' },
  },
});
const batches = values.batch.split(',').map(Number);
const threadCounts = values.threads.split(',').map(Number);
const STEPS = Number(values.steps);
const config = modelConfig(values.variant as 'tiny');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function feedsOf(buffers: BatchBuffers, B: number) {
  const n = Math.sqrt(buffers.tokenMask.length / B);
  return {
    [BATCH_INPUTS.templateImage]: { dtype: 'float32' as const, dims: [B, 3, config.templateSize, config.templateSize], data: buffers.templateImage },
    [BATCH_INPUTS.searchImage]: { dtype: 'float32' as const, dims: [B, 3, config.searchSize, config.searchSize], data: buffers.searchImage },
    [BATCH_INPUTS.heatmap]: { dtype: 'float32' as const, dims: [B, 1, n, n], data: buffers.heatmap },
    [BATCH_INPUTS.boxes]: { dtype: 'float32' as const, dims: [B, 4], data: buffers.boxes },
    [BATCH_INPUTS.tokenMask]: { dtype: 'float32' as const, dims: [B, n * n], data: buffers.tokenMask },
  };
}

console.log(`DyTrack training step, variant ${config.variant}; median of ${STEPS} steps after 3 warm-up steps (the first grow onnxruntime's arena)`);
const weights = initWeights(config, { seed: 1 });
const initial = Object.fromEntries(weights);
let profiled = values['no-profile'];
for (const B of batches) {
  const t0 = performance.now();
  const step = buildDyTrackTrainingStep(config, { batchSize: B });
  const nodes = readModel(step.bytes).nodes.length;
  const values = step.parameters.reduce((s, p) => s + p.dims.reduce((a, b) => a * b, 1), 0);
  console.log(`batch ${B}: ${nodes} nodes, ${step.parameters.length} parameter tensors (${values} values), built in ${(performance.now() - t0).toFixed(0)} ms`);
  const sampler = await PairSampler.create({ model: config, sources: [{ kind: 'synthetic', systemAssets: false }], seed: 5, batchSize: B });
  const buffers = allocateBatch(config, B);
  await sampler.fillBatch(0, buffers);
  const batch = feedsOf(buffers, B);
  for (const threads of threadCounts) {
    const trainer = await Trainer.create(createNodeBackend({ intraOpNumThreads: threads }), step, initial);
    for (let i = 0; i < 3; i++) await trainer.step(batch, 1e-5);
    const times: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const t = performance.now();
      await trainer.step(batch, 1e-5);
      times.push(performance.now() - t);
    }
    await trainer.release();
    const ms = median(times);
    console.log(`  ${threads} thread(s): ${ms.toFixed(0)} ms/step, ${((1000 * B) / ms).toFixed(1)} samples/s, ${(1000 / ms).toFixed(2)} steps/s`);
  }
  if (!profiled) {
    profiled = true;
    await profile(step.bytes, batch, threadCounts[threadCounts.length - 1]!, step);
  }
}

/** One more session with onnxruntime's profiler: kernel time by op type, and the part outside kernels. */
async function profile(bytes: Uint8Array, batch: ReturnType<typeof feedsOf>, threads: number, step: ReturnType<typeof buildDyTrackTrainingStep>) {
  const base = `dytrack-step-profile-${process.pid}`;
  const prefix = join(tmpdir(), base);
  const session = await InferenceSession.create(bytes, { intraOpNumThreads: threads, enableProfiling: true, profileFilePrefix: prefix });
  const feeds: Record<string, Tensor> = {
    [TRAINING_STEP_NAMES.learningRate]: new Tensor('float32', new Float32Array([1e-5]), []),
    [TRAINING_STEP_NAMES.step]: new Tensor('float32', new Float32Array([1]), []),
  };
  for (const p of step.parameters) {
    const size = p.dims.reduce((a, b) => a * b, 1);
    feeds[p.name] = new Tensor('float32', initial[p.name]!, p.dims);
    feeds[TRAINING_STEP_NAMES.firstMoment(p.name)] = new Tensor('float32', new Float32Array(size), p.dims);
    feeds[TRAINING_STEP_NAMES.secondMoment(p.name)] = new Tensor('float32', new Float32Array(size), p.dims);
  }
  for (const [name, t] of Object.entries(batch)) feeds[name] = new Tensor('float32', t.data, t.dims);
  const runs = 3 + STEPS;
  const wall: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await session.run(feeds);
    if (i >= 3) wall.push(performance.now() - t);
  }
  // onnxruntime-node writes PREFIX_<date>.json and does not return the name.
  session.endProfiling();
  await session.release();
  const found = readdirSync(tmpdir()).filter((f) => f.startsWith(base) && f.endsWith('.json'));
  if (found.length !== 1) throw new Error(`expected one profile file ${prefix}_*.json, found ${found.length}`);
  const file = join(tmpdir(), found[0]!);
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }[];
  rmSync(file, { force: true });
  const starts = events.filter((e) => e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
  const from = starts[3] ?? 0;
  const byOp = new Map<string, number>();
  const byGroup = new Map<string, number>();
  let kernels = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
    const op = e.args?.op_name ?? '?';
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
    const group = `${op} ${e.name.slice(0, -'_kernel_time'.length).replace(/\d+/g, '*')}`;
    byGroup.set(group, (byGroup.get(group) ?? 0) + e.dur);
    kernels += e.dur;
  }
  const perStep = (us: number) => us / STEPS / 1000;
  const wallMs = wall.reduce((a, b) => a + b, 0) / STEPS;
  console.log(`  profile at ${threads} thread(s), mean per step: ${wallMs.toFixed(0)} ms wall, ${perStep(kernels).toFixed(0)} ms in kernels, ${(wallMs - perStep(kernels)).toFixed(0)} ms outside them (dispatch, feeds, outputs)`);
  const top = [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log('  ' + top.map(([op, us]) => `${op} ${perStep(us).toFixed(1)}`).join(', ') + ' (ms)');
  const topGroups = Number(values.top);
  if (topGroups > 0) {
    console.log(`  costliest node groups (ms per step):`);
    for (const [group, us] of [...byGroup].sort((a, b) => b[1] - a[1]).slice(0, topGroups)) console.log(`    ${perStep(us).toFixed(1).padStart(6)}  ${group}`);
  }
}
