import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { crc32 } from 'node:zlib';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@dytrack/core';
import { encodeJpeg, encodePng } from '@dytrack/image';
import { createSyntheticSequence, findSystemAssets, MAX_BACKGROUND_PIXELS, MAX_SPRITE_PIXELS, openDataset, writeSyntheticDataset } from '../src/index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dytrack-eval-gen-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const same = (a: Uint8Array | Uint8ClampedArray, b: Uint8Array | Uint8ClampedArray): boolean => Buffer.from(a).equals(Buffer.from(b));

describe('procedural sequences', () => {
  it('is reproducible from its seed, and seeds differ', () => {
    const a = createSyntheticSequence({ seed: 42, length: 30 });
    const b = createSyntheticSequence({ seed: 42, length: 30 });
    const c = createSyntheticSequence({ seed: 43, length: 30 });
    expect(same(a.renderFrame(17).data, b.renderFrame(17).data)).toBe(true);
    expect(a.groundTruth).toEqual(b.groundTruth);
    expect(same(a.renderFrame(17).data, c.renderFrame(17).data)).toBe(false);
  });

  it('renders the same frame in any order and into a reused buffer', () => {
    const seq = createSyntheticSequence({ seed: 5, width: 128, height: 96, length: 20 });
    const direct = seq.renderFrame(12).data.slice();
    const buf = new Uint8Array(128 * 96 * 3);
    for (let i = 19; i >= 0; i--) seq.renderFrame(i, buf);
    const reused = seq.renderFrame(12, buf);
    expect(reused.data).toBe(buf);
    expect(same(buf, direct)).toBe(true);
    expect(() => seq.renderFrame(12, new Uint8Array(10))).toThrow(InvalidArgumentError);
    expect(() => seq.renderFrame(20)).toThrow(/frame index 20/);
  });

  it('moves, scales and stays trackable over time', () => {
    const seq = createSyntheticSequence({ seed: 21, length: 120 });
    const g = seq.groundTruth;
    const areas = g.map((b) => b.width * b.height);
    expect(Math.max(...areas) / Math.min(...areas)).toBeGreaterThan(1.2);
    const travel = g.slice(1).reduce((s, b, i) => s + Math.hypot(b.x - g[i]!.x, b.y - g[i]!.y), 0);
    expect(travel).toBeGreaterThan(100);
  });

  it('reports how much of the target is visible: all of it with nothing in front, one dip as the occluder crosses', () => {
    const clear = createSyntheticSequence({ seed: 8, length: 60, distractors: 0, occlusion: false });
    for (let i = 0; i < clear.length; i++) expect(clear.visibility(i)).toBe(1);
    let dipped = 0;
    for (let seed = 0; seed < 10; seed++) {
      const seq = createSyntheticSequence({ seed, length: 100, distractors: 0 });
      const v = Array.from({ length: seq.length }, (_, i) => seq.visibility(i));
      for (const x of v) expect(x >= 0 && x <= 1).toBe(true);
      // The occluder meets the target between 30% and 70% of the sequence and moves on.
      expect(v[0]).toBe(1);
      expect(v[99]).toBe(1);
      const low = v.flatMap((x, i) => (x < 0.9 ? [i] : []));
      if (low.length > 0) {
        expect(low[low.length - 1]! - low[0]! + 1, `seed ${seed}: one contiguous dip`).toBe(low.length);
        expect(low[0]!).toBeGreaterThan(10);
      }
      if (Math.min(...v) < 0.5) dipped++;
    }
    expect(dipped).toBeGreaterThanOrEqual(5);
    expect(() => clear.visibility(60)).toThrow(/frame index 60/);
  });

  it('writes an OTB dataset that the readers open', async () => {
    const dirs = await writeSyntheticDataset(path.join(tmp, 'ds'), { count: 2, firstSeed: 1000, length: 5, width: 64, height: 48 });
    expect(dirs.map((d) => path.basename(d))).toEqual(['synthetic-1000', 'synthetic-1001']);
    const ds = await openDataset(path.join(tmp, 'ds'));
    expect(ds.sequences).toHaveLength(2);
    expect((await ds.sequences[1]!.frame(4)).height).toBe(48);
  });

  it('uses photographs and clip-art when given an asset library', async () => {
    const bgDir = path.join(tmp, 'assets', 'backgrounds');
    const objDir = path.join(tmp, 'assets', 'clipart', 'animals');
    await mkdir(bgDir, { recursive: true });
    await mkdir(objDir, { recursive: true });
    const W = 200;
    const H = 150;
    const photo = new Uint8Array(W * H * 3);
    for (let i = 0; i < W * H; i++) photo.set([(i % W) & 255, (i / W) & 255, 128], i * 3);
    await writeFile(path.join(bgDir, 'gradient.jpg'), encodeJpeg({ data: photo, width: W, height: H, format: 'rgb' }));
    // A 40x20 clip-art: an opaque red 30x10 rectangle at its top left, the rest transparent.
    const clip = new Uint8Array(40 * 20 * 4);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 30; x++) clip.set([255, 0, 0, 255], (y * 40 + x) * 4);
    await writeFile(path.join(objDir, 'half.png'), encodePng({ data: clip, width: 40, height: 20, format: 'rgba' }));
    const assets = findSystemAssets({ backgrounds: bgDir, objects: path.join(tmp, 'assets', 'clipart') });
    expect(assets).toEqual({ backgrounds: [path.join(bgDir, 'gradient.jpg')], objects: [path.join(objDir, 'half.png')] });
    expect(findSystemAssets({ backgrounds: path.join(tmp, 'none'), objects: path.join(tmp, 'none') })).toBeUndefined();
    const seq = createSyntheticSequence({ seed: 3, width: 120, height: 90, length: 4, assets, distractors: 0, occlusion: false, rotation: false, illumination: false, blur: false, scaleChange: false });
    const b = seq.groundTruth[0]!;
    // The truth box covers the opaque part only: aspect 3:1, not the PNG's 2:1.
    expect(b.width / b.height).toBeCloseTo(3, 0);
    const f = seq.renderFrame(0);
    const cx = Math.floor(b.x + b.width / 2);
    const cy = Math.floor(b.y + b.height / 2);
    const k = (cy * 120 + cx) * 3;
    expect([f.data[k], f.data[k + 1], f.data[k + 2]]).toEqual([255, 0, 0]);

    // With rotation and scale change the truth box is the tight extent of the drawn target:
    // the background's blue channel is 128 everywhere, so blue < 64 marks target pixels.
    const moving = createSyntheticSequence({ seed: 4, width: 120, height: 90, length: 60, assets, distractors: 0, occlusion: false, illumination: false, blur: false });
    let rotated = 0;
    for (let t = 0; t < 60; t += 6) {
      const fr = moving.renderFrame(t).data;
      const tb = moving.groundTruth[t]!;
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (let y = 0; y < 90; y++) for (let x = 0; x < 120; x++) {
        if (fr[(y * 120 + x) * 3 + 2]! < 64) {
          minX = Math.min(minX, x); maxX = Math.max(maxX, x + 1);
          minY = Math.min(minY, y); maxY = Math.max(maxY, y + 1);
        }
      }
      expect(Math.abs(minX - tb.x)).toBeLessThanOrEqual(1.5);
      expect(Math.abs(maxX - (tb.x + tb.width))).toBeLessThanOrEqual(1.5);
      expect(Math.abs(minY - tb.y)).toBeLessThanOrEqual(1.5);
      expect(Math.abs(maxY - (tb.y + tb.height))).toBeLessThanOrEqual(1.5);
      if (Math.abs(tb.width / tb.height - 3) > 0.3) rotated++;
    }
    expect(rotated).toBeGreaterThan(0); // rotation changed the box's shape on some frames
  });

  it('uses clip-art alone when no photographs decode (Debian 12 ships its wallpapers as WebP)', async () => {
    const bgDir = path.join(tmp, 'webp-only', 'backgrounds');
    const objDir = path.join(tmp, 'webp-only', 'clipart');
    await mkdir(bgDir, { recursive: true });
    await mkdir(objDir, { recursive: true });
    await writeFile(path.join(bgDir, 'wallpaper.webp'), new Uint8Array([0x52, 0x49, 0x46, 0x46]));
    const clip = new Uint8Array(40 * 20 * 4);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 30; x++) clip.set([255, 0, 0, 255], (y * 40 + x) * 4);
    await writeFile(path.join(objDir, 'half.png'), encodePng({ data: clip, width: 40, height: 20, format: 'rgba' }));
    const assets = findSystemAssets({ backgrounds: bgDir, objects: objDir });
    expect(assets).toEqual({ backgrounds: [], objects: [path.join(objDir, 'half.png')] });
    const options = { seed: 3, width: 120, height: 90, length: 4, distractors: 0, occlusion: false, rotation: false, illumination: false, blur: false, scaleChange: false };
    const withClipArt = createSyntheticSequence({ ...options, assets: assets! });
    const plain = createSyntheticSequence(options);
    // The clip-art's 3:1 opaque part is the target (a procedural target would not be pure red).
    const b = withClipArt.groundTruth[0]!;
    expect(b.width / b.height).toBeCloseTo(3, 0);
    const f = withClipArt.renderFrame(0);
    const k = (Math.floor(b.y + b.height / 2) * 120 + Math.floor(b.x + b.width / 2)) * 3;
    expect([f.data[k], f.data[k + 1], f.data[k + 2]]).toEqual([255, 0, 0]);
    // An empty library is the procedural generator, byte for byte (distractors and occluder included).
    const full = { seed: 5, width: 120, height: 90, length: 30 };
    const empty = createSyntheticSequence({ ...full, assets: { backgrounds: [], objects: [] } });
    const procedural = createSyntheticSequence(full);
    expect(empty.groundTruth).toEqual(procedural.groundTruth);
    for (const t of [0, 14, 29]) expect(empty.renderFrame(t).data).toEqual(procedural.renderFrame(t).data);
    expect(plain.groundTruth.length).toBe(4);
  });

  it('skips clip-art with nothing opaque (openclipart has some) instead of failing', async () => {
    const objDir = path.join(tmp, 'transparent-clipart');
    await mkdir(objDir, { recursive: true });
    await writeFile(path.join(objDir, 'empty.png'), encodePng({ data: new Uint8Array(40 * 20 * 4), width: 40, height: 20, format: 'rgba' }));
    const options = { seed: 3, width: 120, height: 90, length: 4, distractors: 2, occlusion: true };
    // Only a transparent file: every object falls back to a procedural sprite.
    const onlyEmpty = createSyntheticSequence({ ...options, assets: { backgrounds: [], objects: [path.join(objDir, 'empty.png')] } });
    expect(onlyEmpty.groundTruth[0]!.width).toBeGreaterThan(0);
    expect(onlyEmpty.renderFrame(1).data.length).toBe(120 * 90 * 3);
    // With an opaque one beside it, the opaque one is drawn (a pure red 3:1 target).
    const clip = new Uint8Array(40 * 20 * 4);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 30; x++) clip.set([255, 0, 0, 255], (y * 40 + x) * 4);
    await writeFile(path.join(objDir, 'half.png'), encodePng({ data: clip, width: 40, height: 20, format: 'rgba' }));
    const assets = findSystemAssets({ backgrounds: path.join(tmp, 'none'), objects: objDir })!;
    expect(assets.objects).toHaveLength(2);
    const seq = createSyntheticSequence({ ...options, distractors: 0, occlusion: false, rotation: false, illumination: false, blur: false, scaleChange: false, assets });
    const b = seq.groundTruth[0]!;
    expect(b.width / b.height).toBeCloseTo(3, 0);
  });

  it('passes over clip-art and photographs too large to decode cheaply, as it does transparent clip-art', async () => {
    // A PNG whose header claims 5000 x 5000 pixels: refused from the header, never inflated.
    const huge = (w: number, h: number): Uint8Array => {
      const chunk = (type: string, data: Uint8Array): Buffer => {
        const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
        const out = Buffer.alloc(12 + data.length);
        out.writeUInt32BE(data.length, 0);
        body.copy(out, 4);
        out.writeUInt32BE(crc32(body), 8 + data.length);
        return out;
      };
      const ihdr = Buffer.alloc(13);
      ihdr.writeUInt32BE(w, 0);
      ihdr.writeUInt32BE(h, 4);
      ihdr.set([8, 6, 0, 0, 0], 8);
      return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IEND', new Uint8Array(0))]);
    };
    expect(5000 * 5000).toBeGreaterThan(MAX_SPRITE_PIXELS);
    expect(7000 * 7000).toBeGreaterThan(MAX_BACKGROUND_PIXELS);
    const dir = path.join(tmp, 'huge-assets');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'huge.png'), huge(5000, 5000));
    await writeFile(path.join(dir, 'empty.png'), encodePng({ data: new Uint8Array(40 * 20 * 4), width: 40, height: 20, format: 'rgba' }));
    await writeFile(path.join(dir, 'wall.png'), huge(7000, 7000));
    const options = { seed: 5, width: 120, height: 90, length: 4 };
    // (The files hold no pixel data: decoding them at all would fail, so passing means the header was enough.)
    const withHuge = createSyntheticSequence({ ...options, assets: { backgrounds: [], objects: [path.join(dir, 'huge.png')] } });
    const withEmpty = createSyntheticSequence({ ...options, assets: { backgrounds: [], objects: [path.join(dir, 'empty.png')] } });
    // The same draws as an unusable transparent file: procedural sprites, byte for byte.
    for (const t of [0, 3]) expect(same(withHuge.renderFrame(t).data, withEmpty.renderFrame(t).data)).toBe(true);
    // An oversized photograph gives a procedural background.
    const onWall = createSyntheticSequence({ ...options, assets: { backgrounds: [path.join(dir, 'wall.png')], objects: [] } });
    expect(onWall.renderFrame(0).data.length).toBe(120 * 90 * 3);
  });

  it('uses photographs alone, with procedural objects, when there is no clip-art', async () => {
    const bgDir = path.join(tmp, 'photos-only');
    await mkdir(bgDir, { recursive: true });
    const W = 200;
    const H = 150;
    const photo = new Uint8Array(W * H * 3).fill(128);
    await writeFile(path.join(bgDir, 'grey.jpg'), encodeJpeg({ data: photo, width: W, height: H, format: 'rgb' }));
    const assets = findSystemAssets({ backgrounds: bgDir, objects: path.join(tmp, 'no-clipart') });
    expect(assets).toEqual({ backgrounds: [path.join(bgDir, 'grey.jpg')], objects: [] });
    const seq = createSyntheticSequence({ seed: 3, width: 120, height: 90, length: 4, assets: assets!, distractors: 0, occlusion: false, illumination: false, blur: false });
    const f = seq.renderFrame(0).data;
    // The background is the flat grey photograph (JPEG keeps a flat field within a level or two) ...
    expect(Math.abs(f[0]! - 128)).toBeLessThanOrEqual(2);
    expect(Math.abs(f[f.length - 1]! - 128)).toBeLessThanOrEqual(2);
    // ... and the target a procedural object on it, not grey.
    const b = seq.groundTruth[0]!;
    const k = (Math.floor(b.y + b.height / 2) * 120 + Math.floor(b.x + b.width / 2)) * 3;
    expect(Math.abs(f[k]! - 128) + Math.abs(f[k + 1]! - 128) + Math.abs(f[k + 2]! - 128)).toBeGreaterThan(6);
  });

  it('validates its options', () => {
    expect(() => createSyntheticSequence({ seed: 1.5 })).toThrow(/seed/);
    expect(() => createSyntheticSequence({ seed: 1, width: 8 })).toThrow(/width/);
  });
});
