/**
 * Latency of every exported graph of `tiny` and `base` in onnxruntime-node at 1
 * and 2 intra-op threads, with FLOPs from the configuration and the achieved
 * GFLOP/s next to the machine's fp32 MatMul rate measured in the same run.
 *
 *   node --conditions=@dytrack/source --import tsx packages/model/bench/stages.ts [--reps N] [--variants tiny,base]
 */
import { createNodeBackend } from '@dytrack/backend-node';
import type { HostTensor, InferenceBackend, ModelManifest } from '@dytrack/core';
import { Graph, serializeModel } from '@dytrack/onnx';
import { parseArgs } from 'node:util';
import { exportModel, initWeights, modelConfig, SeededRandom, type ModelVariant } from '../src/index.js';

const { values } = parseArgs({ options: { reps: { type: 'string' }, variants: { type: 'string', default: 'tiny,base' } } });
const THREADS = [1, 2] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function randomTensor(dims: number[], seed: number): HostTensor<'float32'> {
  const rng = new SeededRandom(seed);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * 0.5;
  return { dtype: 'float32', dims, data };
}

async function timeModel(backend: InferenceBackend, bytes: Uint8Array, feeds: Record<string, HostTensor>, reps: number, warmup: number): Promise<number> {
  const session = await backend.loadModel(bytes);
  try {
    const times: number[] = [];
    for (let i = 0; i < warmup + reps; i++) {
      const t0 = performance.now();
      const out = await session.run(feeds);
      const dt = performance.now() - t0;
      for (const t of Object.values(out)) t.dispose();
      if (i >= warmup) times.push(dt);
    }
    return median(times);
  } finally {
    await session.release();
  }
}

/** fp32 MatMul rate of this machine: a 1024³ product (2.15 GFLOP), median ms → GFLOP/s. */
async function matmulRate(backend: InferenceBackend): Promise<number> {
  const n = 1024;
  const g = new Graph({ name: 'matmul', dtype: 'float32' });
  const a = g.input('a', 'float32', [n, n]);
  const b = g.initializer('b', [n, n], randomTensor([n, n], 2).data);
  g.output(g.matmul(a, b), 'c');
  const ms = await timeModel(backend, serializeModel(g), { a: randomTensor([n, n], 1) }, 15, 3);
  return (2 * n * n * n) / (ms * 1e6);
}

/** Every graph's outputs by name, to feed later graphs (run once, untimed). */
async function chainFeeds(backend: InferenceBackend, manifest: ModelManifest, files: ReadonlyMap<string, Uint8Array>): Promise<Record<string, HostTensor>[]> {
  const graphs = [manifest.templateEncoder!, ...manifest.stages];
  const outputs: Record<string, HostTensor>[] = [];
  const feedsPerGraph: Record<string, HostTensor>[] = [];
  for (const [i, graph] of graphs.entries()) {
    const feeds: Record<string, HostTensor> = {};
    for (const input of graph.inputs) {
      const src = input.source;
      if (src.kind === 'output') feeds[input.name] = outputs[src.stage === 'template' ? 0 : src.stage + 1]![src.output]!;
      else feeds[input.name] = randomTensor(input.shape as number[], i + 10);
    }
    feedsPerGraph.push(feeds);
    const session = await backend.loadModel(files.get(graph.file)!);
    const out = await session.run(feeds);
    const host: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(out)) host[name] = { dtype: 'float32', dims: [...t.dims], data: (await t.download()) as Float32Array };
    outputs.push(host);
    await session.release();
  }
  return feedsPerGraph;
}

const backends = THREADS.map((t) => createNodeBackend({ intraOpNumThreads: t }));
// The MatMul rate is re-measured before each variant/layout block (the machine may be shared: the
// percentages compare each graph with the rate measured right before it).
let rates: number[] = [];
const allRates: number[][] = [];
async function measureRates(): Promise<void> {
  rates = [];
  for (const backend of backends) rates.push(await matmulRate(backend));
  allRates.push(rates);
}

const header = ['variant', 'layout', 'graph', 'GFLOP', 'ms 1T', 'ms 2T', 'GFLOP/s 1T', 'GFLOP/s 2T', '% of MatMul 1T', '% of MatMul 2T'];
const rows: string[][] = [];
function row(variant: string, cache: boolean, graph: string, gflop: number, ms: number[]): string[] {
  const rate = ms.map((m) => gflop / (m / 1e3));
  return [variant, cache ? 'template cache' : 'plain', graph, gflop.toFixed(3), ...ms.map((m) => m.toFixed(2)), ...rate.map((r) => r.toFixed(0)), ...rate.map((r, t) => `${((100 * r) / rates[t]!).toFixed(0)}%`)];
}
for (const variant of values.variants.split(',') as ModelVariant[]) {
  const layouts = variant === 'tiny' ? [false, true] : [false];
  for (const cache of layouts) {
    await measureRates();
    const config = modelConfig(variant, cache ? { templateAttention: 'self' } : {});
    const exported = await exportModel(config, initWeights(config, { seed: 0 }), { templateCache: cache });
    const { manifest, files } = exported;
    const graphs = [manifest.templateEncoder!, ...manifest.stages];
    const feeds = await chainFeeds(backends[0]!, manifest, files);
    const reps = values.reps ? Number(values.reps) : variant === 'tiny' ? 40 : 6;
    const totals = THREADS.map(() => 0);
    for (const [i, graph] of graphs.entries()) {
      const ms: number[] = [];
      for (const backend of backends) ms.push(await timeModel(backend, files.get(graph.file)!, feeds[i]!, reps, variant === 'tiny' ? 5 : 2));
      if (i > 0) ms.forEach((m, t) => (totals[t] += m));
      const gf = graph.flops! / 1e9;
      rows.push(row(variant, cache, i === 0 ? 'template (init)' : `stage${i - 1}`, gf, ms));
    }
    const gf = exported.cost.fullDepthFlops / 1e9;
    rows.push(row(variant, cache, 'full depth', gf, totals));
  }
}
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
const line = (r: string[]): string => '| ' + r.map((v, c) => (c < 3 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join(' | ') + ' |';
console.log(line(header));
console.log('|' + widths.map((w, c) => (c < 3 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|');
for (const r of rows) console.log(line(r));
console.log(`\nfp32 MatMul 1024³ rate measured before each block (1 / 2 threads, GFLOP/s): ${allRates.map((r) => r.map((x) => x.toFixed(0)).join(' / ')).join(', ')}`);
console.log('Latencies are medians; "% of MatMul" compares with the rate measured just before the block.');
for (const b of backends) await b.dispose();
