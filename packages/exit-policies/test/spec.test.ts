import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, parseManifest } from '@dytrack/core';
import type { ExitContext } from '@dytrack/core';
import { policyFromSpec } from '@dytrack/exit-policies';

const SHA = 'a'.repeat(64);
const stage = (name: string, t: number) => ({
  name, file: `${name}.onnx`, sha256: SHA, exit: { defaultThreshold: t },
  inputs: [{ name: 'search', dtype: 'float32', shape: [1, 3, 32, 32], source: { kind: 'search-image' } }],
  outputs: [
    { name: 'score', dtype: 'float32', shape: [1, 1, 4, 4], role: 'score-map' },
    { name: 'size', dtype: 'float32', shape: [1, 2, 4, 4], role: 'size-map' },
    { name: 'offset', dtype: 'float32', shape: [1, 2, 4, 4], role: 'offset-map' },
    { name: 'ts', dtype: 'float32', shape: [1, 1], role: 'terminating-score' },
  ],
});
const manifest = parseManifest({
  format: 'dytrack.model', version: 1, name: 'spec-test',
  input: { template: { size: 16, contextFactor: 2 }, search: { size: 32, contextFactor: 4 }, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } },
  head: { mapSize: 4, stride: 8 },
  stages: [stage('s0', 0.7), stage('s1', 0.55), stage('s2', 0.4)],
});
const ctx = (exitIndex: number, terminatingScore: number, confidence = 0.5): ExitContext => ({
  exitIndex, exitCount: 3, terminatingScore, confidence, box: { x: 0, y: 0, width: 10, height: 10 }, elapsedMs: 1, frameIndex: 1, previous: undefined,
});

describe('policyFromSpec', () => {
  it('builds each built-in from its short spec', () => {
    expect(policyFromSpec('threshold', manifest).name).toBe('threshold[0.7, 0.55, 0.4]');
    expect(policyFromSpec('threshold:0.3,0.2', manifest).shouldExit(ctx(0, 0.3))).toBe(true);
    expect(policyFromSpec('fixed:1', manifest).name).toBe('fixedDepth(1)');
    expect(policyFromSpec('full', manifest).name).toBe('fixedDepth(2)');
    expect(policyFromSpec('confidence:0.6', manifest).shouldExit(ctx(0, 0, 0.6))).toBe(true);
    expect(policyFromSpec('latency:33', manifest).name).toBe('latencyBudget(33ms)');
    expect(policyFromSpec('temporal:0.4', manifest).name).toBe('temporalConsistency(iou>=0.4, history 5)');
  });

  it('composes with & (all of) binding tighter than + (any of)', () => {
    const p = policyFromSpec('threshold & fixed:1 + fixed:2', manifest);
    expect(p.name).toBe('anyOf(allOf(threshold[0.7, 0.55, 0.4], fixedDepth(1)), fixedDepth(2))');
    expect(p.shouldExit(ctx(0, 0.9))).toBe(false);
    expect(p.shouldExit(ctx(1, 0.6))).toBe(true);
    expect(p.shouldExit(ctx(1, 0.5))).toBe(false);
  });

  it('names the bad part of a spec', () => {
    expect(() => policyFromSpec('fastest', manifest)).toThrow(/unknown exit policy "fastest"/);
    expect(() => policyFromSpec('fixed', manifest)).toThrow(/"fixed" needs K/);
    expect(() => policyFromSpec('fixed:x', manifest)).toThrow(InvalidArgumentError);
    expect(() => policyFromSpec('full:2', manifest)).toThrow(/takes no argument/);
    expect(() => policyFromSpec('threshold+', manifest)).toThrow(/empty part/);
    expect(() => policyFromSpec('threshold:1.5', manifest)).toThrow(/thresholds\[0\] must be a number in \[0, 1\]/);
    expect(() => policyFromSpec('', manifest)).toThrow(/non-empty string/);
  });
});
