import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidBoxError, type Box } from '@dytrack/core';
import {
  aggregateScores,
  centerError,
  iouInclusive,
  normalizedCenterError,
  OVERLAP_THRESHOLDS,
  CENTER_THRESHOLDS,
  NORM_CENTER_THRESHOLDS,
  scoreSequence,
  sequenceErrors,
  failureBreakdown,
} from '../src/index.js';

const box = (x: number, y: number, width: number, height: number): Box => ({ x, y, width, height });

describe('inclusive-pixel IoU and centre errors', () => {
  it('matches hand-computed overlaps', () => {
    // tl (5,5), br min(9,14)=9 -> 5x5 = 25; union 100 + 100 - 25.
    expect(iouInclusive(box(0, 0, 10, 10), box(5, 5, 10, 10))).toBeCloseTo(25 / 175, 14);
    expect(iouInclusive(box(3, 4, 10, 20), box(3, 4, 10, 20))).toBe(1);
    // Touching boxes share no pixel: br.x = 9 < tl.x = 10.
    expect(iouInclusive(box(0, 0, 10, 10), box(10, 0, 10, 10))).toBe(0);
    // One shared column in the inclusive convention (an exclusive one would give 1/19).
    expect(iouInclusive(box(0, 0, 10, 10), box(9, 0, 10, 10))).toBeCloseTo(10 / 190, 14);
    expect(iouInclusive(box(0, 0, 10, 10), box(50, 50, 5, 5))).toBe(0);
  });

  it('puts centres at x + (w - 1) / 2', () => {
    // Centres (4.5, 4.5) and (7.5, 8.5): distance 5.
    expect(centerError(box(0, 0, 10, 10), box(3, 4, 10, 10))).toBeCloseTo(5, 14);
    // Same centre, different size: (0,0,10,10) -> 4.5; (2,2,6,6) -> 4.5.
    expect(centerError(box(0, 0, 10, 10), box(2, 2, 6, 6))).toBe(0);
    // dx 4 / w 20, dy 1 / h 10.
    expect(normalizedCenterError(box(14, 1, 20, 10), box(10, 0, 20, 10))).toBeCloseTo(Math.sqrt(0.05), 14);
  });
});

describe('thresholds', () => {
  it('has the 21 overlap thresholds 0, 0.05, ..., 1 and 51 centre thresholds', () => {
    expect(OVERLAP_THRESHOLDS).toHaveLength(21);
    expect(OVERLAP_THRESHOLDS[0]).toBe(0);
    expect(OVERLAP_THRESHOLDS[10]).toBe(0.5);
    expect(OVERLAP_THRESHOLDS[15]).toBe(0.75);
    expect(OVERLAP_THRESHOLDS[20]).toBe(1);
    expect(CENTER_THRESHOLDS[20]).toBe(20);
    expect(NORM_CENTER_THRESHOLDS[20]).toBe(0.2);
  });
});

