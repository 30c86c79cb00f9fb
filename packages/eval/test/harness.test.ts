import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidBoxError, type Box } from '@dytrack/core';
import {
  aggregateScores,
  createOpenCvTracker,
  createStaticTracker,
  createSyntheticSequence,
  evaluateTrackers,
  loadOpenCv,
  openCvTrackerEntry,
  openCvTrackerKinds,
  readResults,
  runTrackerOnSequence,
  scoreSequence,
  sequenceErrors,
  summarizeSpeed,
  writeResults,
  type TrackerLike,
} from '../src/index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dytrack-eval-harness-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const sequences = [
  createSyntheticSequence({ seed: 900001, width: 192, height: 144, length: 40, speed: 1.5 }),
  createSyntheticSequence({ seed: 900002, width: 192, height: 144, length: 40, speed: 1.5 }),
];

describe('harness', () => {
  it('runs the static baseline and scores it exactly as the metrics do', async () => {
    const run = await runTrackerOnSequence(createStaticTracker(), sequences[0]!);
    expect(run.boxes).toHaveLength(40);
    for (const b of run.boxes) expect(b).toEqual(sequences[0]!.groundTruth[0]);
    expect(run.networkMs).toBeUndefined();
    expect(run.stagesRun).toBeUndefined();
    const [evaluation] = await evaluateTrackers([{ name: 'static', create: createStaticTracker }], sequences);
    const expected = aggregateScores(
      sequences.map((s) => scoreSequence(sequenceErrors({ predictions: s.groundTruth.map(() => s.groundTruth[0]!), truth: s.groundTruth }))),
    );
    expect(evaluation!.score.auc).toBeCloseTo(expected.auc, 12);
    expect(evaluation!.score.auc).toBeLessThan(60); // the target moves away from where it started
    expect(evaluation!.speed!.fps).toBeGreaterThan(0);
  });

  it('records stages and network time from trackers that report them', async () => {
    // An honest tracker that reports the truth-free "previous box" and how long it took.
    const reporting: TrackerLike = {
      box: undefined as Box | undefined,
      init(_f, b) {
        (this as { box?: Box }).box = b;
      },
      update() {
        return { box: (this as { box?: Box }).box!, stagesRun: 2, timings: { inferenceMs: 0.5 } };
      },
    } as TrackerLike & { box?: Box };
    const run = await runTrackerOnSequence(reporting, sequences[0]!);
    const speed = summarizeSpeed([run]);
    expect(speed.meanStages).toBe(2);
    expect(speed.networkFps).toBe(2000);
  });

  it('reports throughput, not the median frame: a dynamic tracker\'s frame times are bimodal', () => {
    // Warm-up 0: frames 1..6 count. Four 1-stage frames of 4 ms, two 3-stage frames of 16 ms:
    // 6 frames in 48 ms is 125 fps; the median frame (4 ms) would say 250.
    const frameMs = Float64Array.from([9, 4, 16, 4, 16, 4, 4]);
    const networkMs = Float64Array.from([8, 3, 15, 3, 15, 3, 3]);
    const stagesRun = Float64Array.from([0, 1, 3, 1, 3, 1, 1]);
    const speed = summarizeSpeed([{ sequence: 's', boxes: [], frameMs, networkMs, stagesRun, initMs: 1 }], 0);
    expect(speed.fps).toBeCloseTo(125, 9);
    expect(speed.networkFps).toBeCloseTo(1000 / 7, 9);
    expect(speed.meanStages).toBeCloseTo(10 / 6, 9);
  });

  it('rejects a NaN box from a tracker, naming the sequence and frame', async () => {
    const broken: TrackerLike = { init() {}, update: () => ({ box: { x: Number.NaN, y: 0, width: 1, height: 1 } }) };
    await expect(runTrackerOnSequence(broken, sequences[0]!)).rejects.toThrow(InvalidBoxError);
    await expect(runTrackerOnSequence(broken, sequences[0]!)).rejects.toThrow(/synthetic-900001 frame 1/);
  });

  it('writes results files and reads them back; bad results files name file and line', async () => {
    const run = await runTrackerOnSequence(createStaticTracker(), sequences[1]!);
    const dir = path.join(tmp, 'results', 'static');
    await writeResults(dir, [run]);
    const text = await readFile(path.join(dir, 'synthetic-900002.txt'), 'utf8');
    expect(text.split('\n')).toHaveLength(41);
    const read = await readResults(dir, [sequences[1]!]);
    expect(read.get('synthetic-900002')![39]!.x).toBeCloseTo(run.boxes[39]!.x, 2);
    const bad = path.join(tmp, 'results', 'bad');
    await mkdir(bad, { recursive: true });
    await writeFile(path.join(bad, 'synthetic-900002.txt'), text.split('\n').slice(0, 30).join('\n'));
    await expect(readResults(bad, [sequences[1]!])).rejects.toThrow(/synthetic-900002\.txt:31: has 30 boxes but synthetic-900002 has 40 frames/);
    await writeFile(path.join(bad, 'synthetic-900002.txt'), text.replace(/^[^\n]*\n[^\n]*\n/, (m) => m.replace(/\n([^,]*),/, '\n$1x,')));
    await expect(readResults(bad, [sequences[1]!])).rejects.toThrow(/synthetic-900002\.txt:2: non-numeric field/);
    await expect(readResults(path.join(tmp, 'nowhere'), [sequences[1]!])).rejects.toThrow(/nowhere.*synthetic-900002\.txt: no results/);
  });
});

