import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@dytrack/core';
import { compareEvaluations, formatComparisonTable, OVERLAP_THRESHOLDS, pairedBootstrap, type TrackerEvaluation } from '../src/index.js';

describe('pairedBootstrap', () => {
  it('a constant shift has no spread; identical scores differ by nothing', () => {
    const base = [40, 55, 70, 62];
    const shifted = pairedBootstrap(base.map((v) => v + 3), base);
    expect(shifted).toMatchObject({ difference: 3, differenceLow: 3, differenceHigh: 3, sequences: 4, largeDifferences: 0 });
    expect(shifted.ratio).toBeCloseTo(239 / 227, 12);
    const same = pairedBootstrap(base, base);
    expect(same).toMatchObject({ difference: 0, differenceLow: 0, differenceHigh: 0, ratio: 1, ratioLow: 1, ratioHigh: 1 });
  });

  it('one sequence that differs by 40 gives the binomial interval of how often a resample draws it', () => {
    // Draws of the odd sequence in 4 picks ~ Binomial(4, 1/4): P(0) = 0.316, P(<=2) = 0.949, P(<=3) = 0.996,
    // so the mean difference 10k has its 2.5th percentile at 0 and its 97.5th at 30.
    const r = pairedBootstrap([50, 50, 50, 90], [50, 50, 50, 50]);
    expect(r.difference).toBe(10);
    expect(r.differenceLow).toBe(0);
    expect(r.differenceHigh).toBe(30);
    expect(r.ratio).toBeCloseTo(1.2, 12);
    expect(r.ratioLow).toBe(1);
    expect(r.ratioHigh).toBeCloseTo(1.6, 12);
    expect(r.largeDifferences).toBe(1);
    // Seeded: the same call gives the same interval.
    expect(pairedBootstrap([50, 50, 50, 90], [50, 50, 50, 50])).toEqual(r);
  });

  it('refuses unpaired, too few, non-finite scores and bad options', () => {
    expect(() => pairedBootstrap([1, 2, 3], [1, 2])).toThrow(/paired by sequence/);
    expect(() => pairedBootstrap([1], [1])).toThrow(/at least 2/);
    expect(() => pairedBootstrap([1, Number.NaN], [1, 2])).toThrow(/sequence 1 has a non-finite score/);
    expect(() => pairedBootstrap([1, 2], [1, 2], { resamples: 10 })).toThrow(InvalidArgumentError);
    expect(() => pairedBootstrap([1, 2], [1, 2], { confidence: 1 })).toThrow(/confidence/);
  });
});

/** An evaluation whose sequence `name` has every success value `share` (so AUC 100·share). */
function evaluation(tracker: string, shares: Record<string, number>): TrackerEvaluation {
  const perSequence = Object.entries(shares).map(([sequence, share]) => ({
    sequence,
    score: { successCurve: new Float64Array(OVERLAP_THRESHOLDS.length).fill(share), precisionCurve: new Float64Array(1), normPrecisionCurve: new Float64Array(1), frames: 10 },
  }));
  return { tracker, perSequence } as unknown as TrackerEvaluation;
}

describe('compareEvaluations', () => {
  const full = evaluation('dytrack[full]', { a: 0.5, b: 0.5, c: 0.5, d: 0.5 });
  // Listed in another order: pairing goes by sequence name.
  const early = evaluation('dytrack[fixed:0]', { d: 0.9, c: 0.5, b: 0.5, a: 0.5 });

  it('compares every tracker with the first one (or the one named), pairing sequences by name', () => {
    const [c] = compareEvaluations([full, early]);
    expect(c).toMatchObject({ tracker: 'dytrack[fixed:0]', baseline: 'dytrack[full]', differenceLow: 0, differenceHigh: 30, largeDifferences: 1 });
    expect(c!.difference).toBeCloseTo(10, 10);
    const [back] = compareEvaluations([full, early], { baseline: 'dytrack[fixed:0]' });
    expect(back!.tracker).toBe('dytrack[full]');
    expect(back!.difference).toBeCloseTo(-10, 10);
    const table = formatComparisonTable([c!]);
    expect(table).toMatch(/dytrack\[fixed:0\]\s+dytrack\[full\]\s+\+10\.0\s+0\.0 \.\. \+30\.0\s+120\.0%\s+100\.0% \.\. 160\.0%\s+1\/4/);
    expect(compareEvaluations([full])).toEqual([]);
  });

  it('names an unknown baseline and sequences one tracker did not run', () => {
    expect(() => compareEvaluations([full, early], { baseline: 'static' })).toThrow(/no tracker named "static" \(have dytrack\[full\], dytrack\[fixed:0\]\)/);
    expect(() => compareEvaluations([full, evaluation('other', { a: 1, b: 1, c: 1, e: 1 })])).toThrow(/dytrack\[full\] did not run sequence "e"/);
    expect(() => compareEvaluations([full, evaluation('short', { a: 1, b: 1 })])).toThrow(/short ran 2 sequences, dytrack\[full\] 4/);
  });
});
