import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, parseManifest } from '@dytrack/core';
import type { ExitContext, ExitPolicy, FrameResult } from '@dytrack/core';
import { describePolicyConformance } from '@dytrack/conformance';
import {
  allOf,
  anyOf,
  confidencePolicy,
  fixedDepthPolicy,
  latencyBudgetPolicy,
  temporalConsistencyPolicy,
  thresholdPolicy,
} from '@dytrack/exit-policies';

const SHA = 'a'.repeat(64);
function stage(name: string, threshold: number, file: string) {
  const map = (c: number) => [1, c, 4, 4];
  return {
    name, file, sha256: SHA, exit: { defaultThreshold: threshold },
    inputs: [{ name: 'search', dtype: 'float32', shape: [1, 3, 32, 32], source: { kind: 'search-image' } }],
    outputs: [
      { name: 'score', dtype: 'float32', shape: map(1), role: 'score-map' },
      { name: 'size', dtype: 'float32', shape: map(2), role: 'size-map' },
      { name: 'offset', dtype: 'float32', shape: map(2), role: 'offset-map' },
      { name: 'ts', dtype: 'float32', shape: [1, 1], role: 'terminating-score' },
    ],
  };
}
const manifest = parseManifest({
  format: 'dytrack.model', version: 1, name: 'policy-test',
  input: { template: { size: 16, contextFactor: 2 }, search: { size: 32, contextFactor: 4 }, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } },
  head: { mapSize: 4, stride: 8 },
  stages: [stage('s0', 0.7, 's0.onnx'), stage('s1', 0.55, 's1.onnx'), stage('s2', 0.4, 's2.onnx')],
});

function ctx(exitIndex: number, o: Partial<ExitContext> = {}): ExitContext {
  return { exitIndex, exitCount: 3, terminatingScore: 0.5, confidence: 0.5, box: { x: 0, y: 0, width: 10, height: 10 }, elapsedMs: 1, frameIndex: 1, previous: undefined, ...o };
}

function result(frameIndex: number, o: Partial<FrameResult> = {}): FrameResult {
  const box = { x: 0, y: 0, width: 10, height: 10 };
  return {
    frameIndex, box, rawBox: box, confidence: 0.9, terminatingScore: 0.9, lost: false, exitIndex: 0, stagesRun: 1,
    timings: { preprocessMs: 0, inferenceMs: 0, decisionMs: 0, totalMs: 10 }, exits: [], ...o,
  };
}

// Every built-in (and a composition, and a hand-written plain object) runs the shared suite.
describePolicyConformance('thresholdPolicy', () => thresholdPolicy({ manifest }), { stateless: true });
describePolicyConformance('confidencePolicy', () => confidencePolicy({ threshold: 0.6 }), { stateless: true });
describePolicyConformance('confidencePolicy per exit', () => confidencePolicy({ threshold: [0.8, 0.5] }), { stateless: true });
describePolicyConformance('fixedDepthPolicy', () => fixedDepthPolicy({ exit: 1 }), { stateless: true });
describePolicyConformance('latencyBudgetPolicy', () => latencyBudgetPolicy({ targetMs: 6, manifest }));
describePolicyConformance('temporalConsistencyPolicy', () => temporalConsistencyPolicy({ minIoU: 0.5 }), { exitCount: 4 });
describePolicyConformance('anyOf', () => anyOf(thresholdPolicy({ manifest }), latencyBudgetPolicy({ targetMs: 5, manifest })));
describePolicyConformance('allOf', () => allOf(confidencePolicy({ threshold: 0.3 }), temporalConsistencyPolicy()));
describePolicyConformance('a custom plain-object policy', () => ({
  specificationVersion: 'v1' as const,
  name: 'score-above-half',
  shouldExit: (c: ExitContext) => c.terminatingScore > 0.5,
}), { stateless: true });

