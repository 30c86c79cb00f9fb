import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@dytrack/core';
import { initWeights, modelConfig, resizePositionEmbedding, resizePositionEmbeddings, SafetensorsError, weightsFromSafetensors, weightsToSafetensors } from '../src/index.js';

/** A `grid x grid` field of width `dim`, value f(x, y, channel) at each cell centre. */
function field(grid: number, dim: number, f: (x: number, y: number, c: number) => number): Float32Array {
  const out = new Float32Array(grid * grid * dim);
  for (let y = 0; y < grid; y++) for (let x = 0; x < grid; x++) for (let c = 0; c < dim; c++) out[(y * grid + x) * dim + c] = f(x, y, c);
  return out;
}

describe('resizePositionEmbedding', () => {
  it('matches the bicubic kernel (a = -0.5, centres aligned, edges clamped) worked by hand', () => {
    // A 2x2 grid whose value is its column index, to 4x4: the source position of output column o
    // is (o + 0.5)/2 - 0.5 = -0.25, 0.25, 0.75, 1.25. For -0.25 the taps -2..1 sit at distances
    // 1.75, 0.75, 0.25, 1.25 with Keys weights -0.0234375, 0.2265625, 0.8671875, -0.0703125;
    // columns -2 and -1 clamp to 0, so the value is -0.0703125 · 1. Column 1 (source 0.25): the
    // taps -1..2 weigh -0.0703125, 0.8671875, 0.2265625, -0.0234375, and with -1 clamped to 0
    // and 2 to 1 the value is 0.2265625 - 0.0234375 = 0.203125.
    const out = resizePositionEmbedding(field(2, 1, (x) => x), 2, 4, 1);
    const row = [-0.0703125, 0.203125, 0.796875, 1.0703125];
    expect([...out]).toEqual([...row, ...row, ...row, ...row]);
  });

  it('keeps a constant field constant and a linear one linear away from the edges, growing and shrinking', () => {
    const constant = resizePositionEmbedding(field(5, 3, (_x, _y, c) => c - 1), 5, 9, 3);
    for (let i = 0; i < constant.length; i++) expect(constant[i]).toBeCloseTo((i % 3) - 1, 6);
    // Exact for whole-number ratios; a stretched kernel sampled off its knots (16 -> 6, stretch 8/3)
    // keeps a linear field within 0.003 of a source cell (checked to 0.05 on a slope-2 field).
    for (const [from, to, digits] of [[8, 16, 5], [16, 8, 5], [16, 6, 1]] as const) {
      const out = resizePositionEmbedding(field(from, 2, (x, y, c) => (c === 0 ? x : 2 * y - 3)), from, to, 2);
      const scale = from / to;
      const reach = 2 * Math.max(1, scale);
      for (let y = 0; y < to; y++) {
        for (let x = 0; x < to; x++) {
          const sx = (x + 0.5) * scale - 0.5;
          const sy = (y + 0.5) * scale - 0.5;
          if (sx - reach < 0 || sx + reach > from - 1 || sy - reach < 0 || sy + reach > from - 1) continue; // clamped taps
          expect(out[(y * to + x) * 2]).toBeCloseTo(sx, digits);
          expect(out[(y * to + x) * 2 + 1]).toBeCloseTo(2 * sy - 3, digits);
        }
      }
    }
  });

  it('returns a copy for the same grid and names bad sizes', () => {
    const values = field(3, 2, (x, y) => x + 10 * y);
    const same = resizePositionEmbedding(values, 3, 3, 2);
    expect(same).toEqual(values);
    expect(same).not.toBe(values);
    expect(() => resizePositionEmbedding(values, 4, 8, 2)).toThrow(InvalidArgumentError);
    expect(() => resizePositionEmbedding(values, 4, 8, 2)).toThrow(/18 values are not a 4x4 grid of width 2 \(32\)/);
    expect(() => resizePositionEmbedding(values, 3, 0, 2)).toThrow(/to must be a positive integer, got 0/);
  });
});

describe('weights at another crop size', () => {
  const small = modelConfig('tiny', { templateSize: 32, searchSize: 64, dim: 16, heads: 2, stageDepths: [1, 1, 1], headChannels: 8, decisionHidden: 8 });
  const large = modelConfig('tiny', { ...small, templateSize: 48, searchSize: 128 });
  const weights = initWeights(small, { seed: 4 });

  it('resamples the position embeddings on request and passes every other tensor through', () => {
    const bytes = weightsToSafetensors(small, weights);
    expect(() => weightsFromSafetensors(large, bytes)).toThrow(SafetensorsError);
    expect(() => weightsFromSafetensors(large, bytes)).toThrow(/backbone\.pos_embed_z.*shape \[1, 4, 16\] but the architecture needs \[1, 9, 16\]/);
    const seen: string[] = [];
    const read = weightsFromSafetensors(large, bytes, { resizePositionEmbeddings: true, onPositionEmbeddingResized: (name, from, to) => seen.push(`${name} ${from}->${to}`) });
    expect(seen).toEqual(['backbone.pos_embed_z 2->3', 'backbone.pos_embed_x 4->8']);
    expect(read.get('backbone.pos_embed_x')).toEqual(resizePositionEmbedding(weights.get('backbone.pos_embed_x')!, 4, 8, 16));
    for (const [name, values] of weights) if (!name.includes('pos_embed')) expect(read.get(name), name).toEqual(values);

    const { weights: mapped, resized } = resizePositionEmbeddings(weights, { template: 3, search: 8 }, 16);
    expect(resized).toEqual([{ name: 'backbone.pos_embed_z', from: 2, to: 3 }, { name: 'backbone.pos_embed_x', from: 4, to: 8 }]);
    expect(mapped.get('backbone.pos_embed_z')).toEqual(read.get('backbone.pos_embed_z'));
    expect(resizePositionEmbeddings(weights, { template: 2, search: 4 }, 16).resized).toEqual([]);
  });
});
