/**
 * Medians of the codec calls on a 640x480 frame, plus jpeg-js's fixed
 * per-call encoder set-up (an 8x8 JPEG), which dominates small JPEGs.
 *
 *   node --conditions=@dytrack/source --import tsx packages/image/bench/codecs.ts
 */
import type { ImageFrame } from '@dytrack/core';
import { decodeImage, decodePngRgba, encodeJpeg, encodePng, probeImage } from '../src/index.js';

function frame(width: number, height: number): ImageFrame {
  // Smooth gradients with a little texture, compressing like a camera frame rather than like noise.
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = (x >> 1) + ((x * y) & 15);
      data[o + 1] = (y >> 1) + ((x ^ y) & 7);
      data[o + 2] = ((x + y) >> 2) & 255;
    }
  }
  return { data, width, height, format: 'rgb' };
}

function median(label: string, runs: number, fn: () => unknown): void {
  fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  console.log(`${label.padEnd(34)} ${times[times.length >> 1]!.toFixed(3).padStart(9)} ms (median of ${runs})`);
}

const vga = frame(640, 480);
const jpeg = encodeJpeg(vga, 90);
const png = encodePng(vga);
median('probeImage JPEG header', 2000, () => probeImage(jpeg));
median('decodeImage JPEG 640x480', 15, () => decodeImage(jpeg));
median('decodeImage PNG 640x480', 15, () => decodeImage(png));
median('decodePngRgba PNG 640x480', 15, () => decodePngRgba(png));
median('encodePng 640x480', 9, () => encodePng(vga));
median('encodeJpeg 640x480 q90', 9, () => encodeJpeg(vga, 90));
median('encodeJpeg 8x8 (set-up cost)', 9, () => encodeJpeg(frame(8, 8), 90));
