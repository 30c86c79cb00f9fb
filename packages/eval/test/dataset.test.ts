import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJpeg, encodePng } from '@dytrack/image';
import {
  createSyntheticSequence,
  DatasetFormatError,
  formatBoxFile,
  openDataset,
  parseBoxFile,
  parseFlagFile,
  readGot10kSequence,
  readLasotSequence,
  readOtbSequence,
  writeOtbSequence,
} from '../src/index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'dytrack-eval-ds-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('box files', () => {
  it('reads comma, tab, space and mixed separators', () => {
    const boxes = parseBoxFile('1,2,3,4\n5\t6\t7\t8\n9 10  11 12\n13, 14,\t15 ,16\n\n', 'gt.txt');
    expect(boxes).toEqual([
      { x: 1, y: 2, width: 3, height: 4 },
      { x: 5, y: 6, width: 7, height: 8 },
      { x: 9, y: 10, width: 11, height: 12 },
      { x: 13, y: 14, width: 15, height: 16 },
    ]);
    expect(parseBoxFile('1.5,-2e1,3,4\r\n', 'gt.txt')[0]).toEqual({ x: 1.5, y: -20, width: 3, height: 4 });
  });

  it('names the file and line of a malformed field', () => {
    expect(() => parseBoxFile('1,2,3,4\n1,2,x3,4\n', 'seq/groundtruth.txt')).toThrow('seq/groundtruth.txt:2: non-numeric field "x3"');
    expect(() => parseBoxFile('1,2,3,4\n1,2,3\n', 'a.txt')).toThrow(/a\.txt:2: expected 4 fields/);
    expect(() => parseBoxFile('1,2,3,4\n\n1,2,3,4\n', 'a.txt')).toThrow(/a\.txt:2: empty line/);
    expect(() => parseBoxFile('NaN,2,3,4\n', 'results.txt')).toThrow(/results\.txt:1: NaN/);
    expect(parseBoxFile('NaN,NaN,NaN,NaN\n', 'gt.txt', { allowNaN: true })[0]!.x).toBeNaN();
    try {
      parseBoxFile('1,2,3,4\n0x10,2,3,4\n', 'f.txt');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DatasetFormatError);
      expect((error as DatasetFormatError).line).toBe(2);
      expect((error as DatasetFormatError).file).toBe('f.txt');
    }
  });

  it('reads flag files in LaSOT (one line) and GOT-10k (one per line) form', () => {
    expect(parseFlagFile('0,0,1,1,0\n', 'full_occlusion.txt')).toEqual([false, false, true, true, false]);
    expect(parseFlagFile('0\n1\n0\n', 'absence.label')).toEqual([false, true, false]);
    expect(() => parseFlagFile('0\n2\n', 'absence.label')).toThrow(/absence\.label:2/);
  });

  it('round-trips through formatBoxFile', () => {
    const boxes = [{ x: 1.23456, y: 2, width: 3.5, height: 4 }];
    expect(formatBoxFile(boxes)).toBe('1.23,2,3.5,4\n');
    expect(parseBoxFile(formatBoxFile(boxes), 'r.txt')[0]!.x).toBe(1.23);
  });
});

