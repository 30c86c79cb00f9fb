import { MANIFEST_FILE_NAME, parseManifest, sha256Hex, type ModelManifest } from '@dytrack/core';
import { Graph, readModel, serializeModel } from '@dytrack/onnx';
import { describe, expect, it } from 'vitest';
import {
  addParameterInputs,
  architectureFromManifest,
  emitModelForward,
  exportModel,
  fromFloat16,
  initWeights,
  modelConfig,
  modelCost,
  modelGeometry,
  parameterSpecs,
  recyclesInto,
  referenceForward,
  toFloat16,
  type ExportedModel,
  type ModelConfig,
  type ModelWeights,
  type ReferenceForward,
} from '../src/index.js';
import { randomImage, relativeError, runOnnx, type OrtResult } from './helpers.js';

const TOLERANCE = 1e-4;

/** `tiny` at full size; `base` with its structure (12 blocks in 3 stages of 4, 12 heads, 128/256/16) but dim 96. */
const CASES: { label: string; config: ModelConfig }[] = [
  { label: 'tiny (full size)', config: modelConfig('tiny') },
  // Also the offset map read from the per-cell trunk (offsetInput 'trunk'; the presets read the size branch).
  { label: 'base structure, dim 96, offsets from the trunk', config: modelConfig('base', { dim: 96, headChannels: 32, decisionHidden: 32, offsetInput: 'trunk' }) },
  // The recycling ablation: independent exit heads, stages that pass only tokens.
  { label: 'tiny without feature recycling', config: modelConfig('tiny', { exitRecycling: false }) },
];

type Outputs = Record<string, OrtResult>;

/** Runs the exported graphs in order, feeding each input from the source the manifest names. */
async function runStaged(exported: ExportedModel, template: Float32Array, search: Float32Array): Promise<{ template: Outputs; stages: Outputs[] }> {
  const { manifest, files } = exported;
  const feedsFor = (inputs: ModelManifest['stages'][number]['inputs'], previous: { template: Outputs; stages: Outputs[] }): Record<string, OrtResult> => {
    const feeds: Record<string, OrtResult> = {};
    for (const input of inputs) {
      const src = input.source;
      if (src.kind === 'template-image') feeds[input.name] = { data: template, dims: input.shape as number[] };
      else if (src.kind === 'search-image') feeds[input.name] = { data: search, dims: input.shape as number[] };
      else feeds[input.name] = (src.stage === 'template' ? previous.template : previous.stages[src.stage]!)[src.output]!;
    }
    return feeds;
  };
  const result = { template: {} as Outputs, stages: [] as Outputs[] };
  result.template = await runOnnx(files.get(manifest.templateEncoder!.file)!, feedsFor(manifest.templateEncoder!.inputs, result));
  for (const stage of manifest.stages) result.stages.push(await runOnnx(files.get(stage.file)!, feedsFor(stage.inputs, result)));
  return result;
}

function expectStagesMatchReference(staged: { template: Outputs; stages: Outputs[] }, ref: ReferenceForward, config: ModelConfig, cache: boolean): void {
  const g = modelGeometry(config);
  const K = config.stageDepths.length;
  if (cache) {
    for (let b = 0; b < g.depth; b++) {
      expect(relativeError(staged.template[`template_keys_${b}`]!.data, ref.templateKeys[b]!)).toBeLessThan(TOLERANCE);
      expect(relativeError(staged.template[`template_values_${b}`]!.data, ref.templateValues[b]!)).toBeLessThan(TOLERANCE);
    }
  } else {
    expect(relativeError(staged.template.template_tokens!.data, ref.templateTokens)).toBeLessThan(TOLERANCE);
  }
  for (let k = 0; k < K; k++) {
    const out = staged.stages[k]!;
    const r = ref.stages[k]!;
    expect(out.score_map!.dims).toEqual([1, 1, g.mapSize, g.mapSize]);
    expect(relativeError(out.score_map!.data, r.exit.scoreMap)).toBeLessThan(TOLERANCE);
    expect(relativeError(out.size_map!.data, r.exit.sizeMap)).toBeLessThan(TOLERANCE);
    expect(relativeError(out.offset_map!.data, r.exit.offsetMap)).toBeLessThan(TOLERANCE);
    expect(relativeError(out.terminating_score!.data, [r.exit.terminatingScore])).toBeLessThan(TOLERANCE);
    if (k < K - 1) {
      if (recyclesInto(config, k + 1)) expect(relativeError(out.head_features!.data, r.exit.headFeatures)).toBeLessThan(TOLERANCE);
      else expect(out.head_features).toBeUndefined();
      const tokens = cache ? r.tokens.subarray(g.templateTokens * config.dim) : r.tokens;
      expect(relativeError(out.tokens!.data, tokens)).toBeLessThan(TOLERANCE);
    } else {
      expect(out.tokens).toBeUndefined();
    }
  }
}

