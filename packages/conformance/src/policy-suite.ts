import { describe, expect, it } from 'vitest';
import type { Box, ExitContext, ExitPolicy, ExitTrace, FrameResult, FrameTimings } from '@dytrack/core';

/** Options of {@link describePolicyConformance}. */
export interface PolicyConformanceOptions {
  /** Exits of the simulated model (the policy is asked at exits 0 .. exitCount-2). Default 3. */
  readonly exitCount?: number;
  /**
   * Declare the policy stateless: its answer depends on the context alone, so
   * the suite also checks that asking again, in any order, gives the same answer.
   */
  readonly stateless?: boolean;
  /** `shouldExit` calls per allocation trial. Default 20 000. */
  readonly allocationCalls?: number;
  /** Heap growth allowed per allocation trial, in bytes. Default 32 KiB. */
  readonly allocationBudgetBytes?: number;
}

// Mutable twins of the core types: the harness reuses them (as the tracker
// does) so that its own loop allocates nothing while it measures the policy.
interface MutableBox { x: number; y: number; width: number; height: number }
interface MutableContext {
  exitIndex: number; exitCount: number; terminatingScore: number; confidence: number;
  box: MutableBox; elapsedMs: number; frameIndex: number; previous: FrameResult | undefined;
}
interface MutableTimings { preprocessMs: number; inferenceMs: number; decisionMs: number; totalMs: number }
interface MutableResult {
  frameIndex: number; box: MutableBox; rawBox: MutableBox; confidence: number; terminatingScore: number;
  lost: boolean; exitIndex: number; stagesRun: number; timings: MutableTimings; exits: ExitTrace[];
}

function newBox(): MutableBox {
  return { x: 100.5, y: 80.5, width: 40.5, height: 30.5 };
}

function newResult(): MutableResult {
  return {
    frameIndex: 1, box: newBox(), rawBox: newBox(), confidence: 0.5, terminatingScore: 0.5, lost: false,
    exitIndex: 0, stagesRun: 1, timings: { preprocessMs: 0.5, inferenceMs: 0.5, decisionMs: 0.5, totalMs: 1.5 }, exits: [],
  };
}

/**
 * A deterministic frame simulator: plausible scores, a box moving with
 * jitter, elapsed time growing per stage, occasional lost frames. Everything
 * it touches is preallocated.
 */
class Simulator {
  readonly ctx: MutableContext;
  private readonly results: [MutableResult, MutableResult];
  private readonly rng = new Uint32Array(1);
  private readonly pos = new Float64Array(4);
  private frame = 0;

  constructor(readonly exitCount: number, seed: number) {
    this.ctx = { exitIndex: 0, exitCount, terminatingScore: 0.5, confidence: 0.5, box: newBox(), elapsedMs: 0.5, frameIndex: 1, previous: undefined };
    this.results = [newResult(), newResult()];
    this.rng[0] = seed >>> 0 || 1;
    this.pos[0] = 320.5; this.pos[1] = 240.5; this.pos[2] = 60.5; this.pos[3] = 40.5;
  }

  /** Uniform in [0, 1). */
  private next(): number {
    let x = this.rng[0]!;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.rng[0] = x;
    return (this.rng[0]! >>> 8) / 16777216;
  }

  /**
   * Runs one frame against `policy`: asks it at each exit but the last, then
   * reports the frame's result. Returns the exit taken.
   */
  runFrame(policy: ExitPolicy): number {
    const ctx = this.ctx;
    this.frame++;
    const frameStart = this.next() * 2;
    // Motion of the target this frame (smooth, with jitter).
    this.pos[0] = this.pos[0]! + 3 + (this.next() - 0.5) * 2;
    this.pos[1] = this.pos[1]! + 1 + (this.next() - 0.5) * 2;
    ctx.frameIndex = this.frame;
    ctx.exitCount = this.exitCount;
    let taken = this.exitCount - 1;
    for (let k = 0; k < this.exitCount; k++) {
      ctx.exitIndex = k;
      ctx.terminatingScore = this.next();
      ctx.confidence = this.next();
      const jitter = (1 - k / this.exitCount) * 8;
      ctx.box.x = this.pos[0]! - this.pos[2]! / 2 + (this.next() - 0.5) * jitter;
      ctx.box.y = this.pos[1]! - this.pos[3]! / 2 + (this.next() - 0.5) * jitter;
      ctx.box.width = this.pos[2]!;
      ctx.box.height = this.pos[3]!;
      ctx.elapsedMs = frameStart + (k + 1) * (2 + this.next());
      if (k === this.exitCount - 1) break;
      if (policy.shouldExit(ctx)) {
        taken = k;
        break;
      }
    }
    const result = this.results[this.frame & 1]!;
    result.frameIndex = this.frame;
    result.box.x = ctx.box.x; result.box.y = ctx.box.y; result.box.width = ctx.box.width; result.box.height = ctx.box.height;
    result.rawBox.x = ctx.box.x; result.rawBox.y = ctx.box.y; result.rawBox.width = ctx.box.width; result.rawBox.height = ctx.box.height;
    result.confidence = ctx.confidence;
    result.terminatingScore = ctx.terminatingScore;
    result.lost = this.frame % 37 === 0;
    result.exitIndex = taken;
    result.stagesRun = taken + 1;
    result.timings.totalMs = ctx.elapsedMs + 0.25;
    result.timings.inferenceMs = ctx.elapsedMs;
    policy.onFrameEnd?.(result as FrameResult);
    ctx.previous = result as FrameResult;
    return taken;
  }
}