describe('sequence scoring (DESIGN 6)', () => {
  const truth = [box(0, 0, 10, 10), box(0, 0, 10, 10)];

  it('uses strict > in success and averages the 21 values for AUC', () => {
    // Frame 1: inter 10x5 = 50, union 100 + 50 - 50 = 100 -> IoU exactly 0.5.
    const s = aggregateScores([scoreSequence(sequenceErrors({ predictions: [box(0, 0, 10, 10), box(0, 0, 10, 5)], truth }))]);
    const expected = [...Array(10).fill(1), ...Array(10).fill(0.5), 0];
    expect(Array.from(s.successCurve)).toEqual(expected);
    expect(s.op50).toBe(50); // 0.5 is not > 0.5
    expect(s.op75).toBe(50);
    expect(s.auc).toBeCloseTo((100 * 15) / 21, 12); // 71.43, not a trapezoid area
  });

  it('replaces frame 0 by the truth and counts it', () => {
    const e = sequenceErrors({ predictions: [box(500, 500, 3, 3), box(100, 100, 10, 10)], truth });
    expect(e.overlap[0]).toBe(1);
    expect(e.center[0]).toBe(0);
    const s = scoreSequence(e);
    expect(s.successCurve[0]).toBe(0.5); // frame 0 hit, frame 1 miss: N = 2
    expect(s.frames).toBe(2);
  });

  it('counts precision at <= 20 px and normalised precision at <= 0.20', () => {
    const t = [box(0, 0, 100, 100), box(0, 0, 100, 100), box(0, 0, 100, 100), box(0, 0, 100, 100)];
    const p = [t[0]!, box(20, 0, 100, 100), box(20.001, 0, 100, 100), box(12, 16, 100, 100)];
    const s = scoreSequence(sequenceErrors({ predictions: p, truth: t }));
    // errors 0, 20, 20.001, 20 -> 3 of 4 within 20 px.
    expect(s.precisionCurve[20]).toBe(0.75);
    expect(s.precisionCurve[19]).toBe(0.25);
    // normalised errors 0, 0.2, 0.20001, 0.2 -> 3 of 4 within 0.20.
    expect(s.normPrecisionCurve[20]).toBe(0.75);
    const agg = aggregateScores([s]);
    expect(agg.precision).toBe(75);
    expect(agg.normPrecision).toBe(75);
  });

  it('counts absent frames as failures in every measure', () => {
    const t = [box(0, 0, 10, 10), box(0, 0, 10, 10), box(0, 0, 10, 10)];
    const e = sequenceErrors({ predictions: t, truth: t, absent: [false, true, false] });
    expect(e.overlap[1]).toBe(-1);
    expect(e.center[1]).toBe(Number.POSITIVE_INFINITY);
    expect(e.normalizedCenter[1]).toBe(Number.POSITIVE_INFINITY);
    expect(Array.from(e.valid)).toEqual([1, 0, 1]);
    const s = scoreSequence(e);
    expect(s.successCurve[0]).toBeCloseTo(2 / 3, 14); // a perfect box on an absent frame still fails
    expect(s.precisionCurve[50]).toBeCloseTo(2 / 3, 14);
    expect(s.normPrecisionCurve[50]).toBeCloseTo(2 / 3, 14);
  });

  it('gives invalid truth IoU -1, centre error +inf and normalised error -1', () => {
    const t = [box(0, 0, 10, 10), box(0, 0, 0, 10), box(0, 0, 10, -1), box(Number.NaN, 0, 10, Number.NaN)];
    const p = [t[0]!, box(0, 0, 10, 10), box(0, 0, 10, 10), box(0, 0, 10, 10)];
    const e = sequenceErrors({ predictions: p, truth: t });
    for (const i of [1, 2, 3]) {
      expect(e.overlap[i]).toBe(-1);
      expect(e.center[i]).toBe(Number.POSITIVE_INFINITY);
      expect(e.normalizedCenter[i]).toBe(-1);
    }
    const s = scoreSequence(e);
    expect(s.successCurve[0]).toBe(0.25); // -1 > 0 is false
    expect(s.precisionCurve[20]).toBe(0.25);
    // pytracking's -1 is <= every threshold: invalid-truth frames pass normalised precision.
    expect(s.normPrecisionCurve[0]).toBe(1);
  });

  it('keeps a truth box at x = 0 or y = 0 valid (only the size is checked, as pytracking does)', () => {
    const t = [box(0, 0, 10, 10), box(0, 0, 10, 10)];
    const e = sequenceErrors({ predictions: t, truth: t });
    expect(Array.from(e.valid)).toEqual([1, 1]);
    expect(e.overlap[1]).toBe(1);
  });

  it('repeats the previous prediction for a zero-size one after frame 0', () => {
    const t = [box(0, 0, 10, 10), box(20, 20, 10, 10), box(20, 20, 10, 10), box(20, 20, 10, 10)];
    const p = [t[0]!, box(20, 20, 10, 10), box(0, 0, 0, 0), box(5, 5, 10, 0)];
    const e = sequenceErrors({ predictions: p, truth: t });
    expect(Array.from(e.overlap)).toEqual([1, 1, 1, 1]); // both zero-size frames became the frame-1 box
  });

  it('repeats the raw frame-0 prediction (repair runs before the frame-0 replacement, as in pytracking)', () => {
    const t = [box(0, 0, 10, 10), box(0, 0, 10, 10)];
    const e = sequenceErrors({ predictions: [box(100, 100, 10, 10), box(0, 0, 0, 0)], truth: t });
    expect(e.overlap[0]).toBe(1);
    expect(e.overlap[1]).toBe(0);
  });

  it('does not repair a zero-size prediction where the truth has NaN', () => {
    const t = [box(0, 0, 10, 10), box(Number.NaN, 0, 10, 10)];
    const e = sequenceErrors({ predictions: [t[0]!, box(0, 0, 0, 0)], truth: t });
    expect(e.overlap[1]).toBe(-1);
  });

  it('rejects NaN and negative-size predictions', () => {
    expect(() => sequenceErrors({ predictions: [truth[0]!, box(Number.NaN, 0, 10, 10)], truth, name: 'seqA' })).toThrow(InvalidBoxError);
    expect(() => sequenceErrors({ predictions: [truth[0]!, box(0, 0, 10, -2)], truth, name: 'seqA' })).toThrow(/seqA.*frame 1/);
    // A NaN at frame 0 is rejected too, before frame 0 is replaced.
    expect(() => sequenceErrors({ predictions: [box(0, Number.NaN, 1, 1), truth[1]!], truth })).toThrow(InvalidBoxError);
    expect(() => sequenceErrors({ predictions: [truth[0]!], truth })).toThrow(InvalidArgumentError);
  });

  it('averages sequence curves with equal weight, not by frame count', () => {
    const shortSeq = scoreSequence(sequenceErrors({ predictions: [box(0, 0, 10, 10), box(0, 0, 10, 10)], truth })); // AUC 100*20/21
    const longTruth = Array.from({ length: 10 }, () => box(0, 0, 10, 10));
    const longPred = [longTruth[0]!, ...Array.from({ length: 9 }, () => box(90, 90, 10, 10))];
    const longSeq = scoreSequence(sequenceErrors({ predictions: longPred, truth: longTruth })); // only frame 0 hits: 0.1 for t < 1
    const agg = aggregateScores([shortSeq, longSeq]);
    expect(agg.auc).toBeCloseTo((100 * 20) / 21 / 2 + (100 * 0.1 * 20) / 21 / 2, 12);
    expect(agg.sequences).toBe(2);
  });
});

