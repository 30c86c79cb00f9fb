import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILE_NAME, parseManifest } from '@dytrack/core';
import { exportModel, initWeights } from '@dytrack/model';
import { loadModelDirectory, writeModelDirectory } from '@dytrack/model/node';
import { CALIBRATION_SEED_BASE, HELD_OUT_SEED_BASE, calibrateThresholds, chooseOperatingPoint, meetsOperatingPointRule, writeDefaultThresholds, type CalibrationPoint, type OperatingPointRule } from '../src/index.js';
import { small } from './helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function smallModelDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dytrack-calibrate-test-'));
  dirs.push(dir);
  await writeModelDirectory(dir, await exportModel(small, initWeights(small, { seed: 3, perturbAll: true, std: 0.3 })));
  return dir;
}

describe('calibrateThresholds', () => {
  it('picks the fewest mean stages that keep the AUC, and writes them as the defaults', async () => {
    const dir = await smallModelDir();
    const model = await loadModelDirectory(dir);
    const seen: unknown[] = [];
    // Threshold 0 exits at stage 0 on every frame; 1 never exits early (a sigmoid stays below 1).
    const c = await calibrateThresholds(model, { syntheticSequences: 2, length: 8, candidates: [1, 0], retain: 1, onPoint: (p) => seen.push(p) });
    expect(c.points).toHaveLength(3);
    expect(seen).toHaveLength(3);
    const [full, zero, one] = c.points;
    expect(full!.thresholds).toBeUndefined();
    expect(full!.meanStages).toBe(3);
    expect(zero!.thresholds).toEqual([0, 0, 0]);
    expect(zero!.meanStages).toBe(1);
    expect(one!.thresholds).toEqual([1, 1, 0]);
    expect(one!.meanStages).toBe(3);
    // Never exiting early tracks exactly as full depth does.
    expect(one!.auc).toBe(full!.auc);
    const qualifying = c.points.slice(1).filter((p) => p.auc >= full!.auc);
    const cheapest = Math.min(...qualifying.map((p) => p.meanStages));
    expect(c.chosen.meanStages).toBe(cheapest);
    expect(c.thresholds).toEqual(c.chosen.thresholds);
    // Never exiting early keeps 100% of full depth, so the rule is always met here.
    expect(c.ruleMet).toBe(true);
    // The chosen point against full depth, paired by sequence: its share is the ratio of the two AUCs.
    expect(c.keptOfFullDepth!.sequences).toBe(2);
    expect(c.keptOfFullDepth!.ratio).toBeCloseTo(c.chosen.auc / full!.auc, 12);
    expect(c.keptOfFullDepth!.difference).toBeCloseTo(c.chosen.auc - full!.auc, 12);
    expect(c.keptOfFullDepth!.ratioLow).toBeLessThanOrEqual(c.keptOfFullDepth!.ratio);
    expect(c.keptOfFullDepth!.ratioHigh).toBeGreaterThanOrEqual(c.keptOfFullDepth!.ratio);
    expect(c.data).toContain(String(CALIBRATION_SEED_BASE));

    await writeDefaultThresholds(dir, [0.65, 0.55, 0], { calibration: c });
    const manifest = parseManifest(JSON.parse(await readFile(join(dir, MANIFEST_FILE_NAME), 'utf8')));
    expect(manifest.stages.map((s) => s.exit.defaultThreshold)).toEqual([0.65, 0.55, 0]);
    expect((manifest.provenance as any).architecture.defaultThresholds).toEqual([0.65, 0.55, 0]);
    expect((manifest.provenance as any).calibration.retain).toBe(1);
    // The ONNX files are untouched: the directory still loads with every sha256 verified.
    await expect(loadModelDirectory(dir)).resolves.toBeDefined();
  }, 300_000);

  it('measures the same points on worker threads as in this thread, and says which count it rejects', async () => {
    const model = await loadModelDirectory(await smallModelDir());
    const options = { syntheticSequences: 3, length: 10, candidates: [0.9, 0, 0.5], maxStages: 0.6 } as const;
    const here = await calibrateThresholds(model, options);
    const order: unknown[] = [];
    const workers = await calibrateThresholds(model, { ...options, workers: 2, onPoint: (p) => order.push(p.thresholds) });
    // Same boxes, so the same AUC to the last bit, the same stages and the same choice (and interval).
    expect(workers).toEqual(here);
    expect(here.keptOfFullDepth!.ratio).toBeCloseTo(here.chosen.auc / here.fullDepthAuc, 12);
    expect(order).toEqual([undefined, [0, 0, 0], [0.5, 0.5, 0], [0.9, 0.9, 0]]);
    // The points differ from one another, so equality above is not two empty answers agreeing.
    expect(new Set(here.points.map((p) => p.meanStages)).size).toBeGreaterThan(1);
    await expect(calibrateThresholds(model, { ...options, workers: 0 })).rejects.toThrow(/workers must be a positive integer, got 0/);
  }, 120_000);

  it('rejects seeds outside the validation range, bad targets, and thresholds that do not fit the model', async () => {
    const dir = await smallModelDir();
    const model = await loadModelDirectory(dir);
    await expect(calibrateThresholds(model, { seedBase: 5 })).rejects.toThrow(/training seeds/);
    await expect(calibrateThresholds(model, { seedBase: HELD_OUT_SEED_BASE - 2, syntheticSequences: 4 })).rejects.toThrow(/held-out/);
    await expect(calibrateThresholds(model, { retain: 0 })).rejects.toThrow(/retain/);
    await expect(calibrateThresholds(model, { maxStages: 0 })).rejects.toThrow(/maxStages/);
    await expect(calibrateThresholds(model, { maxStages: 1.5 })).rejects.toThrow(/maxStages/);
    await expect(calibrateThresholds(model, { retain: 0.9, maxStages: 0.6 })).rejects.toThrow(/not both/);
    await expect(calibrateThresholds(model, { candidates: [1.5] })).rejects.toThrow(/candidates/);
    await expect(writeDefaultThresholds(dir, [0.5, 0])).rejects.toThrow(/2 thresholds for 3 stages/);
    await expect(writeDefaultThresholds(dir, [0.5, 2, 0])).rejects.toThrow(/defaultThreshold/);
    // A rejected write leaves the manifest as it was.
    const manifest = parseManifest(JSON.parse(await readFile(join(dir, MANIFEST_FILE_NAME), 'utf8')));
    expect(manifest.stages.map((s) => s.exit.defaultThreshold)).toEqual([...small.defaultThresholds]);
  }, 120_000);
});