describe('thresholdPolicy', () => {
  it('takes its thresholds from the manifest by default', () => {
    const p = thresholdPolicy({ manifest });
    expect(p.thresholds).toEqual([0.7, 0.55, 0.4]);
    expect(p.shouldExit(ctx(0, { terminatingScore: 0.69 }))).toBe(false);
    expect(p.shouldExit(ctx(0, { terminatingScore: 0.7 }))).toBe(true);
    expect(p.shouldExit(ctx(1, { terminatingScore: 0.6 }))).toBe(true);
    expect(p.shouldExit(ctx(1, { terminatingScore: 0.5 }))).toBe(false);
  });

  it('prefers explicit thresholds and never stops past their end or on NaN', () => {
    const p = thresholdPolicy({ manifest, thresholds: [0.2] });
    expect(p.shouldExit(ctx(0, { terminatingScore: 0.2 }))).toBe(true);
    expect(p.shouldExit(ctx(1, { terminatingScore: 1 }))).toBe(false);
    expect(p.shouldExit(ctx(0, { terminatingScore: NaN }))).toBe(false);
    expect(p.name).toBe('threshold[0.2]');
  });

  it('rejects bad thresholds with InvalidArgumentError', () => {
    expect(() => thresholdPolicy({ thresholds: [0.5, NaN] })).toThrow(/thresholds\[1\] must be a number in \[0, 1\], got NaN/);
    expect(() => thresholdPolicy({ thresholds: [1.5] })).toThrow(InvalidArgumentError);
    expect(() => thresholdPolicy({ thresholds: [] })).toThrow(InvalidArgumentError);
    expect(() => thresholdPolicy({})).toThrow(/needs thresholds or a manifest/);
  });
});

describe('confidencePolicy', () => {
  it('compares the score-map peak with one threshold or one per exit', () => {
    const one = confidencePolicy({ threshold: 0.6 });
    expect(one.shouldExit(ctx(0, { confidence: 0.6, terminatingScore: 0 }))).toBe(true);
    expect(one.shouldExit(ctx(1, { confidence: 0.59, terminatingScore: 1 }))).toBe(false);
    const per = confidencePolicy({ threshold: [0.9, 0.3] });
    expect(per.shouldExit(ctx(0, { confidence: 0.5 }))).toBe(false);
    expect(per.shouldExit(ctx(1, { confidence: 0.5 }))).toBe(true);
    expect(per.shouldExit(ctx(2, { confidence: 1 }))).toBe(false);
    expect(() => confidencePolicy({ threshold: -0.1 })).toThrow(InvalidArgumentError);
    expect(() => confidencePolicy({ threshold: [] })).toThrow(InvalidArgumentError);
  });
});

describe('fixedDepthPolicy', () => {
  it('stops exactly at its exit', () => {
    const p = fixedDepthPolicy({ exit: 1 });
    expect([0, 1, 2].map((k) => p.shouldExit(ctx(k, { terminatingScore: 1 })))).toEqual([false, true, true]);
    expect(fixedDepthPolicy({ exit: 0 }).shouldExit(ctx(0, { terminatingScore: NaN }))).toBe(true);
    expect(() => fixedDepthPolicy({ exit: 1.5 })).toThrow(/integer >= 0/);
    expect(() => fixedDepthPolicy({ exit: -1 })).toThrow(InvalidArgumentError);
  });
});

