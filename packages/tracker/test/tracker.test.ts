import { afterAll, describe, expect, it } from 'vitest';
import { DisposedError, InvalidArgumentError, InvalidBoxError, InvalidFrameError, InvalidStateError, ModelMismatchError } from '@dytrack/core';
import type { Box, FrameResult } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { fixedDepthPolicy, latencyBudgetPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import { createRecycler } from '@dytrack/recycling';
import { createTracker } from '@dytrack/tracker';
import type { ExitSpec } from './models.js';
import { stagedModel, templateCacheModel, uniformFrame } from './models.js';
import { instrument } from './instrument.js';

const backend = createNodeBackend();
afterAll(() => backend.dispose());

// Three exits with known maps (see models.ts). On a white frame the search
// crop's max is 1, so the confidences are the peaks: 0.9, 0.8, 0.7.
const EXITS: ExitSpec[] = [
  { ix: 2, iy: 1, peak: 0.9, offset: [0.5, 0.25], size: [0.25, 0.25], terminating: 0.3 },
  { ix: 1, iy: 2, peak: 0.8, offset: [0.5, 0.5], size: [0.5, 0.25], terminating: 0.6 },
  { ix: 3, iy: 3, peak: 0.7, offset: [0, 0], size: [0.125, 0.125], terminating: 0.9 },
];
const W = 640;
const H = 480;
const white = uniformFrame(W, H, 255);
const dark = uniformFrame(W, H, 40); // crop max 40/255: confidences scaled by 0.156862...

function expectBox(actual: Box, expected: [number, number, number, number]): void {
  expect(actual.x).toBeCloseTo(expected[0], 9);
  expect(actual.y).toBeCloseTo(expected[1], 9);
  expect(actual.width).toBeCloseTo(expected[2], 9);
  expect(actual.height).toBeCloseTo(expected[3], 9);
}

function expectTraces(result: FrameResult, expected: { box: [number, number, number, number]; confidence: number; terminating: number }[]): void {
  expect(result.exits.map((e) => e.exitIndex)).toEqual(expected.map((_, k) => k));
  expected.forEach((e, k) => {
    expectBox(result.exits[k]!.box, e.box);
    expect(result.exits[k]!.confidence).toBeCloseTo(e.confidence, 6);
    expect(result.exits[k]!.terminatingScore).toBeCloseTo(e.terminating, 6);
  });
}

describe('createTracker on a three-stage model with known maps', () => {
  it('decodes every exit by hand-computed geometry, stops where the policy says, keeps the last good box when lost, and honours a policy swap', async () => {
    const model = await stagedModel(EXITS);
    const tracker = await createTracker({ backend, model, exitPolicy: thresholdPolicy({ thresholds: [0.5, 0.5] }) });
    await tracker.init(white, { x: 300, y: 200, width: 40, height: 40 });

    // Frame 1. Crop side ceil(sqrt(40*40) * 4) = 160 around centre (320, 220).
    // Exit 0: cell (2, 1), offset (0.5, 0.25): cx = 2.5/4*160 + 320 - 80 = 340, cy = 1.25/4*160 + 220 - 80 = 190, w = h = 0.25*160 = 40.
    // Exit 1: cell (1, 2), offset (0.5, 0.5): cx = 1.5/4*160 + 240 = 300, cy = 2.5/4*160 + 140 = 240, w = 80, h = 40.
    // Terminating scores 0.3 < 0.5, then 0.6 >= 0.5: stop at exit 1.
    const r1 = await tracker.update(white);
    expect([r1.frameIndex, r1.exitIndex, r1.stagesRun, r1.lost]).toEqual([1, 1, 2, false]);
    expectTraces(r1, [
      { box: [320, 170, 40, 40], confidence: 0.9, terminating: 0.3 },
      { box: [260, 220, 80, 40], confidence: 0.8, terminating: 0.6 },
    ]);
    expectBox(r1.box, [260, 220, 80, 40]);
    expectBox(r1.rawBox, [260, 220, 80, 40]);
    expect(r1.confidence).toBeCloseTo(0.8, 6);
    expect(r1.terminatingScore).toBeCloseTo(0.6, 6);
    for (const t of [r1.timings.preprocessMs, r1.timings.inferenceMs, r1.timings.decisionMs]) expect(t).toBeGreaterThanOrEqual(0);
    expect(r1.timings.totalMs).toBeGreaterThanOrEqual(r1.timings.preprocessMs + r1.timings.inferenceMs + r1.timings.decisionMs - 1e-6);

    // Frame 2, dark: crop ceil(sqrt(80*40) * 4) = 227 around (300, 240). Exit 1 would give
    // cx = 1.5/4*227 + 300 - 113.5 = 271.625, cy = 2.5/4*227 + 240 - 113.5 = 268.375, w = 113.5, h = 56.75,
    // but its confidence 0.8 * 40/255 = 0.12549 < 0.2: lost, the last good box is kept.
    const r2 = await tracker.update(dark);
    expect([r2.exitIndex, r2.lost]).toEqual([1, true]);
    expect(r2.confidence).toBeCloseTo((0.8 * 40) / 255, 6);
    expectBox(r2.rawBox, [214.875, 240, 113.5, 56.75]);
    expectBox(r2.box, [260, 220, 80, 40]);
    expectBox(tracker.state!, [260, 220, 80, 40]);

    // Swap the policy: always exit 0. The state is still (260, 220, 80, 40): crop 227 around (300, 240);
    // exit 0: cx = 2.5/4*227 + 186.5 = 328.375, cy = 1.25/4*227 + 126.5 = 197.4375, w = h = 56.75.
    tracker.setExitPolicy(fixedDepthPolicy({ exit: 0 }));
    expect(tracker.exitPolicy.name).toBe('fixedDepth(0)');
    const r3 = await tracker.update(white);
    expect([r3.exitIndex, r3.stagesRun, r3.lost, r3.exits.length]).toEqual([0, 1, false, 1]);
    expectBox(r3.box, [300, 169.0625, 56.75, 56.75]);
    expect(r3.frameIndex).toBe(3);

    // Swap again: full depth. Crop ceil(56.75*4) = 227 around (328.375, 197.4375);
    // exit 2: cell (3, 3), offset 0: cx = 0.75*227 + 214.875 = 385.125, cy = 0.75*227 + 83.9375 = 254.1875, w = h = 28.375.
    tracker.setExitPolicy(fixedDepthPolicy({ exit: 5 }));
    const r4 = await tracker.update(white);
    expect([r4.exitIndex, r4.stagesRun, r4.lost]).toEqual([2, 3, false]);
    expectTraces(r4, [
      { box: [328.375, 126.5, 56.75, 56.75], confidence: 0.9, terminating: 0.3 },
      { box: [243.25, 197.4375, 113.5, 56.75], confidence: 0.8, terminating: 0.6 },
      { box: [370.9375, 240, 28.375, 28.375], confidence: 0.7, terminating: 0.9 },
    ]);
    expectBox(r4.box, [370.9375, 240, 28.375, 28.375]);
    expect(tracker.frameIndex).toBe(4);
    await tracker.dispose();
  });

  it('clips every exit box to the frame with a 10-pixel margin', async () => {
    const model = await stagedModel(EXITS);
    const tracker = await createTracker({ backend, model, exitPolicy: fixedDepthPolicy({ exit: 2 }) });
    await tracker.init(white, { x: 600, y: 200, width: 40, height: 40 });
    // Crop 160 around (620, 220). Unclipped: exit 0 (620, 170, 40, 40), exit 1 (560, 220, 80, 40), exit 2 (650, 250, 20, 20).
    // Clipped: x2 <= 640, and x1 <= 640 - 10 with width >= 10.
    const r = await tracker.update(white);
    expectTraces(r, [
      { box: [620, 170, 20, 40], confidence: 0.9, terminating: 0.3 },
      { box: [560, 220, 80, 40], confidence: 0.8, terminating: 0.6 },
      { box: [630, 250, 10, 20], confidence: 0.7, terminating: 0.9 },
    ]);
    expectBox(r.box, [630, 250, 10, 20]);
    await tracker.dispose();
  });

  it('reports an exit whose score map holds no number as lost (NaN confidence) instead of failing', async () => {
    const nanExits: ExitSpec[] = [{ ...EXITS[0]!, peak: NaN, rest: NaN }, EXITS[1]!, EXITS[2]!];
    const model = await stagedModel(nanExits);
    const tracker = await createTracker({ backend, model, exitPolicy: fixedDepthPolicy({ exit: 0 }) });
    await tracker.init(white, { x: 300, y: 200, width: 40, height: 40 });
    const r = await tracker.update(white);
    expect([r.exitIndex, r.lost]).toEqual([0, true]);
    expect(r.confidence).toBeNaN();
    expect(r.exits[0]!.box.x).toBeNaN();
    expectBox(r.box, [300, 200, 40, 40]);
    // Exit 1 reads exit 0's head features, which are fine: going deeper recovers.
    tracker.setExitPolicy(fixedDepthPolicy({ exit: 1 }));
    const r2 = await tracker.update(white);
    expect(r2.lost).toBe(false);
    expectBox(r2.box, [260, 220, 80, 40]);
    await tracker.dispose();
  });

  it('drives the latency governor with the frame times it measures', async () => {
    const model = await stagedModel(EXITS);
    // An impossible budget: every frame is over it by exit 0, so it stops there.
    const tight = await createTracker({ backend, model, exitPolicy: latencyBudgetPolicy({ targetMs: 1e-6, thresholds: [0.5, 0.5] }) });
    await tight.init(white, { x: 300, y: 200, width: 40, height: 40 });
    const tightExits: number[] = [];
    for (let f = 0; f < 3; f++) tightExits.push((await tight.update(white)).exitIndex);
    expect(tightExits).toEqual([0, 0, 0]);
    await tight.dispose();
    // A generous budget: the offset rises by about gain per frame, so from frame 2
    // exit 1's threshold (0.5 + ~0.2) is above its terminating score 0.6 and frames go deeper.
    const policy = latencyBudgetPolicy({ targetMs: 1e4, thresholds: [0.5, 0.5], gain: 0.2 });
    const loose = await createTracker({ backend, model, exitPolicy: policy });
    await loose.init(white, { x: 300, y: 200, width: 40, height: 40 });
    const looseExits: number[] = [];
    for (let f = 0; f < 4; f++) looseExits.push((await loose.update(white)).exitIndex);
    expect(looseExits).toEqual([1, 2, 2, 2]);
    expect(policy.thresholdOffset).toBeGreaterThan(0.79);
    expect(policy.frameTimeMs).toBeGreaterThan(0);
    await loose.dispose();
  });

  it('asks the policy with one reused context, never at the last exit, and reports each frame to it', async () => {
    const model = await stagedModel(EXITS);
    const seen: { exitIndex: number; exitCount: number; ts: number; conf: number; box: Box; frameIndex: number; previousFrame: number | undefined; elapsed: number }[] = [];
    const contexts = new Set<object>();
    const ended: number[] = [];
    let resets = 0;
    const tracker = await createTracker({
      backend,
      model,
      exitPolicy: {
        specificationVersion: 'v1',
        name: 'never',
        shouldExit(ctx) {
          contexts.add(ctx);
          seen.push({ exitIndex: ctx.exitIndex, exitCount: ctx.exitCount, ts: ctx.terminatingScore, conf: ctx.confidence, box: { ...ctx.box }, frameIndex: ctx.frameIndex, previousFrame: ctx.previous?.frameIndex, elapsed: ctx.elapsedMs });
          return false;
        },
        onFrameEnd: (r) => ended.push(r.frameIndex),
        reset: () => { resets++; },
      },
    });
    await tracker.init(white, { x: 300, y: 200, width: 40, height: 40 });
    expect(resets).toBe(1);
    const r1 = await tracker.update(white);
    await tracker.update(white);
    expect(r1.exitIndex).toBe(2);
    expect(seen.map((s) => [s.frameIndex, s.exitIndex, s.exitCount, s.previousFrame])).toEqual([
      [1, 0, 3, undefined], [1, 1, 3, undefined], [2, 0, 3, 1], [2, 1, 3, 1],
    ]);
    expect(contexts.size).toBe(1);
    expect(seen[0]!.ts).toBeCloseTo(0.3, 6);
    expect(seen[1]!.conf).toBeCloseTo(0.8, 6);
    expectBox(seen[0]!.box, [320, 170, 40, 40]);
    expect(seen[1]!.elapsed).toBeGreaterThanOrEqual(seen[0]!.elapsed);
    expect(ended).toEqual([1, 2]);
    tracker.reset();
    expect(resets).toBe(2);
    await expect(tracker.update(white)).rejects.toThrow(InvalidStateError);
    await tracker.dispose();
  });

  it('releases every output tensor: unconsumed ones at once, recycled ones by the end of the frame, and the sessions at dispose', async () => {
    const inst = instrument(backend);
    const model = await stagedModel(EXITS);
    const tracker = await createTracker({ backend: inst.backend, model, exitPolicy: thresholdPolicy({ thresholds: [0.5, 0.5] }), recycler: createRecycler() });
    await tracker.init(white, { x: 300, y: 200, width: 40, height: 40 });
    for (let f = 0; f < 3; f++) {
      await tracker.update(white);
      expect(inst.tensors.filter((t) => t.disposeCalls !== 1)).toEqual([]);
    }
    // Exit 1 is taken on every frame: stages 0 and 1 ran three times, stage 2 never.
    expect(inst.runs).toEqual({ 'stage0.onnx': 3, 'stage1.onnx': 3, 'stage2.onnx': 0 });
    expect(inst.tensors.length).toBe(3 * (6 + 6));
    await tracker.dispose();
    expect(inst.released.sort()).toEqual(['stage0.onnx', 'stage1.onnx', 'stage2.onnx']);
    await tracker.dispose(); // harmless twice
  });
});

describe('createTracker on a template-cache model', () => {
  const CACHE_EXITS: [ExitSpec, ExitSpec] = [
    { ix: 2, iy: 1, peak: 0.9, offset: [0.5, 0.25], size: [0.25, 0.25], terminating: 0.3 },
    { ix: 1, iy: 2, peak: 0.8, offset: [0.5, 0.5], size: [0.5, 0.25], terminating: 0.6 },
  ];

  it('runs the template encoder once per init and feeds its cached outputs to every frame', async () => {
    const inst = instrument(backend);
    const model = await templateCacheModel(CACHE_EXITS);
    const tracker = await createTracker({ backend: inst.backend, model, exitPolicy: fixedDepthPolicy({ exit: 1 }) });
    // Template seen at init has max 128/255; later frames are white (search max 1).
    await tracker.init(uniformFrame(W, H, 128), { x: 300, y: 200, width: 40, height: 40 });
    const t = 128 / 255;
    const results: FrameResult[] = [];
    for (let f = 0; f < 3; f++) results.push(await tracker.update(white));
    expect(inst.runs).toEqual({ 'encoder.onnx': 1, 'stage0.onnx': 3, 'stage1.onnx': 3 });
    // score0 = 0.9 * t (template from init); score1 = 0.8 * 1 (search) * 2t (cache) / 2.
    for (const r of results) {
      expect(r.exits[0]!.confidence).toBeCloseTo(0.9 * t, 6);
      expect(r.exits[1]!.confidence).toBeCloseTo(0.8 * t, 6);
    }
    expectTraces(results[0]!, [
      { box: [320, 170, 40, 40], confidence: 0.9 * t, terminating: 0.3 },
      { box: [260, 220, 80, 40], confidence: 0.8 * t, terminating: 0.6 },
    ]);
    // The unused encoder output went at init; the cache stays alive; everything per frame went.
    const alive = inst.tensors.filter((x) => x.disposeCalls === 0).map((x) => `${x.session}:${x.output}`);
    expect(alive.sort()).toEqual(['encoder.onnx:tpl_kv', 'encoder.onnx:tpl_tokens']);
    expect(inst.tensors.filter((x) => x.disposeCalls > 1)).toEqual([]);

    // Re-init on a white template: a new encoder run, the old cache released.
    await tracker.init(white, { x: 300, y: 200, width: 40, height: 40 });
    expect(inst.runs['encoder.onnx']).toBe(2);
    const r = await tracker.update(white);
    expect(r.exits[0]!.confidence).toBeCloseTo(0.9, 6);
    expect(inst.tensors.filter((x) => x.disposeCalls === 0).length).toBe(2);
    await tracker.dispose();
    expect(inst.tensors.filter((x) => x.disposeCalls !== 1)).toEqual([]);
    expect(inst.released.sort()).toEqual(['encoder.onnx', 'stage0.onnx', 'stage1.onnx']);
  });
});

describe('createTracker rejects bad input with DyTrack errors', () => {
  it('checks the model against the manifest and releases what it loaded', async () => {
    const renamed = await stagedModel(EXITS, { renameInput: [1, 'hf_in', 'head_in'] });
    const inst = instrument(backend);
    const err = await createTracker({ backend: inst.backend, model: renamed, exitPolicy: fixedDepthPolicy({ exit: 0 }) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelMismatchError);
    expect((err as Error).message).toMatch(/stage "s1" \(stage1\.onnx\): the manifest names input "head_in" but the model has no such input \(model inputs: tokens_in, hf_in\)/);
    expect(inst.released.sort()).toEqual(['stage0.onnx', 'stage1.onnx']);

    const extra = await stagedModel(EXITS, { extraOutput: 2 });
    await expect(createTracker({ backend, model: extra, exitPolicy: fixedDepthPolicy({ exit: 0 }) })).rejects.toThrow(
      /stage "s2" \(stage2\.onnx\): the model has output "debug" that the manifest does not name/,
    );
  });

  it('validates its options', async () => {
    const model = await stagedModel(EXITS);
    await expect(createTracker({ backend, model, exitPolicy: { name: 'x' } as never })).rejects.toThrow(InvalidArgumentError);
    await expect(createTracker({ backend, model, exitPolicy: fixedDepthPolicy({ exit: 0 }), lostThreshold: NaN })).rejects.toThrow(/lostThreshold must be a number in \[0, 1\], got NaN/);
    await expect(createTracker({ backend: {} as never, model, exitPolicy: fixedDepthPolicy({ exit: 0 }) })).rejects.toThrow(/backend must be an InferenceBackend/);
  });

  it('rejects bad boxes, bad frames, size changes, update before init and use after dispose', async () => {
    const model = await stagedModel(EXITS);
    const tracker = await createTracker({ backend, model, exitPolicy: fixedDepthPolicy({ exit: 0 }) });
    await expect(tracker.update(white)).rejects.toThrow(/update called before init/);
    await expect(tracker.init(white, { x: NaN, y: 0, width: 10, height: 10 })).rejects.toThrow(InvalidBoxError);
    await expect(tracker.init(white, { x: 0, y: 0, width: 0, height: 10 })).rejects.toThrow(/positive size/);
    await expect(tracker.init(white, { x: 700, y: 10, width: 20, height: 20 })).rejects.toThrow(/lies outside the 640x480 frame/);
    const short = { data: new Uint8Array(W * H * 3), width: W, height: H, format: 'rgba' as const };
    await expect(tracker.init(short, { x: 10, y: 10, width: 20, height: 20 })).rejects.toThrow(/has 921600 bytes but a 640x480 rgba frame needs 1228800/);
    await expect(tracker.init({ ...short, format: 'rgb' }, { x: 10, y: 10, width: 20, height: 20 })).resolves.toBeUndefined();
    await expect(tracker.update(short)).rejects.toThrow(InvalidFrameError);
    await expect(tracker.update(uniformFrame(320, 240, 255))).rejects.toThrow(/frame is 320x240 but the tracker was initialised on 640x480 frames/);
    // A frame in another pixel format of the right size is fine.
    await expect(tracker.update(white)).resolves.toMatchObject({ frameIndex: 1, exitIndex: 0 });
    // Overlapping calls are refused instead of racing on the state.
    const first = tracker.update(white);
    await expect(tracker.update(white)).rejects.toThrow(/in progress/);
    await first;
    await tracker.dispose();
    await expect(tracker.update(white)).rejects.toThrow(DisposedError);
    await expect(tracker.init(white, { x: 10, y: 10, width: 20, height: 20 })).rejects.toThrow(/tracker has been disposed/);
    expect(() => tracker.reset()).toThrow(DisposedError);
    expect(() => tracker.setExitPolicy(fixedDepthPolicy({ exit: 1 }))).toThrow(DisposedError);
  });
});
