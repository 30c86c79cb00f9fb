import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportModel, initWeights, modelConfig } from '@dytrack/model';
import { writeModelDirectory } from '@dytrack/model/node';
import { writeSyntheticDataset } from '@dytrack/eval';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dytrack-cli-eval-'));
  await writeSyntheticDataset(path.join(dir, 'synth'), { count: 2, firstSeed: 900000100, width: 160, height: 120, length: 16 });
  const config = modelConfig('tiny');
  await writeModelDirectory(path.join(dir, 'tiny'), await exportModel(config, initWeights(config, { seed: 1 })));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (args: string[]) => runInProcess(args, dir);

const tableRow = (stdout: string, name: string): string[] => {
  const line = stdout.split('\n').find((l) => l.startsWith(name + ' '));
  expect(line, `row ${name} in\n${stdout}`).toBeDefined();
  return line!.trim().split(/\s+/);
};

async function expectPng(file: string, width: number, height: number): Promise<void> {
  // PNG signature, then the IHDR chunk's big-endian width and height.
  const bytes = await readFile(file);
  expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([width, height]);
  expect(bytes.length).toBeGreaterThan(5000); // curves, axes and text, not an empty canvas
}

describe('dytrack eval', () => {
  it('runs DyTrack, the static baseline and OpenCV MIL on the same frames, then writes results and plots', async () => {
    const { code, stdout, stderr } = await run([
      'eval', '--dataset', 'synth', '--model', 'tiny', '--policy', 'threshold', '--policy', 'fixed:0', '--threads', '1', '--out', 'ev',
    ]);
    expect(stderr).toMatch(/dataset: .*synth: 2 sequences, 32 frames/);
    expect(stderr).toMatch(/100% 128\/128 frames\s+ETA 00:00/); // 4 trackers x 32 frames
    expect(code).toBe(0);
    expect(stdout).toMatch(/^tracker\s+AUC\s+P@20\s+NP@\.20\s+OP50\s+OP75\s+fps\s+net fps\s+stages$/m);
    const full = tableRow(stdout, 'dytrack[threshold]');
    const shallow = tableRow(stdout, 'dytrack[fixed:0]');
    expect(Number(full[8])).toBeGreaterThan(1); // a random model's terminating scores rarely clear the thresholds
    expect(shallow[8]).toBe('1.00'); // always exit 0: one stage per frame
    expect(Number(shallow[7])).toBeGreaterThan(0); // network-only fps is reported for DyTrack
    expect(tableRow(stdout, 'static')[7]).toBe('-');
    expect(tableRow(stdout, 'opencv-mil')[8]).toBe('-');

    const json = JSON.parse(await readFile(path.join(dir, 'ev', 'results.json'), 'utf8'));
    expect(json.trackers.map((t: { name: string }) => t.name)).toEqual(['dytrack[threshold]', 'dytrack[fixed:0]', 'static', 'opencv-mil']);
    expect(json.trackers[0].successCurve).toHaveLength(21);
    // Where the AUC goes: the breakdown table and its JSON.
    expect(stdout).toMatch(/^tracker\s+lost %\s+seqs losing\s+held IoU\s+held centre err\s+held scale err %$/m);
    const staticBreakdown = json.trackers[2].breakdown;
    expect(staticBreakdown.sequences).toBe(2);
    expect(staticBreakdown.lostFrames).toBeGreaterThanOrEqual(0);
    expect(staticBreakdown.lostFrames).toBeLessThanOrEqual(100);
    expect(staticBreakdown.heldIoU).toBeGreaterThan(0);
    expect(staticBreakdown.heldIoU).toBeLessThanOrEqual(1);
    expect(json.trackers[2].sequences.map((s: { name: string }) => s.name)).toEqual(['synthetic-900000100', 'synthetic-900000101']);
    const results = await readFile(path.join(dir, 'ev', 'results', 'opencv-mil', 'synthetic-900000101.txt'), 'utf8');
    expect(results.trim().split('\n')).toHaveLength(16);
    await expectPng(path.join(dir, 'ev', 'success.png'), 640, 480);
    await expectPng(path.join(dir, 'ev', 'precision.png'), 640, 480);
    expect(await readFile(path.join(dir, 'ev', 'success.svg'), 'utf8')).toContain('Success plot on synth');

    // Each row against the first, paired by sequence: the mean difference is the AUC difference.
    expect(stdout).toMatch(/^tracker\s+vs\s+ΔAUC\s+95% interval\s+AUC share\s+95% interval\s+seqs > 10 apart$/m);
    expect(json.comparisons.map((c: { tracker: string; baseline: string }) => [c.tracker, c.baseline])).toEqual(['dytrack[fixed:0]', 'static', 'opencv-mil'].map((t) => [t, 'dytrack[threshold]']));
    for (const c of json.comparisons) {
      const auc = (name: string) => json.trackers.find((t: { name: string }) => t.name === name).auc;
      expect(c.difference).toBeCloseTo(auc(c.tracker) - auc('dytrack[threshold]'), 9);
      expect(c.differenceLow).toBeLessThanOrEqual(c.difference);
      expect(c.differenceHigh).toBeGreaterThanOrEqual(c.difference);
      expect(c.sequences).toBe(2);
    }

    // Scoring the results files written above gives the same numbers as the run.
    const rescored = await run(['eval', '--results', 'ev/results', '--dataset', 'synth', '--out', 'rescored']);
    expect(rescored.code).toBe(0);
    for (const name of ['static', 'opencv-mil']) {
      expect(tableRow(rescored.stdout, name).slice(1, 6)).toEqual(tableRow(stdout, name).slice(1, 6));
    }
    expect(await readFile(path.join(dir, 'ev', 'table.txt'), 'utf8')).toMatch(/seqs > 10 apart/);
    await expectPng(path.join(dir, 'ev', 'comparison.png'), 640, 64 + 52 + 3 * 34); // one row per compared tracker
    expect(stdout).toMatch(/with 2 sequences an interval is little more than the range/);
    // ... and compares them with the row named by --baseline.
    const against = await run(['eval', '--results', 'ev/results', '--dataset', 'synth', '--baseline', 'static', '--out', 'rescored']);
    expect(against.code).toBe(0);
    expect(against.stdout).toMatch(/^opencv-mil\s+static\s+/m);
    const one = await run(['eval', '--results', 'ev/results', '--dataset', 'synth', '--sequences', 'synthetic-900000100', '--baseline', 'static', '--out', 'rescored']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/no comparison with static: it needs two or more sequences/);
    const unknown = await run(['eval', '--results', 'ev/results', '--dataset', 'synth', '--baseline', 'kcf', '--out', 'rescored']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--baseline "kcf" is not one of the rows: .*static/);
  });

  it('names the file and line of malformed inputs', async () => {
    const bad = path.join(dir, 'bad', 'seq');
    await mkdir(path.join(bad, 'img'), { recursive: true });
    for (const f of await readdir(path.join(dir, 'synth', 'synthetic-900000100', 'img'))) {
      await writeFile(path.join(bad, 'img', f), await readFile(path.join(dir, 'synth', 'synthetic-900000100', 'img', f)));
    }
    await writeFile(path.join(bad, 'groundtruth_rect.txt'), '10,10,20,20\n'.repeat(15));
    const short = await run(['eval', '--dataset', 'bad', '--tracker', 'static']);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain(`${path.join(bad, 'groundtruth_rect.txt')}:16: truth has 15 lines but seq has 16 frames`);

    await writeFile(path.join(bad, 'groundtruth_rect.txt'), '10,10,20,20\n'.repeat(3) + '10,10,2O,20\n' + '10,10,20,20\n'.repeat(12));
    const nonNumeric = await run(['eval', '--dataset', 'bad', '--tracker', 'static']);
    expect(nonNumeric.stderr).toContain(`${path.join(bad, 'groundtruth_rect.txt')}:4: non-numeric field "2O"`);

    await writeFile(path.join(bad, 'groundtruth_rect.txt'), '10,10,20,20\n'.repeat(16));
    await writeFile(path.join(bad, 'img', '0007.png'), 'not an image');
    const corrupt = await run(['eval', '--dataset', 'bad', '--tracker', 'static']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain(`${path.join(bad, 'img', '0007.png')}: not a JPEG or PNG image`);

    const usage = await run(['eval', '--dataset', 'synth', '--tracker', 'kcf']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/unknown --tracker "kcf"/);
    const baseline = await run(['eval', '--dataset', 'synth', '--tracker', 'static', '--tracker', 'dytrack', '--policy', 'fixed:0', '--baseline', 'dytrack[full]']);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr).toMatch(/--baseline "dytrack\[full\]" is not one of the rows: static, dytrack\[fixed:0\]/);
    expect(baseline.stderr).not.toMatch(/dataset:/);

    // Options are checked before any sequence is read: the error comes first and alone.
    const threads = await run(['eval', '--synthetic', '2', '--threads', '0']);
    expect(threads.code).toBe(2);
    expect(threads.stderr).toMatch(/--threads must be a positive integer, got "0"/);
    expect(threads.stderr).not.toMatch(/dataset:/);
    const benchThreads = await run(['bench', '--synthetic', '2', '--threads', '0']);
    expect(benchThreads.code).toBe(2);
    expect(benchThreads.stderr).toMatch(/--threads must be a positive integer, got "0"/);
    expect(benchThreads.stderr).not.toMatch(/dataset:/);
    const negative = await run(['eval', '--synthetic', '2', '--threads', '-1']);
    expect(negative.stderr).toMatch(/--threads: a value starting with '-' must be attached with '=', as in --threads=-1$/m);
    const length = await run(['eval', '--synthetic', '2', '--length', '0']);
    expect(length.code).toBe(2);
    expect(length.stderr).toMatch(/--length must be a positive integer, got 0/);
  });

  const shared = path.resolve(import.meta.dirname, '../../../../shared/data/sequences');
  it.skipIf(!existsSync(shared))('runs on the real sequences in ../shared/data', async () => {
    const { code, stdout } = await run(['eval', '--dataset', shared, '--sequences', 'Crossing', '--tracker', 'static', '--out', 'real']);
    expect(code).toBe(0);
    // The static box stays on the pedestrian's start while they cross: a low but non-zero score.
    const row = tableRow(stdout, 'static');
    expect(Number(row[1])).toBeGreaterThan(0);
    expect(Number(row[1])).toBeLessThan(30);
  });
  if (!existsSync(shared)) console.warn(`skipping the real-sequence eval test: ${shared} is absent`);
});