describe('sequence readers', () => {
  it('reads an OTB sequence written from the generator, frames lazily', async () => {
    const seq = createSyntheticSequence({ seed: 11, width: 96, height: 64, length: 6 });
    const dir = path.join(tmp, 'otb', 'Synth');
    await writeOtbSequence(seq, dir, { imageFormat: 'png' });
    const read = await readOtbSequence(dir);
    expect(read.name).toBe('Synth');
    expect(read.format).toBe('otb');
    expect(read.length).toBe(6);
    expect(read.absent).toBeUndefined();
    expect(read.groundTruth[3]!.x).toBeCloseTo(seq.groundTruth[3]!.x, 2);
    const frame = await read.frame(4);
    expect(frame.format).toBe('rgb');
    expect(frame.width).toBe(96);
    expect(Buffer.from(frame.data).equals(Buffer.from(seq.renderFrame(4).data))).toBe(true); // PNG is lossless
    await expect(read.frame(6)).rejects.toThrow(/frame index 6/);
  });

  it('reads LaSOT sequences with occlusion and out-of-view flags', async () => {
    const dir = path.join(tmp, 'lasot', 'cat', 'cat-1');
    await mkdir(path.join(dir, 'img'), { recursive: true });
    const frame = { data: new Uint8Array(16 * 8 * 3).fill(90), width: 16, height: 8, format: 'rgb' as const };
    for (let i = 1; i <= 4; i++) await writeFile(path.join(dir, 'img', `${String(i).padStart(8, '0')}.jpg`), encodeJpeg(frame));
    await writeFile(path.join(dir, 'groundtruth.txt'), '1,1,5,5\n2,1,5,5\n0,0,0,0\n3,1,5,5\n');
    await writeFile(path.join(dir, 'full_occlusion.txt'), '0,0,1,0');
    await writeFile(path.join(dir, 'out_of_view.txt'), '0,1,0,0');
    const seq = await readLasotSequence(dir);
    expect(seq.absent).toEqual([false, true, true, false]);
    expect((await seq.frame(3)).width).toBe(16);
    // A LaSOT root has categories of sequences.
    const ds = await openDataset(path.join(tmp, 'lasot'));
    expect(ds.sequences.map((s) => [s.name, s.format])).toEqual([['cat-1', 'lasot']]);
  });

  it('reads GOT-10k sequences with absence.label', async () => {
    const dir = path.join(tmp, 'got', 'GOT-10k_Val_000001');
    await mkdir(dir, { recursive: true });
    const frame = { data: new Uint8Array(8 * 8 * 3).fill(10), width: 8, height: 8, format: 'rgb' as const };
    for (let i = 1; i <= 3; i++) await writeFile(path.join(dir, `${String(i).padStart(8, '0')}.jpg`), encodeJpeg(frame));
    await writeFile(path.join(dir, 'groundtruth.txt'), '1,1,4,4\n1,1,4,4\n1,1,4,4\n');
    await writeFile(path.join(dir, 'absence.label'), '0\n0\n1\n');
    const seq = await readGot10kSequence(dir);
    expect(seq.absent).toEqual([false, false, true]);
    expect(seq.framePaths.map((p) => path.basename(p))).toEqual(['00000001.jpg', '00000002.jpg', '00000003.jpg']);
    const ds = await openDataset(path.join(tmp, 'got'), { format: 'got10k' });
    expect(ds.sequences[0]!.name).toBe('GOT-10k_Val_000001');
  });

  describe('malformed inputs name the file and line', () => {
    const makeOtb = async (name: string, truth: string, frames: number[], bad?: number): Promise<string> => {
      const dir = path.join(tmp, 'bad', name);
      await mkdir(path.join(dir, 'img'), { recursive: true });
      const frame = { data: new Uint8Array(8 * 8 * 3).fill(50), width: 8, height: 8, format: 'rgb' as const };
      for (const i of frames) {
        await writeFile(path.join(dir, 'img', `${String(i).padStart(4, '0')}.jpg`), i === bad ? new Uint8Array([1, 2, 3, 4, 5]) : encodeJpeg(frame));
      }
      await writeFile(path.join(dir, 'groundtruth_rect.txt'), truth);
      return dir;
    };

    it('a truth file with fewer lines than frames', async () => {
      const dir = await makeOtb('short', '1,1,3,3\n1,1,3,3\n', [1, 2, 3]);
      await expect(readOtbSequence(dir)).rejects.toThrow(`${path.join(dir, 'groundtruth_rect.txt')}:3: truth has 2 lines but short has 3 frames`);
    });

    it('a non-numeric field', async () => {
      const dir = await makeOtb('nonnum', '1,1,3,3\n1,1,three,3\n', [1, 2]);
      await expect(readOtbSequence(dir)).rejects.toThrow(`${path.join(dir, 'groundtruth_rect.txt')}:2: non-numeric field "three"`);
    });

    it('a missing frame', async () => {
      const dir = await makeOtb('gap', '1,1,3,3\n1,1,3,3\n1,1,3,3\n', [1, 3, 4]);
      await expect(readOtbSequence(dir)).rejects.toThrow(`${path.join(dir, 'img', '0002.jpg')}: missing frame`);
      await writeFile(path.join(dir, 'img', '0002.jpg'), await readFile(path.join(dir, 'img', '0001.jpg')));
      await writeFile(path.join(dir, 'img', '0003.png'), encodePng({ data: new Uint8Array(12), width: 2, height: 2, format: 'rgb' }));
      await expect(readOtbSequence(dir)).rejects.toThrow(/two frames numbered 3 \(0003\.jpg and 0003\.png\)/);
      const lasot = path.join(tmp, 'bad', 'lasot-gap');
      await mkdir(path.join(lasot, 'img'), { recursive: true });
      await writeFile(path.join(lasot, 'groundtruth.txt'), '1,1,3,3\n1,1,3,3\n');
      await writeFile(path.join(lasot, 'img', '00000001.jpg'), encodeJpeg({ data: new Uint8Array(12), width: 2, height: 2, format: 'rgb' }));
      await expect(readLasotSequence(lasot)).rejects.toThrow(/00000002\.jpg: missing frame 2 \(annotated on line 2 of .*groundtruth\.txt\)/);
    });

    it('an unreadable image', async () => {
      const dir = await makeOtb('corrupt', '1,1,3,3\n1,1,3,3\n', [1, 2], 2);
      const seq = await readOtbSequence(dir);
      await expect(seq.frame(1)).rejects.toThrow(`${path.join(dir, 'img', '0002.jpg')}: not a JPEG or PNG image`);
      const truncated = path.join(dir, 'img', '0001.jpg');
      const bytes = await readFile(truncated);
      await writeFile(truncated, bytes.subarray(0, 40));
      await expect(seq.frame(0)).rejects.toThrow(/0001\.jpg: corrupt JPEG image/);
    });

    it('a flag file of the wrong length', async () => {
      const dir = path.join(tmp, 'bad', 'flags');
      await mkdir(path.join(dir, 'img'), { recursive: true });
      await writeFile(path.join(dir, 'img', '00000001.jpg'), encodeJpeg({ data: new Uint8Array(12), width: 2, height: 2, format: 'rgb' }));
      await writeFile(path.join(dir, 'groundtruth.txt'), '1,1,1,1\n');
      await writeFile(path.join(dir, 'full_occlusion.txt'), '0,0');
      await expect(readLasotSequence(dir)).rejects.toThrow(/full_occlusion\.txt:1: has 2 flags for 1 frames/);
    });
  });

  it('reads OTB multi-target folders as one sequence per truth file', async () => {
    const dir = path.join(tmp, 'multi', 'Jogging');
    await mkdir(path.join(dir, 'img'), { recursive: true });
    await writeFile(path.join(dir, 'img', '0001.png'), encodePng({ data: new Uint8Array(12), width: 2, height: 2, format: 'rgb' }));
    await writeFile(path.join(dir, 'groundtruth_rect.1.txt'), '0\t0\t1\t1\n');
    await writeFile(path.join(dir, 'groundtruth_rect.2.txt'), '1 1 1 1\n');
    const ds = await openDataset(path.join(tmp, 'multi'));
    expect(ds.sequences.map((s) => s.name)).toEqual(['Jogging-1', 'Jogging-2']);
  });
});

const sharedData = path.resolve(import.meta.dirname, '../../../../shared/data/sequences');
describe.skipIf(!existsSync(sharedData))('real sequences in ../shared/data', () => {
  it('reads Crossing (tab-separated) and ball1 (comma-separated)', async () => {
    const ds = await openDataset(sharedData);
    const byName = new Map(ds.sequences.map((s) => [s.name, s]));
    const crossing = byName.get('Crossing')!;
    expect(crossing.length).toBe(120);
    expect(crossing.groundTruth[0]).toEqual({ x: 205, y: 151, width: 17, height: 50 });
    const f = await crossing.frame(119);
    expect([f.width, f.height]).toEqual([360, 240]);
    const ball = byName.get('ball1')!;
    expect(ball.length).toBe(105);
    expect((await ball.frame(0)).width).toBe(1280);
  });
});
if (!existsSync(sharedData)) console.warn(`skipping real-sequence tests: ${sharedData} is absent`);
