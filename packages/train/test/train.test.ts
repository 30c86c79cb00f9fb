import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Trainer } from '@dytrack/autograd';
import { createNodeBackend } from '@dytrack/backend-node';
import { parseManifest, MANIFEST_FILE_NAME, type HostTensor } from '@dytrack/core';
import { initWeights, modelConfig, parameterSpecs } from '@dytrack/model';
import { loadModelDirectory } from '@dytrack/model/node';
import { allocateBatch, BATCH_INPUTS, buildDyTrackTrainingStep, checkpointFromBytes, selectParameters, checkpointToBytes, exitIoUCurveSvg, PairSampler, smoothedExitIoU, trainModel, type DataSourceSpec, type HistoryEntry } from '../src/index.js';
import { lossChartTop } from '../src/train.js';
import { small } from './helpers.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'dytrack-train-test-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const data: DataSourceSpec[] = [{ kind: 'synthetic', sequences: 20, width: 160, height: 120, length: 20, systemAssets: false }];

function bitsEqual(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  for (const [k, v] of a) {
    const w = b.get(k)!;
    if (!w || w.length !== v.length) return false;
    const x = new Uint32Array(v.buffer, v.byteOffset, v.length);
    const y = new Uint32Array(w.buffer, w.byteOffset, w.length);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

describe('DyTrack training step', () => {
  it('drives the loss down on a fixed small batch', async () => {
    const B = 4;
    const step = buildDyTrackTrainingStep(small, { batchSize: B });
    const sampler = await PairSampler.create({ model: small, sources: data, seed: 3, batchSize: B });
    const b = allocateBatch(small, B);
    await sampler.fillBatch(0, b);
    const n = 4;
    const feeds: Record<string, HostTensor> = {
      [BATCH_INPUTS.templateImage]: { dtype: 'float32', dims: [B, 3, 32, 32], data: b.templateImage },
      [BATCH_INPUTS.searchImage]: { dtype: 'float32', dims: [B, 3, 64, 64], data: b.searchImage },
      [BATCH_INPUTS.heatmap]: { dtype: 'float32', dims: [B, 1, n, n], data: b.heatmap },
      [BATCH_INPUTS.boxes]: { dtype: 'float32', dims: [B, 4], data: b.boxes },
      [BATCH_INPUTS.tokenMask]: { dtype: 'float32', dims: [B, n * n], data: b.tokenMask },
    };
    const backend = createNodeBackend({ intraOpNumThreads: 1 });
    const trainer = await Trainer.create(backend, step, Object.fromEntries(initWeights(small, { seed: 1 })));
    try {
      const losses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const r = await trainer.step(feeds, 5e-3);
        losses.push(r.loss);
      }
      expect(losses.every(Number.isFinite)).toBe(true);
      const tail = losses.slice(-5).reduce((a, x) => a + x, 0) / 5;
      expect(tail).toBeLessThan(0.7 * losses[0]!);
      // Every component is reported, per exit, including the distillation terms of early exits.
      const last = await trainer.step(feeds, 2e-3);
      for (const name of ['exit0/giou', 'exit0/focal', 'exit0/decision', 'exit0/feature', 'exit0/scoreKL', 'exit2/l1', 'exit2/meanIoU']) expect(last.metrics[name]).toBeDefined();
      expect(last.metrics['exit2/feature']).toBeUndefined();
    } finally {
      await trainer.release();
      await backend.dispose();
    }
  }, 120_000);

  it('round-trips a checkpoint exactly', () => {
    const shapes = new Map(parameterSpecs(small).map((p) => [p.name, p.shape] as const));
    const params = Object.fromEntries(initWeights(small, { seed: 2, perturbAll: true }));
    const m = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.map((x) => x * 0.5)]));
    const v = Object.fromEntries(Object.entries(params).map(([k, x]) => [k, x.map((y) => y * y)]));
    const info = { step: 7, rng: { seed: 2, nextBatch: 7 }, run: { a: 1 }, history: [{ step: 7, loss: 1.5, lr: 1e-4, time: 3 }] };
    const back = checkpointFromBytes(checkpointToBytes({ step: 7, parameters: params, firstMoments: m, secondMoments: v }, info, shapes), shapes);
    expect(back.info).toEqual(info);
    expect(back.state.step).toBe(7);
    expect(bitsEqual(new Map(Object.entries(back.state.parameters) as [string, Float32Array][]), new Map(Object.entries(params)))).toBe(true);
    expect(bitsEqual(new Map(Object.entries(back.state.secondMoments) as [string, Float32Array][]), new Map(Object.entries(v)))).toBe(true);
  });
});