describe('failure breakdown: lost versus held frames', () => {
  const truth: Box = { x: 10, y: 10, width: 20, height: 10 };
  it('counts frames whose box misses the target, and measures the held ones', () => {
    const a = sequenceErrors({
      truth: [truth, truth, truth, truth, truth],
      predictions: [
        { x: 0, y: 0, width: 1, height: 1 }, // frame 0: replaced by the truth, left out
        truth, // held: IoU 1, centre 0, scale 0
        { x: 15, y: 10, width: 20, height: 10 }, // held: shifted a quarter width
        { x: 10, y: 10, width: 40, height: 20 }, // held: twice the size
        { x: 100, y: 100, width: 20, height: 10 }, // lost
      ],
    });
    const b = sequenceErrors({ truth: [truth, truth, { ...truth, width: 0 }], predictions: [truth, truth, truth] }); // one counted frame, held
    const r = failureBreakdown([a, b]);
    expect(r.sequences).toBe(2);
    expect(r.lostFrames).toBeCloseTo(100 / 5, 12); // 1 lost of 4 + 1 counted frames
    expect(r.sequencesLosing).toBe(1); // a: 1 of 4 >= 10%; b: none
    // Held frames: a's three and b's one. Centre errors (pytracking-normalised): 0, 0.25, ~0.71, 0: median 0.125.
    expect(r.heldCenterError).toBeCloseTo((0 + a.normalizedCenter[2]!) / 2, 12);
    // |ln scale|: 0, 0, ln 2, 0 -> median 0.
    expect(r.heldScaleError).toBeCloseTo(0, 12);
    expect(a.logScale[3]).toBeCloseTo(Math.log(2), 12);
    expect(Number.isNaN(b.logScale[2]!)).toBe(true);
    const heldIous = [1, a.overlap[2]!, a.overlap[3]!, 1];
    expect(r.heldIoU).toBeCloseTo(heldIous.reduce((s, v) => s + v) / 4, 12);
    expect(() => failureBreakdown([])).toThrow(InvalidArgumentError);
  });
});
