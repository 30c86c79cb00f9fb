/**
 * Per-frame preprocessing cost: crop + bilinear resize + normalisation (the fused
 * `cropResizeNormalize`) of a 1280x720 RGBA frame, for the template (128 px,
 * context factor 2) and the search region (256 px, factor 4), in both resample modes.
 *
 *   node --conditions=@dytrack/source --import tsx packages/tensor/bench/preprocess.ts [runs]
 */
import { performance } from 'node:perf_hooks';
import type { Box, ImageFrame } from '@dytrack/core';
import { IMAGENET_NORMALIZATION, createCropWindow, createCropper, type ResampleMode } from '@dytrack/tensor';

const runs = Number(process.argv[2] ?? 200);
const warmup = 50;
const W = 1280;
const H = 720;

const data = new Uint8ClampedArray(W * H * 4);
let s = 12345;
for (let i = 0; i < data.length; i++) {
  s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
  data[i] = s >> 16;
}
const frame: ImageFrame = { data, width: W, height: H };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function bench(label: string, size: number, factor: number, resample: ResampleMode): void {
  const cropper = createCropper(size, { resample });
  const out = new Float32Array(3 * size * size);
  const win = createCropWindow();
  // A target drifting over the frame, so every call computes a new window and new taps.
  const boxAt = (i: number): Box => ({ x: 400 + (i % 37) * 3.3, y: 200 + (i % 23) * 2.1, width: 90 + (i % 7), height: 70 + (i % 5) });
  for (let i = 0; i < warmup; i++) cropper.cropResizeNormalize(frame, boxAt(i), factor, IMAGENET_NORMALIZATION, out, win);
  const wall: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    cropper.cropResizeNormalize(frame, boxAt(i), factor, IMAGENET_NORMALIZATION, out, win);
    wall.push(performance.now() - t0);
  }
  // CPU time of the process per call (batches of 10), less sensitive than wall time to other
  // processes competing for the cores.
  const cpu: number[] = [];
  for (let i = 0; i < runs; i += 10) {
    const c0 = process.cpuUsage();
    for (let j = 0; j < 10; j++) cropper.cropResizeNormalize(frame, boxAt(i + j), factor, IMAGENET_NORMALIZATION, out, win);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / 10);
  }
  console.log(`${label.padEnd(34)} median ${median(wall).toFixed(3)} ms wall, ${median(cpu).toFixed(3)} ms cpu  (${runs} runs)`);
}

console.log(`cropResizeNormalize, ${W}x${H} RGBA frame, node ${process.version}`);
for (const resample of ['float', 'opencv'] as const) {
  bench(`template 128, factor 2 [${resample}]`, 128, 2, resample);
  bench(`search 256, factor 4 [${resample}]`, 256, 4, resample);
}