describe('per-exit training IoU', () => {
  const entry = (step: number, exitIoU?: number[]): HistoryEntry => ({ step, loss: 1, lr: 1e-4, time: step, ...(exitIoU ? { exitIoU } : {}) });

  it('smooths each exit with an EMA of 0.99 started at its first value, skipping entries that did not record it', () => {
    const history = [entry(1), entry(2, [0.2, 0.4]), entry(3, [0.4, 0.4]), entry(4, [1, 0])];
    const [e0, e1] = smoothedExitIoU(history);
    // exit 0: 0.2, then 0.99*0.2 + 0.01*0.4 = 0.202, then 0.99*0.202 + 0.01*1 = 0.20998.
    expect(e0![0]).toBeCloseTo(0.2, 12);
    expect(e0![1]).toBeCloseTo(0.202, 12);
    expect(e0![2]).toBeCloseTo(0.20998, 12);
    // exit 1: 0.4, 0.4, then 0.99*0.4 = 0.396.
    expect(e1).toHaveLength(3);
    expect(e1![2]).toBeCloseTo(0.396, 12);
    expect(smoothedExitIoU([entry(1), entry(2)])).toEqual([]);
  });

  it('draws one curve per exit, and nothing for a history without per-exit IoU', () => {
    const svg = exitIoUCurveSvg([entry(1, [0.1, 0.2, 0.3]), entry(2, [0.2, 0.3, 0.4])], 'run x')!;
    expect(svg).toMatch(/^<svg/);
    for (const label of ['run x', 'exit 0', 'exit 1', 'exit 2']) expect(svg).toContain(label);
    expect(svg).not.toContain('exit 3');
    expect(exitIoUCurveSvg([entry(1), entry(2)])).toBeUndefined();
  });
});

describe('loss chart', () => {
  it('leaves the first few losses of a long run above the chart and shows every loss of a short one', () => {
    const long = [90, 80, 70, 60, 50, ...Array.from({ length: 195 }, (_, i) => 5 - i / 100)];
    expect(lossChartTop(long)).toBe(5);
    expect(lossChartTop([90, 8, 7, 6])).toBe(90);
    // only 5% of the history may be left out: 2 of 40
    expect(lossChartTop([90, 80, 70, ...Array.from({ length: 37 }, () => 3)])).toBe(70);
    expect(lossChartTop([Number.NaN, 2, 3])).toBe(3);
  });
});

