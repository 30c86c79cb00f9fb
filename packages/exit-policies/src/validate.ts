import { InvalidArgumentError, describeValue } from '@dytrack/core';
import type { ModelManifest } from '@dytrack/core';

/** Throws unless `value` is a finite number in [0, 1]. */
export function checkUnit(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidArgumentError(`${what} must be a number in [0, 1], got ${describeValue(value)}`);
  }
  return value;
}

/** Throws unless `value` is a finite number > 0. */
export function checkPositive(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${what} must be a positive finite number, got ${describeValue(value)}`);
  }
  return value;
}

/** Throws unless `value` is an integer >= `min`. */
export function checkInteger(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(`${what} must be an integer >= ${min}, got ${describeValue(value)}`);
  }
  return value;
}

/**
 * Per-exit thresholds from explicit values or the manifest's
 * `stages[k].exit.defaultThreshold`, copied into a Float64Array (the hot path
 * reads it without boxing). Explicit values win.
 */
export function resolveThresholds(
  thresholds: readonly number[] | undefined,
  manifest: ModelManifest | undefined,
  what: string,
): Float64Array {
  let source: readonly number[];
  if (thresholds !== undefined) {
    if (!Array.isArray(thresholds)) throw new InvalidArgumentError(`${what}.thresholds must be an array of numbers in [0, 1]`);
    source = thresholds;
  } else if (manifest !== undefined) {
    if (manifest === null || typeof manifest !== 'object' || !Array.isArray(manifest.stages)) {
      throw new InvalidArgumentError(`${what}.manifest must be a parsed ModelManifest`);
    }
    source = manifest.stages.map((s) => s.exit.defaultThreshold);
  } else {
    throw new InvalidArgumentError(`${what} needs thresholds or a manifest (whose stages[k].exit.defaultThreshold are the defaults)`);
  }
  if (source.length === 0) throw new InvalidArgumentError(`${what}.thresholds must not be empty`);
  const out = new Float64Array(source.length);
  source.forEach((t, k) => {
    out[k] = checkUnit(t, `${what}.thresholds[${k}]`);
  });
  return out;
}

/** Writes `ts` as `[a, b, c]` with up to 3 decimals, for policy names. */
export function formatList(ts: ArrayLike<number>): string {
  const parts: string[] = [];
  for (let i = 0; i < ts.length; i++) parts.push(String(Math.round(ts[i]! * 1000) / 1000));
  return `[${parts.join(', ')}]`;
}
