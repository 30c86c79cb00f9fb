import { Graph } from '@dytrack/onnx';
import { describe, expect, it } from 'vitest';
import { addParameterInputs, emitModelForward, initWeights, modelConfig, modelCost, modelGeometry, parameterSize, parameterSpecs, type ModelConfig } from '../src/index.js';

/** FLOPs of every MatMul in a graph, from the builder's inferred shapes (independent of the cost model). */
function graphMatMulFlops(config: ModelConfig): number {
  const g = new Graph({ dtype: 'float32' });
  const params = addParameterInputs(g, config);
  const templateImage = g.input('t', 'float32', [1, 3, config.templateSize, config.templateSize]);
  const searchImage = g.input('s', 'float32', [1, 3, config.searchSize, config.searchSize]);
  emitModelForward(g, config, params, { templateImage, searchImage });
  let flops = 0;
  for (const node of g.nodes) {
    if (node.opType !== 'MatMul') continue;
    const a = node.inputs[0]!.staticShape();
    const out = node.outputs[0]!.staticShape();
    flops += 2 * out.reduce((x, y) => x * y, 1) * a[a.length - 1]!;
  }
  return flops;
}

describe('modelCost', () => {
  it('tiny runs full depth within the 1.5 GFLOP budget', () => {
    const cost = modelCost(modelConfig('tiny'));
    expect(cost.fullDepthFlops).toBeLessThan(1.5e9);
    expect(cost.fullDepthFlops).toBeGreaterThan(0.9e9);
    const cached = modelCost(modelConfig('tiny', { templateAttention: 'self' }), { templateCache: true });
    expect(cached.fullDepthFlops).toBeLessThan(cost.fullDepthFlops);
  });

  it('counts exactly the MatMul FLOPs of the forward graph', () => {
    for (const config of [modelConfig('tiny'), modelConfig('tiny', { templateAttention: 'self' }), modelConfig('base', { dim: 96, headChannels: 32 })]) {
      const cost = modelCost(config);
      expect(cost.templateEncoder.flops + cost.fullDepthFlops).toBe(graphMatMulFlops(config));
    }
  });

  it('counts base as ViT-B/16: 85M block parameters', () => {
    const config = modelConfig('base');
    const backbone = parameterSpecs(config).filter((s) => s.name.startsWith('backbone.blocks.')).reduce((a, s) => a + parameterSize(s), 0);
    // qkv 3D²+3D, proj D²+D, fc1 4D²+4D, fc2 4D²+D, two LayerNorms 4D.
    expect(backbone).toBe(12 * (12 * 768 * 768 + 13 * 768));
    // 87.2 M as OSTrack's backbone plus our exits, whose 3x3 size branches (2 layers of 256x256x9) add 3.5 M.
    expect(Math.round(modelCost(config).totalParams / 1e6)).toBe(91);
    expect(modelGeometry(config)).toMatchObject({ templateTokens: 64, searchTokens: 256, mapSize: 16, stride: 16, depth: 12, headDim: 64 });
  });

  it('assigns every parameter to some graph', () => {
    const config = modelConfig('tiny', { templateAttention: 'self' });
    for (const templateCache of [false, true]) {
      const cost = modelCost(config, { templateCache });
      const used = new Set([...cost.templateEncoder.parameterNames, ...cost.stages.flatMap((s) => s.parameterNames)]);
      expect(parameterSpecs(config).filter((s) => !used.has(s.name))).toEqual([]);
    }
  });

  it('rejects bad configurations naming the field', () => {
    expect(() => modelConfig('tiny', { dim: 130 })).toThrow(/dim 130 is not a multiple of heads 4/);
    expect(() => modelConfig('tiny', { stageDepths: [3, 3] })).toThrow(/at least 3 stages/);
    expect(() => modelConfig('tiny', { searchSize: 250 })).toThrow(/searchSize 250 is not a multiple of patchSize 16/);
    expect(() => modelConfig('tiny', { defaultThresholds: [0.5, 2, 0] })).toThrow(/defaultThresholds\[1\]/);
  });

  it('names every parameter once, and initialises deterministically per seed', () => {
    const config = modelConfig('tiny');
    const names = parameterSpecs(config).map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const a = initWeights(config, { seed: 5 });
    const b = initWeights(config, { seed: 5 });
    const c = initWeights(config, { seed: 6 });
    const w = 'backbone.blocks.3.attn.qkv.weight';
    expect(b.get(w)).toEqual(a.get(w));
    expect(c.get(w)).not.toEqual(a.get(w));
    expect(a.get('backbone.blocks.3.norm1.weight')!.every((v) => v === 1)).toBe(true);
    expect(a.get('exits.0.score.bias')![0]).toBeCloseTo(-Math.log(99), 5);
    const values = a.get('backbone.blocks.3.mlp.fc1.weight')!;
    const std = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.02);
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.04);
  });

  it('starts queries equal to keys (mimetic) and position embeddings as a sine-cosine table, unless told otherwise', () => {
    const config = modelConfig('tiny');
    const D = config.dim;
    const a = initWeights(config, { seed: 5 });
    const qkv = a.get('backbone.blocks.2.attn.qkv.weight')!;
    const queries = qkv.subarray(0, D * D);
    expect(qkv.subarray(D * D, 2 * D * D)).toEqual(queries);
    // Rows of norm about 1: a token's logit with itself is about sqrt(head dim).
    const rowNorm = Math.sqrt(queries.subarray(0, D).reduce((s, v) => s + v * v, 0));
    expect(rowNorm).toBeGreaterThan(0.75);
    expect(rowNorm).toBeLessThan(1.25);
    // Values keep the small trunc-normal init.
    expect(Math.max(...qkv.subarray(2 * D * D).map(Math.abs))).toBeLessThanOrEqual(0.04);
    // Search grid 16x16: token (gy, gx) = (2, 3), channel 0 is 0.5 sin(gx), channel D/2 is 0.5 sin(gy).
    const x = a.get('backbone.pos_embed_x')!;
    const t = (2 * 16 + 3) * D;
    expect(x[t]).toBeCloseTo(0.5 * Math.sin(3), 6);
    expect(x[t + D / 4]).toBeCloseTo(0.5 * Math.cos(3), 6);
    expect(x[t + D / 2]).toBeCloseTo(0.5 * Math.sin(2), 6);
    // Template tokens: the same table on their 8x8 grid plus one shared segment vector.
    const z = a.get('backbone.pos_embed_z')!;
    const mark = (token: number, c: number): number => z[token * D + c]! - x[((Math.floor(token / 8) * 16) + (token % 8)) * D + c]!;
    for (const c of [0, 5, D - 1]) {
      expect(mark(9, c)).toBeCloseTo(mark(0, c), 6);
      expect(mark(63, c)).toBeCloseTo(mark(0, c), 6);
    }
    expect(Math.abs(mark(0, 0)) + Math.abs(mark(0, 5)) + Math.abs(mark(0, D - 1))).toBeGreaterThan(0);
    const plain = initWeights(config, { seed: 5, positionEmbedding: 'trunc-normal', queryKey: 'independent' });
    const pq = plain.get('backbone.blocks.2.attn.qkv.weight')!;
    expect(pq.subarray(D * D, 2 * D * D)).not.toEqual(pq.subarray(0, D * D));
    expect(Math.max(...plain.get('backbone.pos_embed_x')!.map(Math.abs))).toBeLessThanOrEqual(0.04);
  });

  it('leaves out the recycling projections when recycling is off', () => {
    const on = parameterSpecs(modelConfig('tiny')).filter((s) => s.name.includes('.recycle.'));
    const off = parameterSpecs(modelConfig('tiny', { exitRecycling: false })).filter((s) => s.name.includes('.recycle.'));
    expect(on.length).toBe(6);
    expect(off).toEqual([]);
    expect(() => modelConfig('tiny', { exitRecycling: 'no' as unknown as boolean })).toThrow(/exitRecycling/);
  });

  it('reads offsets from the trunk or the size branch with the same parameters and FLOPs', () => {
    expect(modelConfig('tiny').offsetInput).toBe('size-branch');
    const trunk = modelConfig('tiny', { offsetInput: 'trunk' });
    expect(parameterSpecs(trunk)).toEqual(parameterSpecs(modelConfig('tiny')));
    expect(modelCost(trunk).fullDepthFlops).toBe(modelCost(modelConfig('tiny')).fullDepthFlops);
    expect(() => modelConfig('tiny', { offsetInput: 'neighbours' as 'trunk' })).toThrow(/offsetInput/);
  });
});
