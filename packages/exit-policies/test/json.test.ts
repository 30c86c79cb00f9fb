import { describe, expect, it } from 'vitest';
import { parseManifest, type ExitContext } from '@dytrack/core';
import { POLICY_CATALOG, policyFromJson, type PolicySpec } from '../src/index.js';

const map = (name: string, role: string, c: number) => ({ name, dtype: 'float32', shape: [1, c, 4, 4], role });
const manifest = parseManifest({
  format: 'dytrack.model',
  version: 1,
  name: 'json-policies',
  input: { template: { size: 16, contextFactor: 2 }, search: { size: 32, contextFactor: 4 }, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } },
  head: { mapSize: 4, stride: 8 },
  stages: [0, 1, 2].map((k) => ({
    name: `s${k}`,
    file: `s${k}.onnx`,
    sha256: 'a'.repeat(64),
    exit: { defaultThreshold: [0.7, 0.6, 0][k] },
    inputs: [{ name: 'search', dtype: 'float32', shape: [1, 3, 32, 32], source: { kind: 'search-image' } }],
    outputs: [map('score', 'score-map', 1), map('size', 'size-map', 2), map('offset', 'offset-map', 2), { name: 'iou', dtype: 'float32', shape: [1, 1], role: 'terminating-score' }],
  })),
});

const ctx = (exitIndex: number, terminatingScore: number, confidence = 0.5): ExitContext => ({
  exitIndex,
  exitCount: 3,
  terminatingScore,
  confidence,
  box: { x: 0, y: 0, width: 10, height: 10 },
  elapsedMs: 1,
  frameIndex: 1,
  previous: undefined,
});

describe('policyFromJson', () => {
  it('builds every policy the catalog lists', () => {
    const examples: Record<PolicySpec['type'], PolicySpec> = {
      threshold: { type: 'threshold' },
      confidence: { type: 'confidence', threshold: 0.4 },
      fixedDepth: { type: 'fixedDepth', exit: 1 },
      latencyBudget: { type: 'latencyBudget', targetMs: 20 },
      temporalConsistency: { type: 'temporalConsistency', minIoU: 0.5 },
      anyOf: { type: 'anyOf', policies: [{ type: 'fixedDepth', exit: 0 }] },
      allOf: { type: 'allOf', policies: [{ type: 'fixedDepth', exit: 0 }] },
    };
    expect(POLICY_CATALOG.map((p) => p.type).sort()).toEqual(Object.keys(examples).sort());
    for (const spec of Object.values(examples)) expect(policyFromJson(spec, manifest).specificationVersion).toBe('v1');
  });

  it("fills the threshold rule from the model's defaults, or the spec's own thresholds", () => {
    expect(policyFromJson({ type: 'threshold' }, manifest).shouldExit(ctx(0, 0.69))).toBe(false);
    expect(policyFromJson({ type: 'threshold' }, manifest).shouldExit(ctx(0, 0.7))).toBe(true);
    expect(policyFromJson({ type: 'threshold', thresholds: [0.5, 0.5] }, manifest).shouldExit(ctx(0, 0.6))).toBe(true);
  });

  it('composes nested specs', () => {
    const both = policyFromJson({ type: 'allOf', policies: [{ type: 'threshold' }, { type: 'confidence', threshold: 0.8 }] }, manifest);
    expect(both.shouldExit(ctx(0, 0.9, 0.5))).toBe(false);
    expect(both.shouldExit(ctx(0, 0.9, 0.9))).toBe(true);
    const either = policyFromJson({ type: 'anyOf', policies: [{ type: 'fixedDepth', exit: 1 }, { type: 'confidence', threshold: 0.8 }] }, manifest);
    expect(either.shouldExit(ctx(0, 0, 0.1))).toBe(false);
    expect(either.shouldExit(ctx(1, 0, 0.1))).toBe(true);
  });

  it("rejects out-of-range values with the policy's own error", () => {
    expect(() => policyFromJson({ type: 'confidence', threshold: 2 }, manifest)).toThrow(/threshold/);
    expect(() => policyFromJson({ type: 'fixedDepth', exit: -1 }, manifest)).toThrow(/exit/);
  });
});
