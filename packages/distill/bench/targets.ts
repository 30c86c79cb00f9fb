// Per-sample cost of the target builders the data pipeline calls (search crop 256, 16 x 16
// map, as OSTrack-256), writing into reused buffers. Prints the median over repeated runs.
// Run: node --conditions=@dytrack/source --import tsx packages/distill/bench/targets.ts
import type { Box } from '@dytrack/core';
import { boxTarget, gaussianHeatmap, tokenMask } from '@dytrack/distill';

const CROP = 256;
const N = 16;
const BATCH = 64;
const ROUNDS = 41;

let seed = 12345;
const random = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296;
};
const boxes: Box[] = Array.from({ length: BATCH }, () => {
  const width = 16 + random() * 160;
  const height = 16 + random() * 160;
  return { x: random() * (CROP - width), y: random() * (CROP - height), width, height };
});

const heat = new Float32Array(BATCH * N * N);
const mask = new Float32Array(BATCH * N * N);
const targets = new Float32Array(BATCH * 4);

function bench(name: string, fill: (b: number) => void): void {
  const perSample: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let rep = 0; rep < 20; rep++) for (let b = 0; b < BATCH; b++) fill(b);
    perSample.push(Number(process.hrtime.bigint() - t0) / (20 * BATCH));
  }
  perSample.sort((a, b) => a - b);
  console.log(`${name.padEnd(28)} median ${(perSample[ROUNDS >> 1] / 1000).toFixed(3)} us / sample`);
}

bench('gaussianHeatmap', (b) => gaussianHeatmap(boxes[b], CROP, N, heat, b * N * N));
bench("tokenMask 'box'", (b) => tokenMask(boxes[b], CROP, N, {}, mask, b * N * N));
bench("tokenMask 'gaussian'", (b) => tokenMask(boxes[b], CROP, N, { mode: 'gaussian' }, mask, b * N * N));
bench('boxTarget', (b) => boxTarget(boxes[b], CROP, targets, b * 4));