describe('OpenCV.js peer', () => {
  it('has TrackerMIL and tracks better than the static baseline on the same frames', async () => {
    const cv = await loadOpenCv();
    expect(openCvTrackerKinds(cv)).toContain('MIL');
    // Loading OpenCV.js must not leave its abort-on-anything process handlers behind.
    expect(process.listeners('unhandledRejection').some((l) => String(l).includes('abort'))).toBe(false);
    const mil = await openCvTrackerEntry('MIL');
    expect(mil.name).toBe('opencv-mil');
    const [milEval, staticEval] = await evaluateTrackers([mil, { name: 'static', create: createStaticTracker }], sequences);
    expect(milEval!.score.auc).toBeGreaterThan(staticEval!.score.auc + 5);
    expect(milEval!.speed!.networkFps).toBeUndefined();
  });

  it('accepts rgba frames and names a missing tracker class', async () => {
    const cv = await loadOpenCv();
    expect(() => createOpenCvTracker(cv, 'Nano')).toThrow(/no TrackerNano.*MIL/);
    const seq = sequences[0]!;
    const toRgba = (i: number): { data: Uint8Array; width: number; height: number; format: 'rgba' } => {
      const f = seq.renderFrame(i);
      const out = new Uint8Array(f.width * f.height * 4);
      for (let p = 0, q = 0; q < out.length; p += 3, q += 4) out.set([f.data[p]!, f.data[p + 1]!, f.data[p + 2]!, 255], q);
      return { data: out, width: f.width, height: f.height, format: 'rgba' };
    };
    // MIL samples at random (OpenCV's global RNG), so runs differ; check it tracks on rgba input.
    const tracker = createOpenCvTracker(cv);
    await tracker.init(toRgba(0), seq.groundTruth[0]!);
    const boxes = [seq.groundTruth[0]!];
    for (let i = 1; i < 12; i++) boxes.push((await tracker.update(toRgba(i))).box);
    await tracker.dispose?.();
    const tracked = scoreSequence(sequenceErrors({ predictions: boxes, truth: seq.groundTruth.slice(0, 12) }));
    const still = scoreSequence(sequenceErrors({ predictions: boxes.map(() => boxes[0]!), truth: seq.groundTruth.slice(0, 12) }));
    expect(tracked.successCurve[10]).toBeGreaterThanOrEqual(still.successCurve[10]!);
    expect(tracked.successCurve[6]).toBeGreaterThan(0.6); // IoU > 0.3 on most frames
  });
});
