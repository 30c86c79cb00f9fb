import { describe, expect, it } from 'vitest';
import { decodePngRgba } from '@dytrack/image';
import {
  aggregateScores,
  comparisonPlotSvg,
  createStaticTracker,
  createSyntheticSequence,
  evaluateTrackers,
  formatResultsTable,
  lineChartSvg,
  precisionPlotSvg,
  runSweep,
  scoreSequence,
  sequenceErrors,
  successPlotSvg,
  svgToPng,
  sweepPlotSvg,
  type Sequence,
} from '../src/index.js';

const perfect = aggregateScores([scoreSequence(sequenceErrors({ predictions: [{ x: 0, y: 0, width: 9, height: 9 }, { x: 0, y: 0, width: 9, height: 9 }], truth: [{ x: 0, y: 0, width: 9, height: 9 }, { x: 0, y: 0, width: 9, height: 9 }] }))]);
const poor = aggregateScores([scoreSequence(sequenceErrors({ predictions: [{ x: 0, y: 0, width: 9, height: 9 }, { x: 4, y: 0, width: 9, height: 9 }], truth: [{ x: 0, y: 0, width: 9, height: 9 }, { x: 0, y: 0, width: 9, height: 9 }] }))]);

describe('plots', () => {
  it('draws success and precision plots with the score in the legend, best first', () => {
    const svg = successPlotSvg([{ name: 'poor', score: poor }, { name: 'perfect', score: perfect }], 'Success on test');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Success on test');
    expect(svg.indexOf('perfect [95.2]')).toBeGreaterThan(0); // 20 of 21 thresholds (IoU 1 is not > 1)
    expect(svg.indexOf('perfect [95.2]')).toBeLessThan(svg.indexOf('poor ['));
    expect(svg).toContain('Overlap threshold');
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    const p = precisionPlotSvg([{ name: 'a<b', score: poor }]);
    expect(p).toContain('a&lt;b [100.0]'); // escaped; centre error 4 px is within 20
    expect(p).toContain('Location error threshold (pixels)');
  });

  it('draws paired comparisons as a forest plot: a row, a dot and an interval per tracker, a line at 100%', async () => {
    const rows = [
      { tracker: 'dytrack[fixed:0]', baseline: 'dytrack[full]', difference: -5, differenceLow: -9, differenceHigh: -1, ratio: 0.9, ratioLow: 0.82, ratioHigh: 0.98, sequences: 32, largeDifferences: 6 },
      { tracker: 'a<b', baseline: 'dytrack[full]', difference: 1, differenceLow: -1, differenceHigh: 3, ratio: 1.02, ratioLow: 0.98, ratioHigh: 1.06, sequences: 32, largeDifferences: 2 },
    ];
    const svg = comparisonPlotSvg(rows, 'AUC kept on test');
    expect(svg).toContain('AUC kept on test');
    expect(svg).toContain("share of dytrack[full]'s AUC, 95% paired bootstrap interval over 32 sequences");
    expect(svg).toContain('dytrack[fixed:0]');
    expect(svg).toContain('a&lt;b');
    expect(svg).toContain('90.0%');
    expect(svg).toContain('102.0%');
    expect(svg.match(/<circle/g)).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray="6 4"'); // the 100% line
    const png = decodePngRgba(await svgToPng(svg), { name: 'comparison.png' });
    expect([png.width, png.height]).toEqual([640, 64 + 52 + 2 * 34]);
  });

  it('rasterises to a PNG whose curves are drawn in their colours', async () => {
    const png = decodePngRgba(await svgToPng(lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', xRange: [0, 1], yRange: [0, 1], width: 200, height: 150, series: [{ label: 'red', x: [0, 1], y: [0, 1], color: '#ff0000' }] })), { name: 'chart.png' });
    expect([png.width, png.height]).toEqual([200, 150]);
    let red = 0;
    for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! > 200 && png.data[i + 1]! < 60 && png.data[i + 2]! < 60) red++;
    expect(red).toBeGreaterThan(100); // the diagonal line
  });
});

describe('sweep', () => {
  it('measures each operating point on the same sequences and plots dynamic and fixed groups', async () => {
    const sequences: Sequence[] = [createSyntheticSequence({ seed: 900000010, width: 96, height: 72, length: 12 })];
    const [reference] = await evaluateTrackers([{ name: 'static', create: createStaticTracker }], sequences);
    const results = await runSweep({
      sequences,
      repeats: 2,
      points: [
        { label: 't=0.5', group: 'dynamic', config: 'a' },
        { label: 't=0.7', group: 'dynamic', config: 'b' },
        { label: 'exit 0', group: 'fixed', config: 'c' },
      ],
      makeTracker: (p) => ({ name: p.config, create: createStaticTracker }),
    });
    expect(results.map((r) => [r.label, r.group])).toEqual([['t=0.5', 'dynamic'], ['t=0.7', 'dynamic'], ['exit 0', 'fixed']]);
    for (const r of results) {
      expect(r.auc).toBeCloseTo(reference!.score.auc, 12);
      expect(r.fps).toBeGreaterThan(0);
      expect(r.meanStages).toBeUndefined();
    }
    const svg = sweepPlotSvg(results);
    expect(svg).toContain('dynamic exits (thresholds)');
    expect(svg).toContain('fixed exit (always exit k)');
    expect(svg).toContain('>exit 0<');
    expect(svg).toContain('>t=0.7<');
    await expect(runSweep({ sequences, points: [], makeTracker: () => ({ name: 'x', create: createStaticTracker }) })).rejects.toThrow(/at least one/);
  });

  it('prints a table with a dash for what a tracker does not report', async () => {
    const sequences = [createSyntheticSequence({ seed: 900000011, width: 64, height: 48, length: 6 })];
    const evals = await evaluateTrackers([{ name: 'static', create: createStaticTracker }], sequences);
    const table = formatResultsTable(evals).split('\n');
    expect(table[0]).toMatch(/^tracker\s+AUC\s+P@20\s+NP@\.20\s+OP50\s+OP75\s+fps\s+net fps\s+stages$/);
    expect(table[2]).toMatch(/^static\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d\s+\d+(\.\d)?\s+-\s+-$/);
  });
});
