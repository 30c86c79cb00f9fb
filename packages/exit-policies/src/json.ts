import type { ExitPolicy, ModelManifest } from '@dytrack/core';
import { allOf, anyOf } from './compose.js';
import { confidencePolicy } from './confidence.js';
import { fixedDepthPolicy } from './fixed-depth.js';
import { latencyBudgetPolicy } from './latency-budget.js';
import { temporalConsistencyPolicy } from './temporal-consistency.js';
import { thresholdPolicy } from './threshold.js';

/**
 * An exit policy as plain JSON data: `type` names a built-in (see
 * {@link POLICY_CATALOG}); the other fields are its parameters.
 */
export type PolicySpec =
  | { readonly type: 'threshold'; readonly thresholds?: readonly number[] }
  | { readonly type: 'confidence'; readonly threshold: number | readonly number[] }
  | { readonly type: 'fixedDepth'; readonly exit: number }
  | {
      readonly type: 'latencyBudget';
      readonly targetMs: number;
      readonly thresholds?: readonly number[];
      readonly gain?: number;
      readonly smoothing?: number;
    }
  | { readonly type: 'temporalConsistency'; readonly history?: number; readonly minIoU?: number; readonly minFrames?: number }
  | { readonly type: 'anyOf'; readonly policies: readonly PolicySpec[] }
  | { readonly type: 'allOf'; readonly policies: readonly PolicySpec[] };

/** One parameter of a policy, as {@link POLICY_CATALOG} describes it. */
export interface PolicyParameterInfo {
  readonly name: string;
  /** JSON type: `number`, `number | number[]`, `integer`, `PolicySpec[]`. */
  readonly type: string;
  readonly required: boolean;
  readonly description: string;
}

/** One built-in policy that {@link policyFromJson} can build. */
export interface PolicyInfo {
  /** The `type` of its {@link PolicySpec}. */
  readonly type: PolicySpec['type'];
  readonly description: string;
  readonly parameters: readonly PolicyParameterInfo[];
}

/**
 * Builds the exit policy a {@link PolicySpec} names, for `manifest` (whose
 * default thresholds fill in the threshold-based policies). Out-of-range
 * values throw the policies' own `InvalidArgumentError`. Plain data crosses
 * HTTP, `postMessage` and config files; a policy (an object with methods) does not.
 */
export function policyFromJson(spec: PolicySpec, manifest: ModelManifest): ExitPolicy {
  switch (spec.type) {
    case 'threshold':
      return thresholdPolicy(spec.thresholds ? { thresholds: spec.thresholds } : { manifest });
    case 'confidence':
      return confidencePolicy({ threshold: spec.threshold });
    case 'fixedDepth':
      return fixedDepthPolicy({ exit: spec.exit });
    case 'latencyBudget':
      return latencyBudgetPolicy({
        targetMs: spec.targetMs,
        manifest,
        ...(spec.thresholds ? { thresholds: spec.thresholds } : {}),
        ...(spec.gain !== undefined ? { gain: spec.gain } : {}),
        ...(spec.smoothing !== undefined ? { smoothing: spec.smoothing } : {}),
      });
    case 'temporalConsistency':
      return temporalConsistencyPolicy({
        ...(spec.history !== undefined ? { history: spec.history } : {}),
        ...(spec.minIoU !== undefined ? { minIoU: spec.minIoU } : {}),
        ...(spec.minFrames !== undefined ? { minFrames: spec.minFrames } : {}),
      });
    case 'anyOf':
      return anyOf(...spec.policies.map((p) => policyFromJson(p, manifest)));
    case 'allOf':
      return allOf(...spec.policies.map((p) => policyFromJson(p, manifest)));
  }
}

/** Every policy {@link policyFromJson} builds, with its parameters (what a server lists). */
export const POLICY_CATALOG: readonly PolicyInfo[] = [
  {
    type: 'threshold',
    description: "The DyTrack rule: stop at exit k when its terminating score reaches thresholds[k]. Without thresholds, the model's defaults.",
    parameters: [{ name: 'thresholds', type: 'number[]', required: false, description: 'Per-exit thresholds in [0, 1].' }],
  },
  {
    type: 'confidence',
    description: 'Stop at the first exit whose score-map peak reaches the threshold.',
    parameters: [{ name: 'threshold', type: 'number | number[]', required: true, description: 'One threshold in [0, 1] for every exit, or one per exit.' }],
  },
  {
    type: 'fixedDepth',
    description: 'Always stop at the same exit (a static baseline).',
    parameters: [{ name: 'exit', type: 'integer', required: true, description: '0-based exit; past the last exit means full depth.' }],
  },
  {
    type: 'latencyBudget',
    description: 'Adapts the threshold rule online to hold a target time per frame on this machine.',
    parameters: [
      { name: 'targetMs', type: 'number', required: true, description: 'Target time per frame, in milliseconds.' },
      { name: 'thresholds', type: 'number[]', required: false, description: "Base per-exit thresholds; the model's defaults when omitted." },
      { name: 'gain', type: 'number', required: false, description: 'Offset step per frame for a relative timing error of 1 (default 0.05).' },
      { name: 'smoothing', type: 'number', required: false, description: 'Weight of the newest frame time in its moving average, in (0, 1] (default 0.2).' },
    ],
  },
  {
    type: 'temporalConsistency',
    description: 'Stop when the exit box agrees with the motion of recent frames.',
    parameters: [
      { name: 'history', type: 'integer', required: false, description: 'Recent frames defining the motion (default 5, at least 2).' },
      { name: 'minIoU', type: 'number', required: false, description: 'Minimum IoU with the motion-predicted box (default 0.6).' },
      { name: 'minFrames', type: 'integer', required: false, description: 'Frames of history needed before stopping early (default 2).' },
    ],
  },
  {
    type: 'anyOf',
    description: 'Stop when any member policy says stop.',
    parameters: [{ name: 'policies', type: 'PolicySpec[]', required: true, description: '1 to 8 member policies.' }],
  },
  {
    type: 'allOf',
    description: 'Stop only when every member policy says stop.',
    parameters: [{ name: 'policies', type: 'PolicySpec[]', required: true, description: '1 to 8 member policies.' }],
  },
];