describe('latencyBudgetPolicy', () => {
  it('lowers its thresholds while frames are slower than the target and raises them when faster', () => {
    const p = latencyBudgetPolicy({ targetMs: 8, thresholds: [0.5, 0.5, 0.5], gain: 0.05, smoothing: 1 });
    expect(p.thresholdFor(0)).toBe(0.5);
    expect(p.shouldExit(ctx(0, { terminatingScore: 0.4, elapsedMs: 1 }))).toBe(false);
    for (let f = 1; f <= 4; f++) p.onFrameEnd!(result(f, { timings: { preprocessMs: 0, inferenceMs: 0, decisionMs: 0, totalMs: 16 } }));
    // Each 16 ms frame against an 8 ms target moves the offset by 0.05 * (8 - 16) / 8 = -0.05.
    expect(p.thresholdOffset).toBeCloseTo(-0.2, 12);
    expect(p.frameTimeMs).toBe(16);
    expect(p.thresholdFor(1)).toBeCloseTo(0.3, 12);
    expect(p.shouldExit(ctx(0, { terminatingScore: 0.4, elapsedMs: 1, frameIndex: 5 }))).toBe(true);
    for (let f = 5; f <= 6; f++) p.onFrameEnd!(result(f, { timings: { preprocessMs: 0, inferenceMs: 0, decisionMs: 0, totalMs: 4 } }));
    expect(p.thresholdOffset).toBeCloseTo(-0.15, 12);
    // The offset saturates at -1 (always stop) and +1 (never stop early).
    for (let f = 7; f < 200; f++) p.onFrameEnd!(result(f, { timings: { preprocessMs: 0, inferenceMs: 0, decisionMs: 0, totalMs: 80 } }));
    expect(p.thresholdOffset).toBe(-1);
    expect(p.thresholdFor(0)).toBe(0);
    p.reset!();
    expect(p.thresholdOffset).toBe(0);
    expect(p.frameTimeMs).toBeNaN();
  });

  it('learns stage costs within frames and stops before a stage that would overrun the budget', () => {
    const p = latencyBudgetPolicy({ targetMs: 8, thresholds: [0.9, 0.9, 0.9] });
    // Frame 1: exit 0 at 3 ms, exit 1 at 8.5 ms: stage 1 costs 5.5 ms.
    expect(p.shouldExit(ctx(0, { terminatingScore: 0, elapsedMs: 3, frameIndex: 1 }))).toBe(false);
    expect(p.shouldExit(ctx(1, { terminatingScore: 0, elapsedMs: 8.5, frameIndex: 1 }))).toBe(true); // already over budget
    expect(p.stageCostMs(1)).toBe(5.5);
    expect(p.stageCostMs(2)).toBeNaN();
    // Frame 2: 3 ms + 5.5 ms > 8 ms, so stop at exit 0 whatever the score.
    expect(p.shouldExit(ctx(0, { terminatingScore: 0, elapsedMs: 3, frameIndex: 2 }))).toBe(true);
    // With more room it goes on (score below threshold).
    expect(p.shouldExit(ctx(0, { terminatingScore: 0, elapsedMs: 1, frameIndex: 3 }))).toBe(false);
  });

  it('validates its options', () => {
    expect(() => latencyBudgetPolicy({ targetMs: 0, manifest })).toThrow(/targetMs must be a positive finite number/);
    expect(() => latencyBudgetPolicy({ targetMs: 10 })).toThrow(InvalidArgumentError);
    expect(() => latencyBudgetPolicy({ targetMs: 10, manifest, smoothing: 2 })).toThrow(/smoothing/);
  });
});

