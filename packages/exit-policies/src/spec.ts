import type { ExitPolicy, ModelManifest } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';
import { allOf, anyOf } from './compose.js';
import { confidencePolicy } from './confidence.js';
import { fixedDepthPolicy } from './fixed-depth.js';
import { latencyBudgetPolicy } from './latency-budget.js';
import { temporalConsistencyPolicy } from './temporal-consistency.js';
import { thresholdPolicy } from './threshold.js';

function numbers(text: string, term: string): number[] {
  const values = text.split(',').map((s) => s.trim());
  if (values.some((v) => v === '' || !Number.isFinite(Number(v)))) {
    throw new InvalidArgumentError(`policy "${term}": expected comma-separated numbers after ":", got "${text}"`);
  }
  return values.map(Number);
}

function one(text: string, term: string): number {
  const values = numbers(text, term);
  if (values.length !== 1) throw new InvalidArgumentError(`policy "${term}": expected one number after ":", got "${text}"`);
  return values[0]!;
}

function term(text: string, manifest: ModelManifest): ExitPolicy {
  const t = text.trim();
  const colon = t.indexOf(':');
  const name = (colon < 0 ? t : t.slice(0, colon)).trim();
  const args = colon < 0 ? undefined : t.slice(colon + 1);
  const noArgs = (): void => {
    if (args !== undefined) throw new InvalidArgumentError(`policy "${t}": "${name}" takes no argument`);
  };
  const needArgs = (what: string): string => {
    if (args === undefined || args.trim() === '') throw new InvalidArgumentError(`policy "${t}": "${name}" needs ${what}, as in ${name}:${what === 'MS' ? '33' : '0.5'}`);
    return args;
  };
  switch (name) {
    case 'threshold':
      return args === undefined ? thresholdPolicy({ manifest }) : thresholdPolicy({ thresholds: numbers(args, t) });
    case 'confidence': {
      const values = numbers(needArgs('T'), t);
      return confidencePolicy({ threshold: values.length === 1 ? values[0]! : values });
    }
    case 'fixed':
      return fixedDepthPolicy({ exit: one(needArgs('K'), t) });
    case 'full':
      noArgs();
      return fixedDepthPolicy({ exit: manifest.stages.length - 1 });
    case 'latency':
      return latencyBudgetPolicy({ targetMs: one(needArgs('MS'), t), manifest });
    case 'temporal':
      return args === undefined ? temporalConsistencyPolicy() : temporalConsistencyPolicy({ minIoU: one(args, t) });
    default:
      throw new InvalidArgumentError(
        `unknown exit policy "${name}" in "${t}" (expected threshold[:T,...], confidence:T, fixed:K, full, latency:MS, temporal[:IOU])`,
      );
  }
}

/**
 * Builds a policy from a short text spec, for command lines and config files:
 *
 * - `threshold` (the manifest's defaults) or `threshold:0.7,0.6` (per exit);
 * - `confidence:T` (or one value per exit);
 * - `fixed:K` (always exit K) and `full` (always the last exit);
 * - `latency:MS` (hold MS per frame, from the manifest's thresholds);
 * - `temporal` or `temporal:IOU` (motion agreement with minimum IoU);
 * - `A&B` (all of) binds tighter than `A+B` (any of): `threshold&temporal+latency:20`.
 *
 * Throws `InvalidArgumentError` (from `@dytrack/core`) naming the bad part.
 *
 * @example
 * ```ts
 * const policy = policyFromSpec('threshold+latency:33', model.manifest);
 * ```
 */
export function policyFromSpec(spec: string, manifest: ModelManifest): ExitPolicy {
  if (typeof spec !== 'string' || spec.trim() === '') throw new InvalidArgumentError('exit policy spec must be a non-empty string such as "threshold"');
  const alternatives = spec.split('+').map((any) => {
    const parts = any.split('&').map((all) => {
      if (all.trim() === '') throw new InvalidArgumentError(`exit policy spec "${spec}" has an empty part`);
      return term(all, manifest);
    });
    return parts.length === 1 ? parts[0]! : allOf(...parts);
  });
  return alternatives.length === 1 ? alternatives[0]! : anyOf(...alternatives);
}
