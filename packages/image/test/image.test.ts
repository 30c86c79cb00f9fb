import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, InvalidFrameError, type ImageFrame } from '@dytrack/core';
import { decodeImage, decodePngRgba, encodeJpeg, encodePng, ImageDecodeError, probeImage, sniffImageType } from '../src/index.js';
import { readImageFile } from '../src/node.js';

/** A smooth colour pattern (JPEG-friendly) with a distinct value per channel. */
function pattern(width: number, height: number, format: 'rgb' | 'rgba' | 'bgr' = 'rgb'): ImageFrame {
  const c = format === 'rgba' ? 4 : 3;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * c;
      data[o] = Math.round((255 * x) / (width - 1));
      data[o + 1] = Math.round((255 * y) / (height - 1));
      data[o + 2] = 128;
      if (c === 4) data[o + 3] = (x * 37 + y * 11) % 256;
    }
  }
  return { data, width, height, format };
}

/** The error `fn` throws, failing the test when it throws none. */
function thrown(fn: () => unknown): ImageDecodeError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect(error).toBeInstanceOf(InvalidFrameError);
    expect((error as ImageDecodeError).code).toBe('INVALID_FRAME');
    return error as ImageDecodeError;
  }
  throw new Error('expected an error');
}

const rgb = pattern(40, 24);
let jpegBytes: Uint8Array;
let pngBytes: Uint8Array;

beforeAll(() => {
  jpegBytes = encodeJpeg(rgb, 95);
  pngBytes = encodePng(rgb);
});

describe('encode and decode', () => {
  it('round-trips PNG exactly for rgb, bgr and rgba frames', () => {
    expect(decodeImage(pngBytes)).toEqual({ data: rgb.data, width: 40, height: 24, format: 'rgb' });
    const bgr = pattern(40, 24, 'bgr');
    const fromBgr = decodeImage(encodePng(bgr));
    // The encoder swaps B and R, so channel 0 of the decoded frame is channel 2 of the bgr data.
    expect(fromBgr.data[0]).toBe(bgr.data[2]);
    expect(fromBgr.data[3 * 39 + 2]).toBe(bgr.data[3 * 39]);
    const rgba = pattern(20, 10, 'rgba');
    const back = decodePngRgba(encodePng(rgba), { name: 'sprite.png' });
    expect(back.format).toBe('rgba');
    expect(Array.from(back.data)).toEqual(Array.from(rgba.data));
  });

  it('round-trips JPEG within a few grey levels', () => {
    const back = decodeImage(jpegBytes, { name: 'a.jpg' });
    expect([back.width, back.height, back.format]).toEqual([40, 24, 'rgb']);
    let sum = 0;
    for (let i = 0; i < rgb.data.length; i++) sum += Math.abs(back.data[i]! - rgb.data[i]!);
    expect(sum / rgb.data.length).toBeLessThan(3);
    // A lower quality gives a smaller file: the quality argument reaches the encoder.
    expect(encodeJpeg(rgb, 10).length).toBeLessThan(jpegBytes.length);
  });

  it('refuses bad frames and qualities', () => {
    expect(() => encodePng({ data: new Uint8Array(5), width: 2, height: 2, format: 'rgb' })).toThrow(InvalidFrameError);
    expect(() => encodeJpeg(rgb, 0)).toThrow(InvalidArgumentError);
    expect(() => encodeJpeg(rgb, 101)).toThrow(/1\.\.100/);
    expect(() => decodeImage(pngBytes, { maxPixels: 0 })).toThrow(InvalidArgumentError);
  });
});