describe('temporalConsistencyPolicy', () => {
  const moving = (f: number) => ({ x: 100 + 10 * f, y: 50 + 4 * f, width: 20, height: 30 });

  it('stops when the exit box agrees with constant-velocity motion', () => {
    const p = temporalConsistencyPolicy({ history: 3, minIoU: 0.8 });
    expect(p.shouldExit(ctx(0, { box: moving(1), frameIndex: 1 }))).toBe(false); // no history
    p.onFrameEnd!(result(1, { box: moving(1) }));
    p.onFrameEnd!(result(2, { box: moving(2) }));
    const predicted = { x: 0, y: 0, width: 0, height: 0 };
    expect(p.predict(predicted)).toBe(true);
    expect(predicted).toEqual(moving(3));
    expect(p.shouldExit(ctx(0, { box: moving(3), frameIndex: 3 }))).toBe(true);
    // A 4 px shift of a 20 px wide box has IoU 16/24 < 0.8.
    expect(p.shouldExit(ctx(0, { box: { ...moving(3), x: moving(3).x + 4 }, frameIndex: 3 }))).toBe(false);
    expect(p.shouldExit(ctx(0, { box: { x: NaN, y: 0, width: 20, height: 30 }, frameIndex: 3 }))).toBe(false);
    // Velocity is averaged over the window: frames 2..4 with a stop at 4.
    p.onFrameEnd!(result(3, { box: moving(3) }));
    p.onFrameEnd!(result(4, { box: moving(3) }));
    p.predict(predicted);
    expect(predicted.x).toBe(moving(3).x + 5);
  });

  it('forgets the motion on a lost frame, a gap in frames and reset()', () => {
    const p = temporalConsistencyPolicy({ minIoU: 0.5 });
    const out = { x: 0, y: 0, width: 0, height: 0 };
    p.onFrameEnd!(result(1, { box: moving(1) }));
    p.onFrameEnd!(result(2, { box: moving(2) }));
    expect(p.predict(out)).toBe(true);
    p.onFrameEnd!(result(3, { box: moving(3), lost: true }));
    expect(p.predict(out)).toBe(false);
    p.onFrameEnd!(result(4, { box: moving(4) }));
    p.onFrameEnd!(result(5, { box: moving(5) }));
    expect(p.predict(out)).toBe(true);
    p.onFrameEnd!(result(9, { box: moving(9) }));
    expect(p.predict(out)).toBe(false);
    p.onFrameEnd!(result(10, { box: moving(10) }));
    p.reset!();
    expect(p.predict(out)).toBe(false);
    expect(() => temporalConsistencyPolicy({ history: 1 })).toThrow(InvalidArgumentError);
    expect(() => temporalConsistencyPolicy({ history: 3, minFrames: 4 })).toThrow(/minFrames must be <= history/);
  });
});

describe('anyOf / allOf', () => {
  function counting(answer: boolean) {
    const seen = { calls: 0, ends: 0, resets: 0 };
    const policy: ExitPolicy = {
      specificationVersion: 'v1', name: answer ? 'yes' : 'no',
      shouldExit: () => { seen.calls++; return answer; },
      onFrameEnd: () => { seen.ends++; },
      reset: () => { seen.resets++; },
    };
    return { policy, seen };
  }

  it('combine decisions and forward every call to every member', () => {
    const yes = counting(true);
    const no = counting(false);
    expect(anyOf(no.policy, yes.policy).shouldExit(ctx(0))).toBe(true);
    expect(anyOf(no.policy, no.policy).shouldExit(ctx(0))).toBe(false);
    expect(allOf(yes.policy, no.policy).shouldExit(ctx(0))).toBe(false);
    expect(allOf(yes.policy, yes.policy).shouldExit(ctx(0))).toBe(true);
    // No short circuit: yes was asked in all four, no in three (twice in one).
    expect(yes.seen.calls).toBe(4);
    expect(no.seen.calls).toBe(4);
    const both = anyOf(yes.policy, no.policy);
    both.onFrameEnd!(result(1));
    both.reset!();
    expect([yes.seen.ends, no.seen.ends, yes.seen.resets, no.seen.resets]).toEqual([1, 1, 1, 1]);
    expect(both.name).toBe('anyOf(yes, no)');
  });

  it('reject empty lists and non-policies', () => {
    expect(() => anyOf()).toThrow(/at least one policy/);
    expect(() => allOf({ name: 'x' } as unknown as ExitPolicy)).toThrow(/argument 0 is not an ExitPolicy/);
  });

  it('compose the threshold rule with motion agreement', () => {
    const motion = temporalConsistencyPolicy({ minIoU: 0.5 });
    const p = allOf(thresholdPolicy({ thresholds: [0.5, 0.5] }), motion);
    const box = { x: 0, y: 0, width: 10, height: 10 };
    expect(p.shouldExit(ctx(0, { terminatingScore: 0.9, box }))).toBe(false); // no motion yet
    p.onFrameEnd!(result(1, { box }));
    p.onFrameEnd!(result(2, { box }));
    expect(p.shouldExit(ctx(0, { terminatingScore: 0.9, box, frameIndex: 3 }))).toBe(true);
    expect(p.shouldExit(ctx(0, { terminatingScore: 0.1, box, frameIndex: 3 }))).toBe(false);
  });
});