describe('dytrack bench', () => {
  it('--sweep draws thresholds and every fixed exit of the model on one plot', async () => {
    const { code, stdout, stderr } = await run([
      'bench', '--sweep', '--model', 'tiny', '--synthetic', '1', '--size', '96x72', '--length', '8', '--thresholds', '0.3,0.9', '--repeats', '1', '--threads', '1', '--out', 'bn',
    ]);
    expect(stderr).toMatch(/synthetic sequences/);
    expect(code).toBe(0);
    const labels = stdout.split('\n').slice(2).filter((l) => /^(t=|exit )/.test(l)).map((l) => l.split(/\s{2,}/)[0]);
    expect(labels).toEqual(['t=0.3', 't=0.9', 'exit 0', 'exit 1', 'exit 2']);
    const sweep = JSON.parse(await readFile(path.join(dir, 'bn', 'sweep.json'), 'utf8'));
    const stages = Object.fromEntries(sweep.points.map((p: { label: string; meanStages: number }) => [p.label, p.meanStages]));
    expect(stages).toMatchObject({ 'exit 0': 1, 'exit 1': 2, 'exit 2': 3 });
    await expectPng(path.join(dir, 'bn', 'sweep.png'), 640, 480);
    const svg = await readFile(path.join(dir, 'bn', 'sweep.svg'), 'utf8');
    expect(svg).toContain('fixed exit (always exit k)');

    const usage = await run(['bench', '--sweep', '--policy', 'threshold', '--synthetic', '1', '--model', 'tiny']);
    expect(usage.code).toBe(2);
  });
});
