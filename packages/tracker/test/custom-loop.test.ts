// The hand-built loop of docs/custom-tracker.md, kept in step with the guide:
// it must give exactly the boxes of createTracker with a fixed-depth policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Box, ImageFrame, InferenceSession, ModelSource } from '@dytrack/core';
import { inMemoryModel } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { fixedDepthPolicy } from '@dytrack/exit-policies';
import { exportModel, initWeights, modelConfig } from '@dytrack/model';
import { createSyntheticSequence } from '@dytrack/eval';
import { createRecycler } from '@dytrack/recycling';
import { clipBox, createCropper, createDecodedBox, decodeCenterHead, hannWindow2d, mapBoxBack } from '@dytrack/tensor';
import { createTracker } from '../src/index.js';

const backend = createNodeBackend();
let model: ModelSource;

beforeAll(async () => {
  const config = modelConfig('tiny', { name: 'docs-loop', dim: 32, heads: 2, stageDepths: [1, 1, 1], headChannels: 16, decisionHidden: 16 });
  const exported = await exportModel(config, initWeights(config, { seed: 5, perturbAll: true }));
  model = inMemoryModel(exported.manifest, exported.files);
}, 60_000);
afterAll(() => backend.dispose());

/** The guide's loop, verbatim apart from being wrapped in a factory. */
async function handBuiltTracker(model: ModelSource) {
  const m = model.manifest;
  const encoder = await backend.loadModel(await model.readFile(m.templateEncoder!.file), { name: 'template' });
  const stages: InferenceSession[] = await Promise.all(m.stages.map(async (s) => backend.loadModel(await model.readFile(s.file), { name: s.name })));
  const t = m.input.template.size, s = m.input.search.size, n = m.head.mapSize;
  const templateCropper = createCropper(t);
  const searchCropper = createCropper(s);
  const templateInput = new Float32Array(3 * t * t);
  const searchInput = new Float32Array(3 * s * s);
  const window = hannWindow2d(n);
  const decoded = createDecodedBox();
  let state: Box;
  const recycler = createRecycler();
  recycler.attach(m);

  return {
    async init(frame: ImageFrame, box: Box) {
      templateCropper.cropResizeNormalize(frame, box, m.input.template.contextFactor, m.input.normalization, templateInput);
      const template = { dtype: 'float32' as const, dims: [1, 3, t, t], data: templateInput };
      recycler.setTemplate(template, await encoder.run({ [m.templateEncoder!.inputs[0]!.name]: template }));
      state = box;
    },
    async update(frame: ImageFrame, depth: number): Promise<Box> {
      const crop = searchCropper.cropResizeNormalize(frame, state, m.input.search.contextFactor, m.input.normalization, searchInput);
      recycler.beginFrame({ dtype: 'float32', dims: [1, 3, s, s], data: searchInput });
      let outputs;
      for (let k = 0; k < depth; k++) {
        outputs = await stages[k]!.run(recycler.feedsFor(k));
        if (k < depth - 1) recycler.collect(k, outputs);
      }
      const spec = m.stages[depth - 1]!;
      const map = (role: string) => outputs![spec.outputs.find((o) => o.role === role)!.name]!.data as Float32Array;
      decodeCenterHead(map('score-map'), map('size-map'), map('offset-map'), n, window, decoded);
      const box = clipBox(mapBoxBack(decoded, state, crop.cropSize), frame.width, frame.height, 10);
      for (const v of Object.values(outputs!)) v.dispose();
      recycler.endFrame();
      return (state = { ...box });
    },
    async dispose() {
      recycler.dispose();
      await Promise.all([encoder.release(), ...stages.map((x) => x.release())]);
    },
  };
}

describe('docs/custom-tracker.md', () => {
  it.each([1, 2, 3])('the hand-built loop at depth %i gives the boxes of createTracker with fixedDepthPolicy', async (depth) => {
    const sequence = createSyntheticSequence({ seed: 21, length: 6, width: 200, height: 150 });
    // lostThreshold 0 so the tracker never holds a box: the guide's loop has no lost rule.
    const tracker = await createTracker({ backend, model, exitPolicy: fixedDepthPolicy({ exit: depth - 1 }), lostThreshold: 0 });
    const manual = await handBuiltTracker(model);
    const first = await sequence.frame(0);
    await tracker.init(first, sequence.groundTruth[0]!);
    await manual.init(first, sequence.groundTruth[0]!);
    for (let i = 1; i < sequence.length; i++) {
      const frame = await sequence.frame(i);
      const expected = await tracker.update(frame);
      const got = await manual.update(frame, depth);
      expect(expected.exitIndex).toBe(depth - 1);
      expect(got).toEqual({ ...expected.box });
    }
    await tracker.dispose();
    await manual.dispose();
  });
});