describe('sniffing and probing', () => {
  it('recognises the signatures', () => {
    expect(sniffImageType(jpegBytes)).toBe('jpeg');
    expect(sniffImageType(pngBytes)).toBe('png');
    expect(sniffImageType(pngBytes.subarray(0, 4))).toBeUndefined();
    expect(sniffImageType(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toBeUndefined();
  });

  it('reads the size from the header alone', () => {
    expect(probeImage(pngBytes.subarray(0, 24))).toEqual({ type: 'png', width: 40, height: 24 });
    // jpeg-js writes APP0, DQT and SOF0 before the Huffman tables and the image data.
    expect(probeImage(jpegBytes.subarray(0, 200))).toEqual({ type: 'jpeg', width: 40, height: 24 });
    expect(probeImage(jpegBytes)).toEqual({ type: 'jpeg', width: 40, height: 24 });
  });

  it('reports damaged headers', () => {
    expect(thrown(() => probeImage(pngBytes.subarray(0, 16), { name: 'x.png' })).message).toBe('x.png: corrupt PNG image: the IHDR chunk is missing');
    expect(thrown(() => probeImage(jpegBytes.subarray(0, 20))).detail).toMatch(/^corrupt JPEG image: no frame header/);
    const badMarker = jpegBytes.slice(0, 200);
    badMarker[2 + 2 + 16] = 0x00; // SOI, then APP0 (marker + 16 bytes): the next byte must start a marker
    expect(thrown(() => probeImage(badMarker)).detail).toBe('corrupt JPEG image: expected a marker at byte 20');
    expect(thrown(() => probeImage(pngBytes, { type: 'jpeg' })).detail).toMatch(/JPEG signature \(FF D8 FF\) is missing/);
  });
});

describe('decode errors', () => {
  it('names the source and the problem', () => {
    const unknown = thrown(() => decodeImage(new Uint8Array([1, 2, 3, 4, 5]), { name: 'seq/0002.jpg' }));
    expect(unknown.problem).toBe('unrecognized');
    expect(unknown.source).toBe('seq/0002.jpg');
    expect(unknown.message).toBe('seq/0002.jpg: not a JPEG or PNG image (unknown signature)');
    expect(thrown(() => decodeImage(new Uint8Array(0))).message).toBe('not a JPEG or PNG image (the file is empty)');
    expect(thrown(() => decodePngRgba(jpegBytes, { name: 'j' })).message).toBe('j: corrupt PNG image: the PNG signature is missing');
  });

  it('reports truncated and damaged data as corrupt', () => {
    const truncatedJpeg = thrown(() => decodeImage(jpegBytes.subarray(0, jpegBytes.length - 200), { name: 'a.jpg' }));
    expect(truncatedJpeg.problem).toBe('corrupt');
    expect(truncatedJpeg.message).toMatch(/^a\.jpg: corrupt JPEG image: /);
    const truncatedPng = thrown(() => decodeImage(pngBytes.subarray(0, pngBytes.length - 30), { name: 'a.png' }));
    expect(truncatedPng.problem).toBe('corrupt');
    expect(truncatedPng.message).toMatch(/^a\.png: corrupt PNG image: /);
    // Flipped bits inside the compressed PNG data break its checksum.
    const flipped = pngBytes.slice();
    flipped[50] = flipped[50]! ^ 0xff;
    expect(thrown(() => decodeImage(flipped)).problem).toBe('corrupt');
  });

  it('refuses an oversize image from its header, before decoding', () => {
    // A 24-byte PNG header claiming 100000x100000 followed by junk: the limit is checked first.
    const huge = new Uint8Array(64);
    huge.set(pngBytes.subarray(0, 24));
    new DataView(huge.buffer).setUint32(16, 100_000);
    new DataView(huge.buffer).setUint32(20, 100_000);
    const error = thrown(() => decodeImage(huge, { name: 'huge.png', maxPixels: 1_000_000 }));
    expect(error.problem).toBe('too-large');
    expect(error.message).toBe('huge.png: image is 100000x100000 (10000000000 pixels), over the limit of 1000000 pixels');
    // The same bytes without a limit get as far as the decoder, which finds them corrupt.
    expect(thrown(() => decodeImage(huge)).problem).toBe('corrupt');
    expect(thrown(() => decodeImage(jpegBytes, { maxPixels: 40 * 24 - 1 })).problem).toBe('too-large');
    expect(decodeImage(jpegBytes, { maxPixels: 40 * 24 }).width).toBe(40);
  });

  it('refuses a header whose size disagrees with the data', () => {
    const lying = pngBytes.slice();
    new DataView(lying.buffer).setUint32(16, 0);
    expect(thrown(() => decodeImage(lying)).detail).toBe('corrupt PNG image: the header gives an empty size 0x24');
  });
});

describe('readImageFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dytrack-image-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file and names it in errors', async () => {
    const file = path.join(dir, 'frame.png');
    await writeFile(file, pngBytes);
    expect((await readImageFile(file)).data).toEqual(rgb.data);
    const bad = path.join(dir, 'bad.jpg');
    await writeFile(bad, jpegBytes.subarray(0, 100));
    await expect(readImageFile(bad)).rejects.toThrow(`${bad}: corrupt JPEG image`);
    const missing = path.join(dir, 'missing.png');
    await expect(readImageFile(missing)).rejects.toMatchObject({ problem: 'unreadable', source: missing, message: expect.stringMatching(/cannot read image/) });
    await expect(readImageFile(file, { maxPixels: 10 })).rejects.toMatchObject({ problem: 'too-large' });
  });
});
