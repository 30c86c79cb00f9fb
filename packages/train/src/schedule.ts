import { InvalidArgumentError } from '@dytrack/core';

/** A learning-rate schedule: linear warm-up, then cosine or step decay. */
export interface LearningRateSchedule {
  /** Peak learning rate (reached at the end of warm-up). */
  readonly baseLr: number;
  /** Total steps of the run. */
  readonly totalSteps: number;
  /** Warm-up steps (linear from `baseLr / warmupSteps` to `baseLr`). Default 0. */
  readonly warmupSteps?: number;
  /** Decay after warm-up (default `'cosine'`). */
  readonly decay?: 'cosine' | 'step' | 'constant';
  /** Cosine: the floor, as a fraction of `baseLr` (default 0.01). */
  readonly minFactor?: number;
  /** Step decay: the fractions of the run at which the rate drops by `stepFactor` (default [0.8], OSTrack's LR_DROP_EPOCH 240/300). */
  readonly stepAt?: readonly number[];
  /** Step decay: the factor of each drop (default 0.1). */
  readonly stepFactor?: number;
}

/** Checks a schedule and returns it. */
export function validateSchedule(s: LearningRateSchedule): LearningRateSchedule {
  if (!(s.baseLr > 0) || !Number.isFinite(s.baseLr)) throw new InvalidArgumentError(`learning rate must be positive, got ${s.baseLr}`);
  if (!Number.isInteger(s.totalSteps) || s.totalSteps < 1) throw new InvalidArgumentError(`totalSteps must be a positive integer, got ${s.totalSteps}`);
  const w = s.warmupSteps ?? 0;
  if (!Number.isInteger(w) || w < 0) throw new InvalidArgumentError(`warmupSteps must be a non-negative integer, got ${w}`);
  if (w > s.totalSteps) throw new InvalidArgumentError(`warmupSteps (${w}) must not exceed totalSteps (${s.totalSteps})`);
  if (s.decay !== undefined && !['cosine', 'step', 'constant'].includes(s.decay)) throw new InvalidArgumentError(`decay must be cosine, step or constant, got ${String(s.decay)}`);
  return s;
}

/** Learning rate of step `step` (1-based, as the trainer counts). */
export function learningRateAt(s: LearningRateSchedule, step: number): number {
  const warm = s.warmupSteps ?? 0;
  if (step <= warm) return (s.baseLr * step) / warm;
  const span = Math.max(1, s.totalSteps - warm);
  const progress = Math.min(1, (step - warm) / span);
  switch (s.decay ?? 'cosine') {
    case 'constant':
      return s.baseLr;
    case 'step': {
      let lr = s.baseLr;
      for (const at of s.stepAt ?? [0.8]) if (step > at * s.totalSteps) lr *= s.stepFactor ?? 0.1;
      return lr;
    }
    default: {
      const floor = s.minFactor ?? 0.01;
      return s.baseLr * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
  }
}
