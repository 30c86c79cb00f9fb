import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from '@dytrack/core';
import { formatBoxFile } from './box-file.js';
import type { Sequence } from './dataset.js';
import { encodeJpeg, encodePng } from '@dytrack/image';
import { createSyntheticSequence, type SyntheticSequenceOptions } from './generator.js';

/** Options of {@link writeOtbSequence}. */
export interface WriteSequenceOptions {
  /** Frame file format (default `'jpg'`, quality 90, as OTB ships). */
  readonly imageFormat?: 'jpg' | 'png';
  /** JPEG quality 1-100 (default 90). */
  readonly quality?: number;
}

/**
 * Writes any sequence in the OTB layout: `dir/img/0001.jpg` ... and
 * `dir/groundtruth_rect.txt` (comma-separated `x,y,w,h`). Frames are decoded
 * and written one at a time.
 */
export async function writeOtbSequence(sequence: Sequence, dir: string, options: WriteSequenceOptions = {}): Promise<void> {
  const ext = options.imageFormat ?? 'jpg';
  if (ext !== 'jpg' && ext !== 'png') throw new InvalidArgumentError(`imageFormat must be jpg or png, got ${String(ext)}`);
  await mkdir(path.join(dir, 'img'), { recursive: true });
  const digits = Math.max(4, String(sequence.length).length);
  for (let i = 0; i < sequence.length; i++) {
    const frame = await sequence.frame(i);
    const bytes = ext === 'jpg' ? encodeJpeg(frame, options.quality ?? 90) : encodePng(frame);
    await writeFile(path.join(dir, 'img', `${String(i + 1).padStart(digits, '0')}.${ext}`), bytes);
  }
  await writeFile(path.join(dir, 'groundtruth_rect.txt'), formatBoxFile(sequence.groundTruth));
}

/** Options of {@link writeSyntheticDataset}. */
export interface SyntheticDatasetOptions extends Omit<SyntheticSequenceOptions, 'seed'>, WriteSequenceOptions {
  /** Number of sequences. */
  readonly count: number;
  /** Seed of the first sequence; sequence k uses `firstSeed + k`. */
  readonly firstSeed: number;
}

/**
 * Generates `count` procedural sequences and writes them under `root` in the
 * OTB layout (`root/synthetic-SEED/...`). Frames are PNG unless
 * `imageFormat: 'jpg'` is asked for: lossless, so the files hold exactly the
 * in-memory frames, and much faster to write (jpeg-js builds its tables on
 * every call). Returns the sequence directories.
 */
export async function writeSyntheticDataset(root: string, options: SyntheticDatasetOptions): Promise<string[]> {
  const { count, firstSeed, imageFormat = 'png', quality, ...seqOptions } = options;
  if (!Number.isInteger(count) || count < 1) throw new InvalidArgumentError(`count must be a positive integer, got ${String(count)}`);
  const dirs: string[] = [];
  for (let k = 0; k < count; k++) {
    const seq = createSyntheticSequence({ ...seqOptions, seed: firstSeed + k });
    const dir = path.join(root, seq.name);
    await writeOtbSequence(seq, dir, { imageFormat, ...(quality === undefined ? {} : { quality }) });
    dirs.push(dir);
  }
  return dirs;
}
