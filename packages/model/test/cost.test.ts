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
    expect(Math.round(modelCost(config).totalParams / 1e6)).toBe(87);
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
    const values = a.get(w)!;
    const std = Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);
    expect(std).toBeGreaterThan(0.015);
    expect(std).toBeLessThan(0.02);
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.04);
  });
});
