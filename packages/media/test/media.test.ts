import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { encodePng, encodeJpeg } from '@dytrack/image';
import type { ImageFrame } from '@dytrack/core';
import {
  composeStrip,
  createRgbImage,
  createVideoWriter,
  drawBox,
  drawText,
  listImageFiles,
  openFrameSource,
  openImageFolder,
  openVideo,
  resizeRgb,
  toRgbImage,
  type FrameEntry,
  type FrameSource,
} from '../src/index.js';

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;

/** A 32x24 RGB frame whose pixels encode the frame index (for checking order). */
function patternFrame(index: number): ImageFrame {
  const data = new Uint8Array(32 * 24 * 3);
  for (let i = 0; i < data.length; i += 3) (data[i] = index * 40), (data[i + 1] = 128), (data[i + 2] = 255 - index * 40);
  return { data, width: 32, height: 24, format: 'rgb' };
}

async function collect(source: FrameSource): Promise<FrameEntry[]> {
  const out: FrameEntry[] = [];
  for await (const e of source.entries()) out.push(e);
  return out;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dytrack-media-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('image folders', () => {
  it('lists frames in natural order and ignores other files', async () => {
    const d = join(dir, 'natural');
    mkdirSync(d);
    for (const name of ['10.png', '2.png', '1.jpg', 'notes.txt']) writeFileSync(join(d, name), 'x');
    expect((await listImageFiles(d)).map((f) => f.slice(d.length + 1))).toEqual(['1.jpg', '2.png', '10.png']);
  });

  it('decodes PNG and JPEG frames lazily, in order', async () => {
    const d = join(dir, 'frames');
    mkdirSync(d);
    writeFileSync(join(d, '0001.png'), encodePng(patternFrame(1)));
    writeFileSync(join(d, '0002.jpg'), encodeJpeg(patternFrame(2), 95));
    const source = await openImageFolder(d);
    expect(source.length).toBe(2);
    const entries = await collect(source);
    expect(entries.map((e) => e.name)).toEqual(['0001.png', '0002.jpg']);
    expect(entries[0]!.frame!.data[0]).toBe(40);
    expect(Math.abs(entries[1]!.frame!.data[0]! - 80)).toBeLessThan(6);
  });

  it('yields a corrupt frame as an error naming its file, and carries on', async () => {
    const d = join(dir, 'corrupt');
    mkdirSync(d);
    writeFileSync(join(d, '1.png'), encodePng(patternFrame(1)));
    writeFileSync(join(d, '2.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0, 1, 2, 3]));
    writeFileSync(join(d, '3.png'), encodePng(patternFrame(3)));
    const entries = await collect(await openImageFolder(d));
    expect(entries.map((e) => (e.error ? 'error' : 'ok'))).toEqual(['ok', 'error', 'ok']);
    expect(entries[1]!.error!.message).toContain(join(d, '2.jpg'));
  });

  it('rejects a missing folder and a folder with no frames, saying which', async () => {
    await expect(openImageFolder(join(dir, 'nope'))).rejects.toThrow(/no such folder: .*nope/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(openImageFolder(empty)).rejects.toThrow(/has no frames/);
    await expect(openFrameSource(join(dir, 'missing.mp4'))).rejects.toThrow(/no such file or folder/);
  });

  it('finds the img/ folder of a dataset sequence', async () => {
    const seq = join(dir, 'Seq');
    mkdirSync(join(seq, 'img'), { recursive: true });
    writeFileSync(join(seq, 'groundtruth_rect.txt'), '1,1,4,4\n');
    writeFileSync(join(seq, 'img', '0001.png'), encodePng(patternFrame(0)));
    const source = await openFrameSource(seq);
    expect(source.path).toBe(join(seq, 'img'));
    expect(source.length).toBe(1);
  });
});

describe.skipIf(!hasFfmpeg)('video through ffmpeg', () => {
  it('writes frames to a video and reads them back in order at the same size', async () => {
    const file = join(dir, 'clip.mp4');
    const writer = createVideoWriter(file, 32, 24, 10);
    for (let i = 0; i < 5; i++) await writer.write(toRgbImage(patternFrame(i)));
    await writer.close();
    const source = await openVideo(file);
    expect(source.length).toBe(5);
    const entries = await collect(source);
    expect(entries).toHaveLength(5);
    for (const [i, e] of entries.entries()) {
      expect(e.frame!.width).toBe(32);
      expect(Math.abs(e.frame!.data[3 * (12 * 32 + 16)]! - i * 40)).toBeLessThan(12); // lossy, but ordered
    }
  });

  it('rejects a file that is not a video with a clear message', async () => {
    const file = join(dir, 'text.mp4');
    writeFileSync(file, 'hello');
    await expect(openVideo(file)).rejects.toThrow(/text.mp4: not a readable video/);
  });

  it('rejects frames of the wrong size', async () => {
    const writer = createVideoWriter(join(dir, 'bad.mp4'), 32, 24);
    await expect(writer.write(createRgbImage(10, 10))).rejects.toThrow(/must be 32x24, got 10x10/);
    await writer.close().catch(() => undefined);
  });
});
if (!hasFfmpeg) console.warn('ffmpeg not found: video tests skipped (apt-get install ffmpeg)');

describe('annotation', () => {
  it('draws a box outline of the given thickness inside the box edges', () => {
    const image = createRgbImage(10, 10);
    drawBox(image, { x: 2, y: 3, width: 5, height: 4 }, [255, 0, 0], 1);
    const red = (x: number, y: number) => image.data[(y * 10 + x) * 3] === 255;
    expect(red(2, 3) && red(6, 3) && red(2, 6) && red(6, 6)).toBe(true);
    expect(red(4, 5)).toBe(false); // inside stays
    expect(red(7, 3)).toBe(false); // x + width is exclusive
    expect(red(1, 3)).toBe(false);
    let count = 0;
    for (let i = 0; i < 100; i++) if (image.data[i * 3] === 255) count++;
    expect(count).toBe(5 * 2 + 2 * 2); // perimeter of a 5x4 box
  });

  it('clips boxes outside the image and ignores NaN boxes', () => {
    const image = createRgbImage(4, 4);
    drawBox(image, { x: -10, y: -10, width: 100, height: 100 }, [0, 255, 0], 1);
    drawBox(image, { x: NaN, y: 0, width: 2, height: 2 }, [0, 0, 255], 1);
    expect(Array.from(image.data).filter((v) => v === 255)).toHaveLength(0);
  });

  it('draws text with the bitmap font', () => {
    const image = createRgbImage(40, 10);
    drawText(image, 1, 1, '10', [255, 255, 255]);
    const lit = Array.from(image.data).filter((v) => v === 255).length / 3;
    expect(lit).toBe(10 + 19); // set bits of the '1' and '0' glyphs
  });

  it('converts BGR and RGBA to RGB', () => {
    expect(Array.from(toRgbImage({ data: new Uint8Array([1, 2, 3]), width: 1, height: 1, format: 'bgr' }).data)).toEqual([3, 2, 1]);
    expect(Array.from(toRgbImage({ data: new Uint8Array([1, 2, 3, 4]), width: 1, height: 1 }).data)).toEqual([1, 2, 3]);
  });

  it('resizes by averaging and composes a grid strip', () => {
    const image = createRgbImage(4, 2);
    image.data.set([0, 0, 0, 100, 100, 100, 0, 0, 0, 100, 100, 100], 0);
    image.data.set([0, 0, 0, 100, 100, 100, 0, 0, 0, 100, 100, 100], 12);
    expect(Array.from(resizeRgb(image, 2, 1).data)).toEqual([50, 50, 50, 50, 50, 50]);
    const strip = composeStrip([image, image, image], { columns: 2, tileWidth: 8, gap: 2 });
    expect(strip.width).toBe(2 * 8 + 3 * 2);
    expect(strip.height).toBe(2 * 4 + 3 * 2);
  });
});
