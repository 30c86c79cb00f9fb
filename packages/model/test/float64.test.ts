import { createNodeBackend } from '@dytrack/backend-node';
import type { HostTensor } from '@dytrack/core';
import { Graph, serializeModel } from '@dytrack/onnx';
import { describe, expect, it } from 'vitest';
import { addParameterInputs, emitModelForward, initWeights, modelConfig, parameterSpecs, referenceForward } from '../src/index.js';
import { randomImage, relativeError } from './helpers.js';

describe('whole-model forward graph in float64', () => {
  it('runs in onnxruntime in float64 (for gradient checks) and matches the reference to 1e-9', async () => {
    const config = modelConfig('tiny', { templateAttention: 'self', templateSize: 32, searchSize: 64, dim: 32, headChannels: 16, decisionHidden: 16 });
    const weights = initWeights(config, { seed: 21, perturbAll: true, std: 0.1 });
    const template = randomImage(config.templateSize, 1);
    const search = randomImage(config.searchSize, 2);
    const ref = referenceForward(config, weights, template, search);

    const g = new Graph({ dtype: 'float64' });
    const params = addParameterInputs(g, config);
    const templateImage = g.input('template', 'float64', [1, 3, config.templateSize, config.templateSize]);
    const searchImage = g.input('search', 'float64', [1, 3, config.searchSize, config.searchSize]);
    const forward = emitModelForward(g, config, params, { templateImage, searchImage });
    forward.stages.forEach((s, k) => {
      g.output(s.exit.scoreLogits, `score_logits_${k}`);
      g.output(s.exit.sizeMap, `size_${k}`);
      g.output(s.exit.terminatingScore, `terminating_${k}`);
      g.output(s.exit.headFeatures, `features_${k}`);
    });
    const feeds: Record<string, HostTensor> = {
      template: { dtype: 'float64', dims: [1, 3, config.templateSize, config.templateSize], data: Float64Array.from(template) },
      search: { dtype: 'float64', dims: [1, 3, config.searchSize, config.searchSize], data: Float64Array.from(search) },
    };
    for (const spec of parameterSpecs(config)) feeds[spec.name] = { dtype: 'float64', dims: spec.shape, data: Float64Array.from(weights.get(spec.name)!) };
    const backend = createNodeBackend({ intraOpNumThreads: 1 });
    try {
      const session = await backend.loadModel(serializeModel(g));
      const out = await session.run(feeds);
      ref.stages.forEach((r, k) => {
        expect(out[`score_logits_${k}`]!.dtype).toBe('float64');
        expect(relativeError(out[`score_logits_${k}`]!.data as Float64Array, r.exit.scoreLogits)).toBeLessThan(1e-9);
        expect(relativeError(out[`size_${k}`]!.data as Float64Array, r.exit.sizeMap)).toBeLessThan(1e-9);
        expect(relativeError(out[`terminating_${k}`]!.data as Float64Array, [r.exit.terminatingScore])).toBeLessThan(1e-9);
        expect(relativeError(out[`features_${k}`]!.data as Float64Array, r.exit.headFeatures)).toBeLessThan(1e-9);
      });
      await session.release();
    } finally {
      await backend.dispose();
    }
  });
});
