import { afterAll, describe, expect, it } from 'vitest';
import type { FloatDType } from '@dytrack/onnx';
import { createNodeBackend } from '@dytrack/backend-node';
import { InvalidArgumentError } from '@dytrack/core';
import { Trainer, buildTrainingStep, TRAINING_STEP_NAMES } from '@dytrack/autograd';
import type { MlpConfig, VitConfig } from './fixtures/models.js';
import {
  adamwReference,
  finiteDifferenceGradients,
  initParameters,
  mlpLossAndGrad,
  mlpParameters,
  mlpSpec,
  rng,
  toDType,
  vitLossTs,
  vitParameters,
  vitSpec,
  vitVectorBase,
} from './fixtures/models.js';

const backend = createNodeBackend({ intraOpNumThreads: 1 });
afterAll(() => backend.dispose());

function batchData(n: number, seed: number, scale = 1): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

function tensor(dtype: FloatDType, dims: number[], data: Float64Array) {
  return { dtype, dims, data: dtype === 'float64' ? data : Float32Array.from(data) };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const mlp: MlpConfig = { batch: 16, inputs: 3, hidden: 12 };
/** A smooth toy target: y = sin(x0) + 0.5·x1·x2. */
function mlpData(seed: number) {
  const x = batchData(mlp.batch * mlp.inputs, seed, 1.5);
  const y = Float64Array.from({ length: mlp.batch }, (_, n) => Math.sin(x[n * 3]) + 0.5 * x[n * 3 + 1] * x[n * 3 + 2]);
  return { x, y };
}

const vit: VitConfig = { batch: 4, tokens: 5, inputDim: 6, dim: 8, heads: 2, mlpRatio: 2, blocks: 2, head: 'pooled', gelu: 'tanh' };
function vitData(seed: number, c: VitConfig = vit) {
  const x = batchData(c.batch * c.tokens * c.inputDim, seed);
  // Target: a nonlinear function of the mean token.
  const y = Float64Array.from({ length: c.batch }, (_, n) => {
    let s = 0;
    for (let t = 0; t < c.tokens; t++) s += x[(n * c.tokens + t) * c.inputDim] * x[(n * c.tokens + t) * c.inputDim + 1];
    return Math.tanh(s);
  });
  return { x, y };
}

describe('training step', () => {
  it('matches a float64 TypeScript MLP with exact gradients, AdamW, weight decay and clipping', async () => {
    const optimizer = { beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1, maxGradNorm: 0.5 };
    const step = buildTrainingStep(mlpSpec(mlp, 'float64', optimizer));
    const init = initParameters(mlpParameters(mlp), 7, () => 0);
    const trainer = await Trainer.create(backend, step, toDType(init, 'float64'));
    const ref = structuredClone(init);
    const state = { m: {}, v: {}, step: 0 };
    let clippedSteps = 0;
    for (let s = 0; s < 6; s++) {
      const { x, y } = mlpData(100 + s);
      const lr = 0.05 / (1 + s);
      const result = await trainer.step({ x: tensor('float64', [mlp.batch, 3], x), y: tensor('float64', [mlp.batch, 1], y) }, lr);
      const { loss, grads } = mlpLossAndGrad(mlp, ref, x, y);
      const norm = adamwReference(mlpParameters(mlp), ref, grads, state, { lr, ...optimizer });
      if (norm > optimizer.maxGradNorm) clippedSteps++;
      expect(result.loss).toBeCloseTo(loss, 12);
      expect(result.gradNorm).toBeCloseTo(norm, 12);
      expect(result.step).toBe(s + 1);
      for (const p of mlpParameters(mlp)) expect(maxAbsDiff(trainer.parameters[p.name], ref[p.name]), p.name).toBeLessThan(1e-12);
    }
    expect(clippedSteps, 'clipping was exercised').toBeGreaterThan(0);
    await trainer.release();
  });

  it('matches a float64 TypeScript two-block transformer (finite-difference gradients)', async () => {
    // The key bias gets an exactly zero gradient (softmax ignores a shift of all scores), and
    // Adam with a tiny epsilon turns rounding noise there into full-size steps; a larger
    // epsilon keeps the comparison about the gradients.
    const optimizer = { beta1: 0.9, beta2: 0.999, epsilon: 1e-4, weightDecay: 0.05, maxGradNorm: 1 };
    const step = buildTrainingStep(vitSpec(vit, 'float64', optimizer));
    const params = vitParameters(vit);
    const init = initParameters(params, 11, vitVectorBase);
    const trainer = await Trainer.create(backend, step, toDType(init, 'float64'));
    const ref = structuredClone(init);
    const state = { m: {}, v: {}, step: 0 };
    for (let s = 0; s < 3; s++) {
      const { x, y } = vitData(200 + s);
      const result = await trainer.step({ x: tensor('float64', [vit.batch, vit.tokens, vit.inputDim], x), y: tensor('float64', [vit.batch, 1], y) }, 0.01);
      const loss = vitLossTs(vit, ref, x, y);
      const grads = finiteDifferenceGradients(ref, () => vitLossTs(vit, ref, x, y));
      const norm = adamwReference(params, ref, grads, state, { lr: 0.01, ...optimizer });
      // Exact on the first step; afterwards the weights carry the finite-difference error.
      expect(result.loss).toBeCloseTo(loss, s === 0 ? 12 : 9);
      expect(Math.abs(result.gradNorm - norm) / norm).toBeLessThan(1e-7);
    }
    let worst = 0;
    for (const p of params) worst = Math.max(worst, maxAbsDiff(trainer.parameters[p.name], ref[p.name]));
    // Adam normalises each element's step, so agreement is limited by the finite-difference error.
    expect(worst).toBeLessThan(1e-6);
    await trainer.release();
  });

  it('fits a toy regression with a small MLP in float32', async () => {
    const step = buildTrainingStep(mlpSpec(mlp, 'float32', { weightDecay: 0, maxGradNorm: 5 }));
    const trainer = await Trainer.create(backend, step, toDType(initParameters(mlpParameters(mlp), 3), 'float32'));
    const { x, y } = mlpData(1);
    const batch = { x: tensor('float32', [mlp.batch, 3], x), y: tensor('float32', [mlp.batch, 1], y) };
    const first = await trainer.step(batch, 0.02);
    let last = first;
    for (let s = 1; s < 600; s++) last = await trainer.step(batch, s < 400 ? 0.02 : 0.005);
    expect(first.loss).toBeGreaterThan(0.1);
    expect(last.loss).toBeLessThan(1e-4);
    expect(last.metrics.mae[0]).toBeLessThan(1e-2);
    await trainer.release();
  });

  it('fits a toy regression with a two-block transformer in float32', async () => {
    const c: VitConfig = { ...vit, batch: 8 };
    const step = buildTrainingStep(vitSpec(c, 'float32', { weightDecay: 0.01, maxGradNorm: 1 }));
    const trainer = await Trainer.create(backend, step, toDType(initParameters(vitParameters(c), 5, vitVectorBase), 'float32'));
    const { x, y } = vitData(9, c);
    const batch = { x: tensor('float32', [c.batch, c.tokens, c.inputDim], x), y: tensor('float32', [c.batch, 1], y) };
    const first = await trainer.step(batch, 3e-3);
    let last = first;
    for (let s = 1; s < 400; s++) last = await trainer.step(batch, s < 300 ? 3e-3 : 1e-3);
    expect(first.loss).toBeGreaterThan(0.05);
    expect(last.loss).toBeLessThan(1e-4);
    await trainer.release();
  });

  it('freezes parameters marked trainable: false (the rest train exactly as AdamW says, clipping over them alone)', async () => {
    const optimizer = { beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1, maxGradNorm: 0.5 };
    const frozen = new Set(['fc1/weight', 'fc1/bias']);
    const spec = mlpSpec(mlp, 'float64', optimizer);
    const step = buildTrainingStep({ ...spec, parameters: spec.parameters.map((p) => (frozen.has(p.name) ? { ...p, trainable: false } : p)) });
    const inputs = step.graph.inputs.map((v) => v.name);
    const outputs = step.graph.outputs.map((v) => v.name);
    expect(inputs).toContain('fc1/weight');
    expect(inputs).not.toContain(TRAINING_STEP_NAMES.firstMoment('fc1/weight'));
    expect(outputs).not.toContain(TRAINING_STEP_NAMES.updated('fc1/weight'));
    expect(outputs).toContain(TRAINING_STEP_NAMES.updated('fc2/weight'));
    expect(step.parameters.map((p) => p.trainable)).toEqual([false, false, true, true]);
    // The backward pass covers only what depends on fc2: a much smaller graph than the full step's.
    expect(step.graph.nodes.length).toBeLessThan(buildTrainingStep(spec).graph.nodes.length);

    const init = initParameters(mlpParameters(mlp), 11, () => 0);
    const trainer = await Trainer.create(backend, step, toDType(init, 'float64'));
    const frozenBefore = { w: Float64Array.from(trainer.parameters['fc1/weight']), b: Float64Array.from(trainer.parameters['fc1/bias']) };
    const trained = mlpParameters(mlp).filter((p) => !frozen.has(p.name));
    const ref = structuredClone(init);
    const state = { m: {}, v: {}, step: 0 };
    for (let s = 0; s < 4; s++) {
      const { x, y } = mlpData(300 + s);
      const result = await trainer.step({ x: tensor('float64', [mlp.batch, 3], x), y: tensor('float64', [mlp.batch, 1], y) }, 0.05);
      const { grads } = mlpLossAndGrad(mlp, ref, x, y);
      const norm = adamwReference(trained, ref, grads, state, { lr: 0.05, ...optimizer });
      expect(result.gradNorm).toBeCloseTo(norm, 12);
      for (const p of trained) expect(maxAbsDiff(trainer.parameters[p.name], ref[p.name]), p.name).toBeLessThan(1e-12);
    }
    expect(trainer.parameters['fc1/weight']).toEqual(frozenBefore.w);
    expect(trainer.parameters['fc1/bias']).toEqual(frozenBefore.b);
    // A frozen parameter's moments come back as they went in, so a checkpoint round-trips them.
    const saved = trainer.state();
    expect(saved.firstMoments['fc1/weight']).toEqual(new Float64Array(mlp.inputs * mlp.hidden));
    expect(saved.firstMoments['fc2/weight']!.some((v) => v !== 0)).toBe(true);
    const resumed = await Trainer.create(backend, step, saved);
    expect(resumed.stepCount).toBe(4);
    await resumed.release();
    await trainer.release();
    expect(() => buildTrainingStep({ ...spec, parameters: spec.parameters.map((p) => ({ ...p, trainable: false })) })).toThrow(/every parameter is frozen/);
  });

  it('names its inputs and outputs and validates what it is fed', async () => {
    const step = buildTrainingStep(mlpSpec(mlp, 'float32', {}));
    const names = step.graph.inputs.map((v) => v.name);
    expect(names).toContain('fc1/weight');
    expect(names).toContain(TRAINING_STEP_NAMES.firstMoment('fc1/weight'));
    expect(names).toContain('lr');
    expect(step.graph.outputs.map((v) => v.name)).toContain('updated/adam_v/fc2/bias');
    expect(step.parameters.find((p) => p.name === 'fc1/bias')!.weightDecay).toBe(false);
    expect(step.parameters.find((p) => p.name === 'fc1/weight')!.weightDecay).toBe(true);
    const init = toDType(initParameters(mlpParameters(mlp), 3), 'float32');
    await expect(Trainer.create(backend, step, { ...init, 'fc1/bias': new Float32Array(3) })).rejects.toThrow(/fc1\/bias has 3 elements/);
    await expect(Trainer.create(backend, step, toDType(initParameters(mlpParameters(mlp), 3), 'float64'))).rejects.toThrow(InvalidArgumentError);
    const trainer = await Trainer.create(backend, step, init);
    const { x } = mlpData(1);
    await expect(trainer.step({ x: tensor('float32', [mlp.batch, 3], x) }, 0.1)).rejects.toThrow(/missing input y/);
    await expect(trainer.step({ x: tensor('float32', [mlp.batch, 3], x), y: tensor('float32', [mlp.batch, 1], new Float64Array(mlp.batch)) }, NaN)).rejects.toThrow(/learning rate/);
    // Resuming from a saved state continues the step count.
    const before = trainer.parameters['fc1/weight'];
    await trainer.step({ x: tensor('float32', [mlp.batch, 3], x), y: tensor('float32', [mlp.batch, 1], new Float64Array(mlp.batch)) }, 0.1);
    expect(trainer.parameters['fc1/weight']).not.toBe(before);
    const resumed = await Trainer.create(backend, step, trainer.state());
    expect(resumed.stepCount).toBe(1);
    await resumed.release();
    await trainer.release();
    await expect(trainer.step({}, 0.1)).rejects.toThrow(/disposed/);
    expect(() => buildTrainingStep({ ...mlpSpec(mlp, 'float32', {}), optimizer: { beta1: 1 } })).toThrow(/betas/);
  });
});
