import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@dytrack/core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng, createSyntheticSequence, writeOtbSequence, type Sequence } from '@dytrack/eval';
import { small } from './helpers.js';
import {
  allocateBatch,
  augmentCrop,
  createBatchLoader,
  flipBox,
  jitterBox,
  learningRateAt,
  validateSchedule,
  pairVisible,
  hiddenFrameNear,
  HIDDEN_VISIBILITY,
  PairSampler,
  parseDataSources,
  type BatchBuffers,
  type SamplerOptions,
} from '../src/index.js';


const samplerOptions: SamplerOptions = { model: small, sources: [{ kind: 'synthetic', sequences: 50, width: 160, height: 120, length: 30, systemAssets: false }], seed: 7, batchSize: 4 };

function same(a: BatchBuffers, b: BatchBuffers): boolean {
  const keys = ['templateImage', 'searchImage', 'heatmap', 'boxes', 'tokenMask'] as const;
  return keys.every((k) => a[k].length === b[k].length && a[k].every((v, i) => Object.is(v, b[k][i])));
}

describe('schedule', () => {
  const s = { baseLr: 1e-3, totalSteps: 100, warmupSteps: 10 };
  it('warms up linearly, then decays by a cosine to the floor', () => {
    expect(learningRateAt(s, 1)).toBeCloseTo(1e-4, 12);
    expect(learningRateAt(s, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(s, 55)).toBeCloseTo(1e-3 * (0.01 + 0.99 * 0.5), 12);
    expect(learningRateAt(s, 100)).toBeCloseTo(1e-5, 12);
  });
  it('rejects a warm-up longer than the schedule', () => {
    expect(() => validateSchedule({ baseLr: 1e-3, totalSteps: 2, warmupSteps: 300 })).toThrow(/warmupSteps \(300\) must not exceed totalSteps \(2\)/);
    expect(validateSchedule({ baseLr: 1e-3, totalSteps: 2, warmupSteps: 2 }).warmupSteps).toBe(2);
  });
  it('step decay drops by the factor at the given fraction', () => {
    const d = { ...s, decay: 'step' as const, stepAt: [0.5], stepFactor: 0.1 };
    expect(learningRateAt(d, 50)).toBeCloseTo(1e-3, 12);
    expect(learningRateAt(d, 51)).toBeCloseTo(1e-4, 12);
  });
});

describe('parseDataSources', () => {
  it('reads synthetic, counts, layouts and weights', () => {
    expect(parseDataSources('synthetic*3, got10k:/d/g,/d/otb')).toEqual([
      { kind: 'synthetic', weight: 3 },
      { kind: 'dataset', root: '/d/g', format: 'got10k' },
      { kind: 'dataset', root: '/d/otb' },
    ]);
    expect(parseDataSources('synthetic:500')).toEqual([{ kind: 'synthetic', sequences: 500 }]);
    expect(parseDataSources('procedural,procedural:20*2')).toEqual([
      { kind: 'synthetic', systemAssets: false },
      { kind: 'synthetic', sequences: 20, systemAssets: false, weight: 2 },
    ]);
    expect(() => parseDataSources('procedural:0')).toThrow(/count must be/);
    expect(() => parseDataSources('synthetic*0')).toThrow(InvalidArgumentError);
    expect(() => parseDataSources(' , ')).toThrow(/no sources/);
  });
});

describe('augmentation', () => {
  it('jitters the centre within ±centre/2·sqrt(wh) and the scale around 1', () => {
    const rng = createRng(3);
    const box = { x: 100, y: 50, width: 40, height: 20 };
    for (let i = 0; i < 200; i++) {
      const j = jitterBox(box, { center: 3, scale: 0.25 }, rng);
      const lim = 1.5 * Math.sqrt(j.width * j.height) + 1e-9;
      expect(Math.abs(j.x + j.width / 2 - 120)).toBeLessThanOrEqual(lim);
      expect(Math.abs(j.y + j.height / 2 - 60)).toBeLessThanOrEqual(lim);
    }
    const still = jitterBox(box, { center: 0, scale: 0 }, rng);
    expect(still).toEqual(box);
  });

  it('flips the crop and the box together', () => {
    const size = 8;
    const rgb = new Uint8Array(size * size * 3);
    rgb.set([200, 10, 20], (2 * size + 1) * 3); // a red pixel at (1, 2)
    augmentCrop(rgb, size, { flip: true, grey: false, gains: [1, 1, 1], blurTemplate: 0, blurSearch: 0 }, 0, new Uint8Array(size * size * 3));
    expect(Array.from(rgb.subarray((2 * size + 6) * 3, (2 * size + 6) * 3 + 3))).toEqual([200, 10, 20]);
    expect(flipBox({ x: 1, y: 2, width: 1, height: 1 }, size)).toEqual({ x: 6, y: 2, width: 1, height: 1 });
  });

  it('turns the crop grey and applies channel gains', () => {
    const rgb = Uint8Array.from([100, 50, 200]);
    augmentCrop(rgb, 1, { flip: false, grey: true, gains: [1, 1, 1], blurTemplate: 0, blurSearch: 0 }, 0, new Uint8Array(3));
    expect(rgb[0]).toBe(rgb[1]);
    expect(rgb[1]).toBe(rgb[2]);
    const c = Uint8Array.from([100, 100, 100]);
    augmentCrop(c, 1, { flip: false, grey: false, gains: [1.2, 1, 0.8], blurTemplate: 0, blurSearch: 0 }, 0, new Uint8Array(3));
    expect(Array.from(c)).toEqual([120, 100, 80]);
  });
});

describe('PairSampler', () => {
  it('pairsPerSequence: consecutive samples share a sequence; 1 is the default, bit for bit', async () => {
    // Two one-colour sequences (red, blue) in the OTB layout: a sample's colour says which it drew.
    const root = await mkdtemp(join(tmpdir(), 'dytrack-pairs-'));
    const solid = (name: string, rgb: [number, number, number]): Sequence => ({
      name,
      length: 4,
      groundTruth: Array.from({ length: 4 }, () => ({ x: 20, y: 16, width: 24, height: 20 })),
      absent: undefined,
      frame: async () => ({ data: new Uint8Array(64 * 48 * 3).map((_, k) => rgb[k % 3]!), width: 64, height: 48, format: 'rgb' as const }),
    });
    await writeOtbSequence(solid('red', [220, 20, 20]), join(root, 'red'), { imageFormat: 'png' });
    await writeOtbSequence(solid('blue', [20, 20, 220]), join(root, 'blue'), { imageFormat: 'png' });
    const options: SamplerOptions = { model: small, sources: [{ kind: 'dataset', root }], seed: 3, batchSize: 8, augmentation: { flip: 0, grey: 0, colour: 0, blur: 0 } };
    const colours = async (o: SamplerOptions, batch: number): Promise<string[]> => {
      const buf = allocateBatch(small, o.batchSize);
      await (await PairSampler.create(o)).fillBatch(batch, buf);
      const plane = small.searchSize * small.searchSize;
      // Red minus blue over the whole search crop (padding outside the frame weighs the same on both).
      return Array.from({ length: o.batchSize }, (_, i) => {
        let d = 0;
        for (let k = 0; k < plane; k++) d += buf.searchImage[i * 3 * plane + k]! - buf.searchImage[i * 3 * plane + 2 * plane + k]!;
        return d > 0 ? 'red' : 'blue';
      });
    };
    let alone = 0;
    for (let b = 0; b < 6; b++) {
      const paired = await colours({ ...options, pairsPerSequence: 2 }, b);
      for (let i = 0; i < 8; i += 2) expect(paired[i + 1]).toBe(paired[i]);
      const single = await colours(options, b);
      for (let i = 0; i < 8; i += 2) if (single[i + 1] !== single[i]) alone++;
      // pairsPerSequence 1 is the default, exactly.
      const x = allocateBatch(small, 8);
      const y = allocateBatch(small, 8);
      await (await PairSampler.create(options)).fillBatch(b, x);
      await (await PairSampler.create({ ...options, pairsPerSequence: 1 })).fillBatch(b, y);
      expect(x.searchImage).toEqual(y.searchImage);
    }
    expect(alone).toBeGreaterThan(0); // without sharing, neighbours do draw different sequences
    await expect(PairSampler.create({ ...options, pairsPerSequence: 0 })).rejects.toThrow(/pairsPerSequence/);
    await rm(root, { recursive: true, force: true });
  });

  it('minVisibility skips pairs on a hidden target; 0 is the default, bit for bit', async () => {
    // The first seed whose occluder hides more than half of the target.
    let seed = 0;
    let seq = createSyntheticSequence({ seed, length: 100, distractors: 0 });
    while (!Array.from({ length: 100 }, (_, i) => seq.visibility(i)).some((x) => x < 0.5)) seq = createSyntheticSequence({ seed: ++seed, length: 100, distractors: 0 });
    const v = Array.from({ length: 100 }, (_, i) => seq.visibility(i));
    const hidden = v.findIndex((x) => x < 0.5);
    const shown = v.findIndex((x) => x === 1);
    expect(hidden).toBeGreaterThan(0);
    expect(pairVisible(seq, shown, shown, 0.5)).toBe(true);
    expect(pairVisible(seq, shown, hidden, 0.5)).toBe(false);
    expect(pairVisible(seq, hidden, shown, 0.5)).toBe(false);
    expect(pairVisible(seq, hidden, hidden, 0)).toBe(true);
    // Sequences that do not report visibility (datasets) are never filtered by it.
    expect(pairVisible({ ...seq, visibility: undefined } as unknown as Sequence, hidden, hidden, 1)).toBe(true);

    const options: SamplerOptions = { model: small, sources: [{ kind: 'synthetic', sequences: 50, width: 160, height: 120, length: 40, systemAssets: false }], seed: 4, batchSize: 8 };
    const fill = async (o: SamplerOptions) => {
      const buf = allocateBatch(small, 8);
      await (await PairSampler.create(o)).fillBatch(2, buf);
      return buf.searchImage;
    };
    expect(await fill({ ...options, minVisibility: 0 })).toEqual(await fill(options));
    expect(await fill({ ...options, minVisibility: 0.99 })).not.toEqual(await fill(options));
    await expect(PairSampler.create({ ...options, minVisibility: 1.5 })).rejects.toThrow(/minVisibility must be a number in \[0, 1\], got 1.5/);
  });

  it('firstFrameTemplates: 1 cuts every template from frame 0; 0 is the default, bit for bit', async () => {
    // Frame 0 is green, later frames red: the template's colour says which frame it was cut from.
    const root = await mkdtemp(join(tmpdir(), 'dytrack-first-'));
    const seq: Sequence = {
      name: 'g',
      length: 6,
      groundTruth: Array.from({ length: 6 }, () => ({ x: 20, y: 16, width: 24, height: 20 })),
      absent: undefined,
      frame: async (i) => ({ data: new Uint8Array(64 * 48 * 3).map((_, k) => (i === 0 ? [20, 220, 20] : [220, 20, 20])[k % 3]!), width: 64, height: 48, format: 'rgb' as const }),
    };
    await writeOtbSequence(seq, join(root, 'g'), { imageFormat: 'png' });
    const options: SamplerOptions = { model: small, sources: [{ kind: 'dataset', root }], seed: 5, batchSize: 8, augmentation: { flip: 0, grey: 0, colour: 0, blur: 0 } };
    const greenTemplates = async (o: SamplerOptions): Promise<number> => {
      const buf = allocateBatch(small, 8);
      await (await PairSampler.create(o)).fillBatch(1, buf);
      const plane = small.templateSize * small.templateSize;
      let green = 0;
      for (let i = 0; i < 8; i++) {
        let d = 0;
        for (let k = 0; k < plane; k++) d += buf.templateImage[(i * 3 + 1) * plane + k]! - buf.templateImage[i * 3 * plane + k]!;
        if (d > 0) green++;
      }
      return green;
    };
    expect(await greenTemplates({ ...options, firstFrameTemplates: 1 })).toBe(8);
    expect(await greenTemplates(options)).toBeLessThan(8); // uniform draws: 1 frame in 6 is green
    const x = allocateBatch(small, 8);
    const y = allocateBatch(small, 8);
    await (await PairSampler.create(options)).fillBatch(2, x);
    await (await PairSampler.create({ ...options, firstFrameTemplates: 0 })).fillBatch(2, y);
    expect(same(x, y)).toBe(true);
    await expect(PairSampler.create({ ...options, firstFrameTemplates: 2 })).rejects.toThrow(/firstFrameTemplates must be a probability in \[0, 1\], got 2/);
    await rm(root, { recursive: true, force: true });
  });

  it('hiddenNegatives: search frames on a hidden target get an empty heat map; 0 is the default, bit for bit', async () => {
    // hiddenFrameNear finds frames whose target is hidden, within the gap, and only those.
    let seed = 0;
    let seq = createSyntheticSequence({ seed, length: 100, distractors: 0 });
    while (!Array.from({ length: 100 }, (_, i) => seq.visibility(i)).some((x) => x < HIDDEN_VISIBILITY)) seq = createSyntheticSequence({ seed: ++seed, length: 100, distractors: 0 });
    const v = Array.from({ length: 100 }, (_, i) => seq.visibility(i));
    const first = v.findIndex((x) => x < HIDDEN_VISIBILITY);
    const rng = createRng(1);
    for (let k = 0; k < 20; k++) {
      const f = hiddenFrameNear(seq, first, 3, rng);
      expect(v[f]).toBeLessThan(HIDDEN_VISIBILITY);
      expect(Math.abs(f - first)).toBeLessThanOrEqual(3);
    }
    const visibleRun = v.findIndex((x, i) => i >= 5 && v.slice(i - 5, i + 6).every((y) => y >= HIDDEN_VISIBILITY));
    expect(hiddenFrameNear(seq, visibleRun, 5, rng)).toBe(-1);
    expect(hiddenFrameNear({ ...seq, visibility: undefined } as unknown as Sequence, first, 100, rng)).toBe(-1);

    const options: SamplerOptions = { model: small, sources: [{ kind: 'synthetic', sequences: 20, width: 160, height: 120, length: 60, systemAssets: false }], seed: 2, batchSize: 8, minVisibility: 0.5 };
    const n = small.searchSize / small.patchSize;
    let negatives = 0;
    for (let b = 0; b < 4; b++) {
      const buf = allocateBatch(small, 8);
      await (await PairSampler.create({ ...options, hiddenNegatives: 1 })).fillBatch(b, buf);
      for (let i = 0; i < 8; i++) {
        const peak = Math.max(...buf.heatmap.subarray(i * n * n, (i + 1) * n * n));
        // A negative's map is empty; every other sample keeps its Gaussian with a peak of 1.
        expect(peak === 0 || peak === 1).toBe(true);
        if (peak === 0) negatives++;
        const [cx, cy, w, h] = Array.from(buf.boxes.subarray(i * 4, i * 4 + 4));
        for (const c of [cx!, cy!]) expect(c >= 0 && c < 1).toBe(true);
        expect(w! > 0 && h! > 0).toBe(true);
      }
    }
    expect(negatives).toBeGreaterThan(0);
    const x = allocateBatch(small, 8);
    const y = allocateBatch(small, 8);
    await (await PairSampler.create(options)).fillBatch(1, x);
    await (await PairSampler.create({ ...options, hiddenNegatives: 0 })).fillBatch(1, y);
    expect(same(x, y)).toBe(true);
    for (let i = 0; i < 8; i++) expect(Math.max(...x.heatmap.subarray(i * n * n, (i + 1) * n * n))).toBe(1);
    await expect(PairSampler.create({ ...options, hiddenNegatives: -0.1 })).rejects.toThrow(/hiddenNegatives must be a probability/);
  });

  it('writes whole batches that depend only on (seed, batch)', async () => {
    const a = await PairSampler.create(samplerOptions);
    const b = await PairSampler.create(samplerOptions);
    const x = allocateBatch(small, 4);
    const y = allocateBatch(small, 4);
    await a.fillBatch(5, x);
    await b.fillBatch(3, y); // another batch first: must not change batch 5
    await b.fillBatch(5, y);
    expect(same(x, y)).toBe(true);
    await b.fillBatch(6, y);
    expect(same(x, y)).toBe(false);
    const other = await PairSampler.create({ ...samplerOptions, seed: 8 });
    await other.fillBatch(5, y);
    expect(same(x, y)).toBe(false);
  });

  it('produces targets consistent with the box: heat-map peak at the box centre, mask weight 1 inside', async () => {
    const s = await PairSampler.create(samplerOptions);
    const batch = allocateBatch(small, 4);
    await s.fillBatch(0, batch);
    const n = 4;
    for (let i = 0; i < 4; i++) {
      const [cx, cy, w, h] = Array.from(batch.boxes.subarray(i * 4, i * 4 + 4));
      expect(cx).toBeGreaterThanOrEqual(0);
      expect(cx).toBeLessThan(1);
      expect(cy).toBeGreaterThanOrEqual(0);
      expect(cy).toBeLessThan(1);
      // Context factor 4 with scale jitter 0.25: the target is about a quarter of the crop.
      expect(Math.sqrt(w! * h!)).toBeGreaterThan(0.08);
      expect(Math.sqrt(w! * h!)).toBeLessThan(0.8);
      const heat = batch.heatmap.subarray(i * n * n, (i + 1) * n * n);
      const peak = heat.indexOf(1);
      if (peak >= 0) {
        expect(Math.abs((peak % n) - cx! * n)).toBeLessThanOrEqual(1);
        expect(Math.abs(Math.floor(peak / n) - cy! * n)).toBeLessThanOrEqual(1);
      }
      const mask = batch.tokenMask.subarray(i * n * n, (i + 1) * n * n);
      const centreToken = Math.min(n - 1, Math.floor(cy! * n)) * n + Math.min(n - 1, Math.floor(cx! * n));
      expect(mask[centreToken]).toBe(1);
    }
    // Normalised images: roughly zero-mean, unit-ish spread, never all zero.
    let sum = 0;
    for (const v of batch.searchImage) sum += Math.abs(v);
    expect(sum / batch.searchImage.length).toBeGreaterThan(0.1);
  });
});

describe('createBatchLoader', () => {
  it('a worker yields the same batches as the calling thread, in order, from the start batch', async () => {
    const worker = await createBatchLoader(samplerOptions, { startBatch: 2 });
    const inline = await createBatchLoader(samplerOptions, { startBatch: 2, worker: false });
    try {
      for (let k = 0; k < 3; k++) {
        const a = await worker.next();
        const b = await inline.next();
        expect(a.batch).toBe(2 + k);
        expect(b.batch).toBe(2 + k);
        expect(same(a.buffers, b.buffers)).toBe(true);
        worker.recycle(a.buffers);
        inline.recycle(b.buffers);
      }
    } finally {
      await worker.close();
      await inline.close();
    }
  });

  it('overlaps: while the consumer is busy, the next batches are being prepared', async () => {
    const loader = await createBatchLoader(samplerOptions, { prefetch: 2 });
    try {
      const first = await loader.next(); // includes the worker's start-up
      loader.recycle(first.buffers);
      const before = loader.stats();
      const busy = 2 * (before.produceMs / before.batches) + 50;
      for (let k = 0; k < 2; k++) {
        // Stand-in for a training step: the main thread is occupied for longer than a batch takes.
        const until = performance.now() + busy;
        while (performance.now() < until) {
          // spin
        }
        const b = await loader.next();
        loader.recycle(b.buffers);
      }
      const after = loader.stats();
      const produced = after.produceMs - before.produceMs;
      const waited = after.waitMs - before.waitMs;
      expect(produced).toBeGreaterThan(0);
      // Without overlap the wait would equal the production time.
      expect(waited).toBeLessThan(0.3 * produced);
    } finally {
      await loader.close();
    }
  });
});
