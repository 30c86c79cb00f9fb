import type { ExitContext, ExitPolicy, FrameResult, ModelManifest } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';
import { checkPositive, resolveThresholds } from './validate.js';

/** Options of {@link latencyBudgetPolicy}. */
export interface LatencyBudgetPolicyOptions {
  /** Target time per frame in milliseconds (the whole `update`, as the tracker measures it). */
  readonly targetMs: number;
  /** Base per-exit thresholds on the terminating score; wins over `manifest`. */
  readonly thresholds?: readonly number[];
  /** Model whose `stages[k].exit.defaultThreshold` give the base thresholds. */
  readonly manifest?: ModelManifest;
  /**
   * How far the threshold offset moves per frame for a relative timing error
   * of 1 (a frame twice the target moves it by `-gain`). Default 0.05.
   */
  readonly gain?: number;
  /** Weight of the newest frame in the moving average of frame time, in (0, 1]. Default 0.2. */
  readonly smoothing?: number;
}

/** An `ExitPolicy` whose adapted state can be read (for logs and dashboards). */
export interface LatencyBudgetPolicy extends ExitPolicy {
  /** The target frame time, in milliseconds. */
  readonly targetMs: number;
  /** Offset currently added to every base threshold, in [-1, 1]. */
  readonly thresholdOffset: number;
  /** Moving average of the observed frame time (NaN before the first frame). */
  readonly frameTimeMs: number;
  /** Effective threshold of exit `k` now: base plus offset, clamped to [0, 1]. */
  thresholdFor(exitIndex: number): number;
  /** Learned cost of running stage `k` (milliseconds, NaN until observed). */
  stageCostMs(stageIndex: number): number;
}

// Indexes into the policy's Float64Array state (numbers live in a typed array
// so that updating them on the hot path does not box doubles).
const EMA = 0;
const OFFSET = 1;
const LAST_ELAPSED = 2;
const LAST_FRAME = 3;
const LAST_EXIT = 4;

/**
 * A governor that holds a target frame time on the device it runs on. It
 * applies the DyTrack threshold rule with an offset added to every exit's
 * threshold, and adapts the offset online after each frame: frames slower than
 * the target lower the thresholds (exit earlier), faster ones raise them (go
 * deeper, more precise). Within a frame it also learns what each stage costs
 * (from the elapsed time at consecutive exits) and stops early when running
 * the next stage would overrun the budget.
 *
 * `reset()` (called by `tracker.init`) forgets the offset and the learned costs.
 *
 * @example
 * ```ts
 * // Hold 30 fps on this machine, starting from the model's default thresholds.
 * const policy = latencyBudgetPolicy({ targetMs: 33, manifest: model.manifest });
 * ```
 */
export function latencyBudgetPolicy(options: LatencyBudgetPolicyOptions): LatencyBudgetPolicy {
  const targetMs = checkPositive(options?.targetMs, 'latencyBudgetPolicy.targetMs');
  const base = resolveThresholds(options.thresholds, options.manifest, 'latencyBudgetPolicy');
  const gain = options.gain === undefined ? 0.05 : checkPositive(options.gain, 'latencyBudgetPolicy.gain');
  const smoothing = options.smoothing === undefined ? 0.2 : checkPositive(options.smoothing, 'latencyBudgetPolicy.smoothing');
  if (smoothing > 1) throw new InvalidArgumentError(`latencyBudgetPolicy.smoothing must be in (0, 1], got ${smoothing}`);

  const state = new Float64Array(5);
  // Cost of stage k (time between exit k-1 and exit k), NaN until observed.
  let costs = new Float64Array(0);

  function clear(): void {
    state[EMA] = NaN;
    state[OFFSET] = 0;
    state[LAST_ELAPSED] = NaN;
    state[LAST_FRAME] = NaN;
    state[LAST_EXIT] = NaN;
    costs.fill(NaN);
  }
  clear();

  function threshold(k: number): number {
    const t = base[k]! + state[OFFSET]!;
    return t < 0 ? 0 : t > 1 ? 1 : t;
  }

  return {
    specificationVersion: 'v1',
    name: `latencyBudget(${targetMs}ms)`,
    targetMs,
    get thresholdOffset(): number {
      return state[OFFSET]!;
    },
    get frameTimeMs(): number {
      return state[EMA]!;
    },
    thresholdFor(exitIndex: number): number {
      return exitIndex >= 0 && exitIndex < base.length ? threshold(exitIndex) : NaN;
    },
    stageCostMs(stageIndex: number): number {
      return stageIndex >= 0 && stageIndex < costs.length ? costs[stageIndex]! : NaN;
    },
    shouldExit(ctx: ExitContext): boolean {
      const k = ctx.exitIndex;
      const elapsed = ctx.elapsedMs;
      if (costs.length !== ctx.exitCount && ctx.exitCount > 0 && ctx.exitCount < 1024) {
        // First frame of a model (or a new model): one allocation, then none.
        costs = new Float64Array(ctx.exitCount).fill(NaN);
      }
      if (Number.isFinite(elapsed)) {
        if (state[LAST_FRAME] === ctx.frameIndex && state[LAST_EXIT] === k - 1 && k < costs.length) {
          const cost = elapsed - state[LAST_ELAPSED]!;
          if (cost >= 0) {
            const old = costs[k]!;
            costs[k] = Number.isNaN(old) ? cost : old + smoothing * (cost - old);
          }
        }
        state[LAST_ELAPSED] = elapsed;
        state[LAST_FRAME] = ctx.frameIndex;
        state[LAST_EXIT] = k;
        // Over budget already, or the next stage would overrun it: stop here.
        if (elapsed >= targetMs) return true;
        const next = k + 1;
        if (next < costs.length) {
          const nextCost = costs[next]!;
          if (nextCost === nextCost && elapsed + nextCost > targetMs) return true;
        }
      }
      return k >= 0 && k < base.length && ctx.terminatingScore >= threshold(k);
    },
    onFrameEnd(result: FrameResult): void {
      const t = result.timings.totalMs;
      if (!(t >= 0) || t === Infinity) return;
      const ema = state[EMA]!;
      const next = Number.isNaN(ema) ? t : ema + smoothing * (t - ema);
      state[EMA] = next;
      let offset = state[OFFSET]! + (gain * (targetMs - next)) / targetMs;
      if (offset < -1) offset = -1;
      else if (offset > 1) offset = 1;
      state[OFFSET] = offset;
    },
    reset(): void {
      clear();
    },
  };
}