function decisions(policy: ExitPolicy, exitCount: number, seed: number, frames: number): number[] {
  const sim = new Simulator(exitCount, seed);
  const out: number[] = [];
  for (let f = 0; f < frames; f++) out.push(sim.runFrame(policy));
  return out;
}

function context(exitIndex: number, exitCount: number, overrides: Partial<ExitContext> = {}): ExitContext {
  return {
    exitIndex, exitCount, terminatingScore: 0.5, confidence: 0.5, box: { x: 10, y: 20, width: 30, height: 40 },
    elapsedMs: 1, frameIndex: 1, previous: undefined, ...overrides,
  };
}

type GcFn = () => void;
async function exposeGc(): Promise<GcFn | undefined> {
  const g = (globalThis as { gc?: GcFn }).gc;
  if (typeof g === 'function') return g;
  try {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as GcFn;
  } catch {
    return undefined;
  }
}

/**
 * Registers (with vitest's `describe`/`it`) the checks every `ExitPolicy`
 * must pass: the `v1` shape, synchronous boolean answers, safety with NaN and
 * infinite inputs, no writes to the context, determinism, `reset` semantics
 * (a reset policy behaves as a fresh one) and an allocation-free steady state
 * (heap growth over many calls stays under a bound, with no garbage collection
 * during the measured windows).
 *
 * @param name - Label of the suite.
 * @param factory - Makes a fresh policy; called once per check.
 * @param options - Simulated model size and measurement bounds.
 *
 * @example
 * ```ts
 * import { describePolicyConformance } from '@dytrack/conformance';
 * describePolicyConformance('thresholdPolicy', () => thresholdPolicy({ thresholds: [0.6, 0.5, 0.4] }), { stateless: true });
 * ```
 */