describe('chooseOperatingPoint', () => {
  // The validation points the fifth session's default model was calibrated on (3 stages).
  const at = (t: number, auc: number, meanStages: number): CalibrationPoint => ({ thresholds: [t, t, 0], auc, meanStages });
  const full: CalibrationPoint = { thresholds: undefined, auc: 61.7, meanStages: 3 };
  const points = [at(0.4, 58.3, 1.06), at(0.5, 58.3, 1.1), at(0.6, 62.4, 1.14), at(0.7, 63.1, 1.41), at(0.8, 61.8, 2.18), at(0.9, 61.7, 3)];

  it('rule "retain": the cheapest point that keeps the share of the full-depth AUC', () => {
    expect(chooseOperatingPoint(full, points, { retain: 0.985 }, 3).thresholds).toEqual([0.6, 0.6, 0]);
    // 0.95 x 61.7 = 58.6: 0.4 and 0.5 (58.3) fall just short.
    expect(chooseOperatingPoint(full, points, { retain: 0.95 }, 3).thresholds).toEqual([0.6, 0.6, 0]);
    expect(chooseOperatingPoint(full, points, { retain: 0.94 }, 3).thresholds).toEqual([0.4, 0.4, 0]);
    // Nothing keeps 100% of a full depth of 70: the most accurate point is the fallback.
    expect(chooseOperatingPoint({ ...full, auc: 70 }, points, { retain: 1 }, 3).thresholds).toEqual([0.7, 0.7, 0]);
  });

  it('rule "budget": the most accurate point within the share of the stages', () => {
    // 60% of 3 stages is 1.8: 0.7 (63.1 at 1.41) is the best that fits; 0.8 (2.18) does not.
    expect(chooseOperatingPoint(full, points, { maxStages: 0.6 }, 3).thresholds).toEqual([0.7, 0.7, 0]);
    expect(chooseOperatingPoint(full, points, { maxStages: 0.4 }, 3).thresholds).toEqual([0.6, 0.6, 0]);
    expect(chooseOperatingPoint(full, points, { maxStages: 1 }, 3).thresholds).toEqual([0.7, 0.7, 0]);
    // Equal AUC: fewer stages win (0.4 at 1.06 over 0.5 at 1.10).
    expect(chooseOperatingPoint(full, points, { maxStages: 0.367 }, 3).thresholds).toEqual([0.4, 0.4, 0]);
    // Nothing fits a budget of a third of a stage: the cheapest point is the fallback.
    expect(chooseOperatingPoint(full, points, { maxStages: 0.3 }, 3).thresholds).toEqual([0.4, 0.4, 0]);
  });

  it('says whether a point meets the rule, so a fallback can be reported', () => {
    const chosen = (rule: OperatingPointRule) => chooseOperatingPoint(full, points, rule, 3);
    expect(meetsOperatingPointRule(full, chosen({ maxStages: 0.6 }), { maxStages: 0.6 }, 3)).toBe(true);
    expect(meetsOperatingPointRule(full, chosen({ maxStages: 0.3 }), { maxStages: 0.3 }, 3)).toBe(false);
    expect(meetsOperatingPointRule(full, chosen({ retain: 0.985 }), { retain: 0.985 }, 3)).toBe(true);
    const high = { ...full, auc: 70 };
    expect(meetsOperatingPointRule(high, chooseOperatingPoint(high, points, { retain: 1 }, 3), { retain: 1 }, 3)).toBe(false);
    // The boundary counts as meeting: 1.8 stages is exactly 60% of 3.
    expect(meetsOperatingPointRule(full, at(0.7, 60, 1.8), { maxStages: 0.6 }, 3)).toBe(true);
  });

  it('needs at least one dynamic point', () => {
    expect(() => chooseOperatingPoint(full, [], { retain: 0.9 }, 3)).toThrow(/no dynamic operating points/);
  });
});