describe('trainModel', () => {
  const base = { model: small, data, steps: 4, batchSize: 2, checkpointEvery: 2, threads: 1, lr: 1e-3, warmupSteps: 1 } as const;

  it('resumes from a checkpoint to bit-identical weights, is deterministic per seed, and exports a model with its provenance', async () => {
    const whole = await tempDir();
    const progressIoU: number[][] = [];
    const fullLogs: string[] = [];
    const full = await trainModel({
      ...base,
      outDir: whole,
      seed: 5,
      evaluation: { syntheticSequences: 1, length: 6 },
      onProgress: (e) => progressIoU.push([0, 1, 2].map((k) => e.metrics[`exit${k}/meanIoU`]!)),
      onLog: (m) => fullLogs.push(m),
    });
    expect(full.steps).toBe(4);
    expect(full.history.map((h) => h.step)).toEqual([1, 2, 3, 4]);
    // Each step records every exit's IoU on its training pairs, as the step reported it.
    expect(full.history.map((h) => h.exitIoU)).toEqual(progressIoU);
    for (const iou of progressIoU.flat()) {
      expect(iou).toBeGreaterThanOrEqual(0);
      expect(iou).toBeLessThanOrEqual(1);
    }
    expect(full.finalExitIoU).toEqual(smoothedExitIoU(full.history).map((s) => s[3]));
    expect(fullLogs.join('\n')).toMatch(/training IoU per exit \(EMA 0\.99\): \d\.\d{3} \/ \d\.\d{3} \/ \d\.\d{3}/);
    const exitsPng = await readFile(join(whole, 'exits.png'));
    expect(Array.from(exitsPng.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);

    const split = await tempDir();
    const first = await trainModel({ ...base, outDir: split, seed: 5, stopAfter: 2, evaluation: false, workerLoader: false });
    expect(first.steps).toBe(2);
    expect(first.exportDir).toBeUndefined();
    const resumed = await trainModel({ ...base, outDir: split, seed: 5, resume: true, evaluation: false });
    expect(resumed.steps).toBe(4);
    expect(bitsEqual(full.weights, resumed.weights)).toBe(true);
    expect(resumed.history.map((h) => h.loss)).toEqual(full.history.map((h) => h.loss));
    expect(resumed.history.map((h) => h.exitIoU)).toEqual(full.history.map((h) => h.exitIoU));

    const other = await trainModel({ ...base, outDir: await tempDir(), seed: 6, evaluation: false, workerLoader: false });
    expect(bitsEqual(full.weights, other.weights)).toBe(false);

    // A resume with other settings is refused.
    await expect(trainModel({ ...base, outDir: split, seed: 5, lr: 5e-4, resume: true, evaluation: false })).rejects.toThrow(/other settings/);
    // Stopping after the schedule's end is a mistake, not a no-op.
    await expect(trainModel({ ...base, outDir: await tempDir(), seed: 5, stopAfter: 99, evaluation: false })).rejects.toThrow(/stopAfter must be an integer in 1\.\.4/);

    // The export: a loadable model directory whose manifest records how it was made and how it scores.
    const model = await loadModelDirectory(full.exportDir!);
    const manifest = parseManifest(JSON.parse(await readFile(join(full.exportDir!, MANIFEST_FILE_NAME), 'utf8')));
    expect(model.manifest.stages).toHaveLength(3);
    const prov = manifest.provenance as Record<string, any>;
    expect(prov.training.steps).toBe(4);
    expect(prov.training.seed).toBe(5);
    expect(prov.training.data).toEqual(data);
    expect(prov.training.finalExitIoU).toEqual(full.finalExitIoU);
    expect(prov.training.loss.weights).toMatchObject({ giou: 2, l1: 5, focal: 1, decision: 1, feature: 1, scoreKL: 1 });
    expect(prov.evaluation[0].perExit).toHaveLength(3);
    expect(prov.evaluation[0].dynamic.auc).toBeGreaterThanOrEqual(0);
    expect(full.evaluation![0]!.data).toMatch(/held out/);
    const png = await readFile(join(whole, 'loss.png'));
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]);

    // Fine-tuning: start from the trained weights of an architecture without the size branch's
    // convolutions; the parameters it lacks start from the random initialisation, the others
    // from the given values (one AdamW step moves each by at most about the learning rate).
    const given = new Map([...full.weights].filter(([k]) => !k.includes('.size_conv.')));
    const logs: string[] = [];
    const tuned = await trainModel({ ...base, steps: 1, outDir: await tempDir(), seed: 9, evaluation: false, workerLoader: false, initialWeights: given, initialWeightsLabel: 'run A', onLog: (m) => logs.push(m) });
    expect(logs.join('\n')).toMatch(/initialised 12 parameters the given weights lack: exits\.0\.size_conv\.0\.weight/);
    const name = 'backbone.blocks.0.attn.qkv.weight';
    const moved = tuned.weights.get(name)!.map((v, i) => Math.abs(v - given.get(name)![i]!));
    expect(Math.max(...moved)).toBeLessThan(2 * base.lr);
    const tunedManifest = JSON.parse(await readFile(join(tuned.exportDir!, MANIFEST_FILE_NAME), 'utf8'));
    expect(tunedManifest.provenance.training.init).toBe('from run A');

    // Growing the last stage by a block: the new block starts as the identity (its residual
    // branches' output layers zero), so after one step its output layers hold at most about
    // one learning rate, where the random initialisation (std 0.02) would put values near 0.05.
    const grownConfig = modelConfig('tiny', { ...small, stageDepths: [1, 1, 2] });
    const growLogs: string[] = [];
    const grown = await trainModel({ ...base, model: grownConfig, steps: 1, outDir: await tempDir(), seed: 9, evaluation: false, workerLoader: false, initialWeights: full.weights, onLog: (m) => growLogs.push(m) });
    expect(growLogs.join('\n')).toMatch(/blocks 3 start as the identity/);
    for (const layer of ['attn.proj.weight', 'mlp.fc2.weight']) {
      const w = grown.weights.get(`backbone.blocks.3.${layer}`)!;
      expect(Math.max(...w.map(Math.abs))).toBeLessThan(2 * base.lr);
    }
    const qkv = grown.weights.get('backbone.blocks.3.attn.qkv.weight')!;
    expect(Math.max(...qkv.map(Math.abs))).toBeGreaterThan(0.01); // the rest of the block is randomly initialised
    expect(Math.max(...grown.weights.get('backbone.blocks.2.attn.qkv.weight')!.map((v, i) => Math.abs(v - full.weights.get('backbone.blocks.2.attn.qkv.weight')![i]!)))).toBeLessThan(2 * base.lr);
  }, 300_000);

  it('continues weights trained at another crop size, their position embeddings resampled', async () => {
    // As a low-resolution first phase would hand over: search 64 (a 4x4 grid) to search 96 (6x6).
    const given = initWeights(small, { seed: 3 });
    const larger = modelConfig('tiny', { ...small, templateSize: 48, searchSize: 96 });
    const logs: string[] = [];
    const run = await trainModel({ ...base, model: larger, steps: 1, outDir: await tempDir(), seed: 9, evaluation: false, workerLoader: false, initialWeights: given, onLog: (m) => logs.push(m) });
    expect(run.steps).toBe(1);
    expect(logs.join('\n')).toMatch(/backbone\.pos_embed_z resampled from a 2x2 to a 3x3 grid/);
    expect(logs.join('\n')).toMatch(/backbone\.pos_embed_x resampled from a 4x4 to a 6x6 grid/);
    expect(run.weights.get('backbone.pos_embed_x')!.length).toBe(36 * small.dim);
    const name = 'backbone.blocks.0.attn.qkv.weight';
    expect(Math.max(...run.weights.get(name)!.map((v, i) => Math.abs(v - given.get(name)![i]!)))).toBeLessThan(2 * base.lr);
  }, 120_000);

  it('fine-tunes only the parameters trainOnly names: the rest stay bit-identical, through a resume', async () => {
    const given = initWeights(small, { seed: 3 });
    const decision = selectParameters(small, ['decision']);
    expect([...decision].sort()).toEqual([0, 1, 2].flatMap((k) => ['fc1.bias', 'fc1.weight', 'fc2.bias', 'fc2.weight'].map((t) => `exits.${k}.decision.${t}`)));
    expect(selectParameters(small, ['exits.2', 'decision']).size).toBeGreaterThan(decision.size);
    expect(() => selectParameters(small, ['decisions'])).toThrow(/names no parameter/);
    expect(() => selectParameters(small, ['exits.'])).toThrow(/not a run of name segments/);
    expect(() => buildDyTrackTrainingStep(small, { batchSize: 2, trainable: new Set(['nope']) })).toThrow(/no parameter "nope"/);

    const opts = { ...base, seed: 4, evaluation: false, workerLoader: false, initialWeights: given, trainOnly: ['decision'] } as const;
    const wholeDir = await tempDir();
    const whole = await trainModel({ ...opts, outDir: wholeDir });
    let changed = 0;
    for (const [name, before] of given) {
      const after = whole.weights.get(name)!;
      const same = bitsEqual(new Map([[name, before]]), new Map([[name, after]]));
      if (decision.has(name)) changed += same ? 0 : 1;
      else expect(same, name).toBe(true);
    }
    expect(changed).toBe(decision.size);
    const split = await tempDir();
    await trainModel({ ...opts, outDir: split, stopAfter: 2 });
    // Checkpoints written before the decision-target settings existed lack them; they resume with the defaults.
    const shapes = new Map(parameterSpecs(small).map((p) => [p.name, p.shape] as const));
    const file = join(split, 'checkpoint.safetensors');
    const { state, info } = checkpointFromBytes(new Uint8Array(await readFile(file)), shapes);
    const { decisionTarget: _t, decisionMargin: _m, ...olderLoss } = (info.run as { loss: Record<string, unknown> }).loss;
    await writeFile(file, checkpointToBytes(state, { ...info, run: { ...(info.run as object), loss: olderLoss } }, shapes));
    const resumed = await trainModel({ ...opts, outDir: split, resume: true });
    expect(bitsEqual(whole.weights, resumed.weights)).toBe(true);
    const manifest = JSON.parse(await readFile(join(whole.exportDir!, MANIFEST_FILE_NAME), 'utf8'));
    expect(manifest.provenance.training).toMatchObject({ trainOnly: ['decision'], trainedParameters: 12, loss: { decisionTarget: 'iou', decisionMargin: 0.05 } });
    // The relative decision target trains the same branches to other values, and says so in the provenance.
    const relativeLogs: string[] = [];
    const relative = await trainModel({ ...opts, outDir: await tempDir(), loss: { decisionTarget: 'asGoodAsLast', decisionMargin: 0.1 }, onLog: (m) => relativeLogs.push(m) });
    expect(relativeLogs.join('\n')).toMatch(/as good as the last exit's \(IoU within 0\.1 of it\)/);
    expect(bitsEqual(new Map([...relative.weights].filter(([k]) => !decision.has(k))), new Map([...whole.weights].filter(([k]) => !decision.has(k))))).toBe(true);
    expect(bitsEqual(new Map([...relative.weights].filter(([k]) => decision.has(k))), new Map([...whole.weights].filter(([k]) => decision.has(k))))).toBe(false);
    const relativeManifest = JSON.parse(await readFile(join(relative.exportDir!, MANIFEST_FILE_NAME), 'utf8'));
    expect(relativeManifest.provenance.training.loss).toMatchObject({ decisionTarget: 'asGoodAsLast', decisionMargin: 0.1 });
    // The loss chart says what trained (its curve is mostly the frozen parameters' terms).
    expect(await readFile(join(wholeDir, 'loss.svg'), 'utf8')).toContain('trains decision only');
    await expect(trainModel({ ...opts, outDir: await tempDir(), trainOnly: ['decsion'] })).rejects.toThrow(/"decsion" names no parameter/);
    // Frozen parameters the given weights lack would stay random: refused, naming them.
    const lacking = new Map([...given].filter(([k]) => k !== 'backbone.blocks.2.mlp.fc1.weight'));
    await expect(trainModel({ ...opts, initialWeights: lacking, outDir: await tempDir() })).rejects.toThrow(/lack 1 parameters that would stay frozen .*backbone\.blocks\.2\.mlp\.fc1\.weight/);
    // ... but a missing trainable one starts from the random initialisation as in any fine-tune.
    const noDecision = new Map([...given].filter(([k]) => k !== 'exits.0.decision.fc2.bias'));
    expect((await trainModel({ ...opts, steps: 1, warmupSteps: 0, initialWeights: noDecision, outDir: await tempDir() })).steps).toBe(1);
  }, 120_000);
});