/** Builds and runs the whole-model forward graph (weights as graph inputs, as training feeds them). */
async function runWholeModel(config: ModelConfig, weights: ModelWeights, template: Float32Array, search: Float32Array): Promise<Outputs> {
  const g = new Graph({ name: 'forward', dtype: 'float32' });
  const params = addParameterInputs(g, config);
  const templateImage = g.input('template', 'float32', ['batch', 3, config.templateSize, config.templateSize]);
  const searchImage = g.input('search', 'float32', ['batch', 3, config.searchSize, config.searchSize]);
  const forward = emitModelForward(g, config, params, { templateImage, searchImage });
  forward.stages.forEach((s, k) => {
    g.output(s.exit.scoreMap, `score_${k}`);
    g.output(s.exit.sizeMap, `size_${k}`);
    g.output(s.exit.offsetMap, `offset_${k}`);
    g.output(s.exit.terminatingScore, `terminating_${k}`);
    g.output(s.exit.headFeatures, `features_${k}`);
    g.output(s.tokens, `tokens_${k}`);
  });
  const feeds: Record<string, OrtResult> = {
    // A batch of two: the second item is the first with the images swapped in sign, so batching is exercised.
    template: { data: concat(template, template.map((v) => -v)), dims: [2, 3, config.templateSize, config.templateSize] },
    search: { data: concat(search, search.map((v) => -v)), dims: [2, 3, config.searchSize, config.searchSize] },
  };
  for (const spec of parameterSpecs(config)) feeds[spec.name] = { data: weights.get(spec.name)!, dims: spec.shape };
  return runOnnx(serializeModel(g), feeds);
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function firstOfBatch(t: OrtResult): Float32Array {
  return t.data.subarray(0, t.data.length / t.dims[0]!);
}

function secondOfBatch(t: OrtResult): Float32Array {
  return t.data.subarray(t.data.length / t.dims[0]!);
}

describe.each(CASES)('staged export, $label', ({ config: baseConfig }) => {
  for (const attention of ['joint', 'self'] as const) {
    const config = modelConfig(baseConfig.variant as 'tiny' | 'base', { ...baseConfig, templateAttention: attention });
    if (config.exitRecycling === false && attention === 'self') continue; // one layout is enough for the ablation
    const weights = initWeights(config, { seed: 7, perturbAll: true, std: 0.06 });
    const template = randomImage(config.templateSize, 11);
    const search = randomImage(config.searchSize, 12);
    const ref = referenceForward(config, weights, template, search);
    const layouts = attention === 'self' ? [false, true] : [false];

    for (const cache of layouts) {
      it(`${attention} attention${cache ? ', template cache' : ''}: every stage matches the float64 reference within 1e-4`, async () => {
        const exported = await exportModel(config, weights, { templateCache: cache });
        const staged = await runStaged(exported, template, search);
        expectStagesMatchReference(staged, ref, config, cache);
      });
    }

    if (attention === 'self') {
      it('self attention: the cached model computes what the uncached one does', async () => {
        const plain = await runStaged(await exportModel(config, weights), template, search);
        const cached = await runStaged(await exportModel(config, weights, { templateCache: true }), template, search);
        const N = modelGeometry(config).templateTokens * config.dim;
        plain.stages.forEach((p, k) => {
          const c = cached.stages[k]!;
          for (const name of ['score_map', 'size_map', 'offset_map', 'terminating_score']) expect(relativeError(c[name]!.data, p[name]!.data)).toBeLessThan(1e-5);
          if (p.tokens) expect(relativeError(c.tokens!.data, p.tokens.data.subarray(N))).toBeLessThan(1e-5);
        });
      });
    }

    it(`${attention} attention: the whole-model forward graph (training) matches the reference and batches`, async () => {
      const out = await runWholeModel(config, weights, template, search);
      const negated = referenceForward(config, weights, template.map((v) => -v), search.map((v) => -v));
      ref.stages.forEach((r, k) => {
        expect(relativeError(firstOfBatch(out[`score_${k}`]!), r.exit.scoreMap)).toBeLessThan(TOLERANCE);
        expect(relativeError(firstOfBatch(out[`size_${k}`]!), r.exit.sizeMap)).toBeLessThan(TOLERANCE);
        expect(relativeError(firstOfBatch(out[`offset_${k}`]!), r.exit.offsetMap)).toBeLessThan(TOLERANCE);
        expect(relativeError(firstOfBatch(out[`terminating_${k}`]!), [r.exit.terminatingScore])).toBeLessThan(TOLERANCE);
        expect(relativeError(firstOfBatch(out[`features_${k}`]!), r.exit.headFeatures)).toBeLessThan(TOLERANCE);
        expect(relativeError(firstOfBatch(out[`tokens_${k}`]!), r.tokens)).toBeLessThan(TOLERANCE);
        expect(relativeError(secondOfBatch(out[`offset_${k}`]!), negated.stages[k]!.exit.offsetMap)).toBeLessThan(TOLERANCE);
        expect(relativeError(secondOfBatch(out[`terminating_${k}`]!), [negated.stages[k]!.exit.terminatingScore])).toBeLessThan(TOLERANCE);
      });
    });
  }
});

describe('fp16 export', () => {
  it('stores float16 weights, keeps float32 I/O, and matches the reference on the rounded weights', async () => {
    const config = modelConfig('tiny', { templateAttention: 'self' });
    const weights = initWeights(config, { seed: 3, perturbAll: true, std: 0.06 });
    const rounded = new Map([...weights].map(([name, v]) => [name, fromFloat16(toFloat16(v))]));
    const template = randomImage(config.templateSize, 5);
    const search = randomImage(config.searchSize, 6);
    const ref = referenceForward(config, rounded, template, search);
    const exported = await exportModel(config, weights, { fp16: true, templateCache: true });
    const stage0 = readModel(exported.files.get('stage0.onnx')!);
    expect(stage0.initializers.length).toBeGreaterThan(0);
    for (const init of stage0.initializers) expect(init.dtype).toBe('float16');
    expect(stage0.inputs.every((i) => i.dtype === 'float32')).toBe(true);
    const full = await exportModel(config, weights, { templateCache: true });
    expect(exported.files.get('stage1.onnx')!.byteLength).toBeLessThan(0.6 * full.files.get('stage1.onnx')!.byteLength);
    expectStagesMatchReference(await runStaged(exported, template, search), ref, config, true);
  });
});

describe('manifest', () => {
  it('is what parseManifest accepts, links stages, hashes files and counts what the files hold', async () => {
    const config = modelConfig('tiny', { templateAttention: 'self', templateSize: 32, searchSize: 64, dim: 32, headChannels: 16, decisionHidden: 16 });
    const weights = initWeights(config, { seed: 1 });
    for (const cache of [false, true]) {
      const exported = await exportModel(config, weights, { templateCache: cache });
      const text = new TextDecoder().decode(exported.files.get(MANIFEST_FILE_NAME)!);
      const manifest = parseManifest(text);
      expect(manifest).toEqual(exported.manifest);
      expect(architectureFromManifest(manifest)).toEqual(config);
      expect(manifest.head).toEqual({ mapSize: 4, stride: 16 });
      expect(manifest.stages.map((s) => s.blocks)).toEqual([[0, 2], [2, 4], [4, 6]]);
      expect(manifest.templateEncoder!.outputs.every((o) => o.role === (cache ? 'template-cache' : 'template-tokens'))).toBe(true);
      const cost = modelCost(config, { templateCache: cache });
      for (const [k, stage] of manifest.stages.entries()) {
        if (k > 0) {
          expect(stage.inputs.find((i) => i.name === 'tokens_in')!.source).toEqual({ kind: 'output', stage: k - 1, output: 'tokens' });
          expect(stage.inputs.find((i) => i.name === 'prev_head_features')!.source).toEqual({ kind: 'output', stage: k - 1, output: 'head_features' });
          expect(stage.inputs.find((i) => i.name === 'prev_score_map')!.source).toEqual({ kind: 'output', stage: k - 1, output: 'score_map' });
        }
        expect(stage.inputs.some((i) => i.source.kind === 'output' && i.source.stage === 'template')).toBe(cache || k === 0);
        expect(stage.flops).toBe(cost.stages[k]!.flops);
      }
      for (const graph of [manifest.templateEncoder!, ...manifest.stages]) {
        const bytes = exported.files.get(graph.file)!;
        expect(graph.sha256).toBe(await sha256Hex(bytes));
        const onnx = readModel(bytes);
        expect(onnx.opsets['']).toBeGreaterThanOrEqual(17);
        expect(onnx.inputs.map((i) => i.name)).toEqual(graph.inputs.map((i) => i.name));
        expect(onnx.outputs.map((o) => o.name)).toEqual(graph.outputs.map((o) => o.name));
        const stored = onnx.initializers.filter((i) => i.dtype === 'float32' && i.dims.length > 0 && parameterSpecs(config).some((s) => s.name === i.name));
        expect(stored.reduce((a, i) => a + i.data.length, 0)).toBe(graph.params);
      }
    }
  });

  it('rejects a template cache on an architecture whose template attends to the search', async () => {
    const config = modelConfig('tiny', { templateSize: 32, searchSize: 64, dim: 32 });
    await expect(exportModel(config, initWeights(config, { seed: 1 }), { templateCache: true })).rejects.toThrow(/templateAttention "self"/);
  });
});