export function describePolicyConformance(name: string, factory: () => ExitPolicy, options: PolicyConformanceOptions = {}): void {
  const exitCount = options.exitCount ?? 3;
  const calls = options.allocationCalls ?? 20_000;
  const budget = options.allocationBudgetBytes ?? 32 * 1024;

  describe(`ExitPolicy conformance: ${name}`, () => {
    it('is a v1 policy with a name and a shouldExit function', () => {
      const p = factory();
      expect(p.specificationVersion).toBe('v1');
      expect(typeof p.name).toBe('string');
      expect(p.name.length).toBeGreaterThan(0);
      expect(typeof p.shouldExit).toBe('function');
      if (p.onFrameEnd !== undefined) expect(typeof p.onFrameEnd).toBe('function');
      if (p.reset !== undefined) expect(typeof p.reset).toBe('function');
    });

    it('answers synchronously with a boolean at every exit but the last', () => {
      const p = factory();
      for (let k = 0; k < exitCount - 1; k++) {
        for (const score of [0, 0.25, 0.5, 0.75, 1]) {
          const answer: unknown = p.shouldExit(context(k, exitCount, { terminatingScore: score, confidence: score }));
          expect(typeof answer).toBe('boolean');
        }
      }
    });

    it('is safe with NaN and infinite scores, boxes and times', () => {
      const p = factory();
      const bad = [NaN, Infinity, -Infinity, -1, 2];
      for (let k = 0; k < exitCount - 1; k++) {
        for (const v of bad) {
          const variants: Partial<ExitContext>[] = [
            { terminatingScore: v }, { confidence: v }, { elapsedMs: v },
            { box: { x: v, y: v, width: v, height: v } },
            { terminatingScore: v, confidence: v, elapsedMs: v, box: { x: 1, y: 1, width: v, height: 0 } },
          ];
          for (const o of variants) expect(typeof p.shouldExit(context(k, exitCount, o))).toBe('boolean');
        }
      }
      const nanResult: FrameResult = {
        ...(newResult() as FrameResult), confidence: NaN, terminatingScore: NaN,
        box: { x: NaN, y: NaN, width: NaN, height: NaN }, timings: { preprocessMs: NaN, inferenceMs: NaN, decisionMs: NaN, totalMs: NaN },
      };
      expect(() => p.onFrameEnd?.(nanResult)).not.toThrow();
      // Still answers normally afterwards.
      const after = decisions(p, exitCount, 7, 50);
      for (const e of after) expect(e >= 0 && e < exitCount).toBe(true);
    });

    it('never writes to the context or the results it is given', () => {
      const p = factory();
      const box: Box = Object.freeze({ x: 10, y: 20, width: 30, height: 40 });
      const timings: FrameTimings = Object.freeze({ preprocessMs: 1, inferenceMs: 2, decisionMs: 0.1, totalMs: 3.1 });
      const previous: FrameResult = Object.freeze({
        frameIndex: 1, box, rawBox: box, confidence: 0.8, terminatingScore: 0.7, lost: false, exitIndex: 1, stagesRun: 2,
        timings, exits: Object.freeze([]),
      });
      for (let k = 0; k < exitCount - 1; k++) {
        const ctx = Object.freeze(context(k, exitCount, { box, previous, frameIndex: 2 }));
        expect(() => p.shouldExit(ctx)).not.toThrow();
      }
      expect(() => p.onFrameEnd?.(previous)).not.toThrow();
    });

    it('is deterministic: two instances fed the same frames decide the same', () => {
      const a = decisions(factory(), exitCount, 12345, 400);
      const b = decisions(factory(), exitCount, 12345, 400);
      expect(a).toEqual(b);
      for (const e of a) expect(Number.isInteger(e) && e >= 0 && e < exitCount).toBe(true);
    });

    it(options.stateless ? 'is stateless: the same context gets the same answer in any order' : 'reset() makes it behave as a fresh instance', () => {
      const p = factory();
      decisions(p, exitCount, 999, 300);
      p.reset?.();
      const afterReset = decisions(p, exitCount, 4242, 300);
      const fresh = decisions(factory(), exitCount, 4242, 300);
      // A policy without reset() must be stateless for this to hold.
      expect(afterReset).toEqual(fresh);
      if (options.stateless) {
        const q = factory();
        const ctxs = [0.1, 0.45, 0.55, 0.9].flatMap((s) =>
          Array.from({ length: exitCount - 1 }, (_, k) => context(k, exitCount, { terminatingScore: s, confidence: 1 - s })));
        const first = ctxs.map((c) => q.shouldExit(c));
        const reversed = ctxs.slice().reverse().map((c) => q.shouldExit(c)).reverse();
        expect(reversed).toEqual(first);
      }
    });

    // Heap statistics are a Node facility; elsewhere (a browser runner) this check is skipped.
    const canMeasureHeap = typeof process !== 'undefined' && typeof process.memoryUsage === 'function';
    it.skipIf(!canMeasureHeap)(`allocates nothing in steady state (heap growth under ${budget} bytes per ${calls} calls)`, async () => {
      const gc = await exposeGc();
      const { PerformanceObserver, performance } = await import('node:perf_hooks');
      const p = factory();
      const sim = new Simulator(exitCount, 2024);
      const framesPerTrial = Math.ceil(calls / Math.max(1, exitCount - 1));
      const trial = (): void => {
        for (let f = 0; f < framesPerTrial; f++) sim.runFrame(p);
      };
      // Warm up: let the JIT settle and the policy size its buffers.
      for (let i = 0; i < 10; i++) trial();

      const gcStarts: number[] = [];
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) gcStarts.push(e.startTime);
      });
      observer.observe({ entryTypes: ['gc'] });
      const trials = 8;
      const windows = new Float64Array(trials * 2);
      const growth = new Float64Array(trials);
      for (let t = 0; t < trials; t++) {
        gc?.();
        const before = process.memoryUsage().heapUsed;
        windows[2 * t] = performance.now();
        trial();
        windows[2 * t + 1] = performance.now();
        growth[t] = process.memoryUsage().heapUsed - before;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      observer.disconnect();
      // A trial is clean when the heap grew less than the budget and no
      // collection ran inside it (a collection would hide the growth). An
      // allocating policy cannot produce a clean trial; the JIT compiling in
      // the background can spoil some, hence "at least one" rather than "all".
      const report: string[] = [];
      let clean = 0;
      for (let t = 0; t < trials; t++) {
        let collections = 0;
        for (const s of gcStarts) if (s >= windows[2 * t]! && s <= windows[2 * t + 1]!) collections++;
        if (collections === 0 && growth[t]! <= budget) clean++;
        report.push(`${Math.round(growth[t]!)} B${collections > 0 ? ` (${collections} GC)` : ''}`);
      }
      expect(clean, `heap growth per trial of ${calls} calls: ${report.join(', ')}`).toBeGreaterThan(0);
    });
  });
}
