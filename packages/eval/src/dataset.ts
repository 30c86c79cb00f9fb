import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type Box, type ImageFrame } from '@dytrack/core';
import { DatasetFormatError, parseBoxFile, parseFlagFile } from './box-file.js';
import { readDatasetImage } from './dataset-image.js';

/** Dataset layouts the readers understand. */
export type DatasetFormat = 'otb' | 'lasot' | 'got10k';

/**
 * One annotated video. Frames are decoded only when asked for, so a long
 * sequence is never held in memory whole.
 */
export interface Sequence {
  /** Sequence name (unique within its dataset). */
  readonly name: string;
  /** Number of frames. */
  readonly length: number;
  /** One truth box per frame (may hold invalid boxes: zero size or NaN). */
  readonly groundTruth: readonly Box[];
  /** Per-frame absence (LaSOT occlusion/out of view, GOT-10k absence); undefined when the layout has none. */
  readonly absent: readonly boolean[] | undefined;
  /** Decodes frame `index` (0-based) as an RGB {@link ImageFrame}. */
  frame(index: number): Promise<ImageFrame>;
}

/** A {@link Sequence} stored on disk, with where its frames live. */
export interface FileSequence extends Sequence {
  /** Layout the sequence was read as. */
  readonly format: DatasetFormat;
  /** The sequence's directory. */
  readonly dir: string;
  /** Path of each frame's image file. */
  readonly framePaths: readonly string[];
  /** Path of the truth file. */
  readonly truthPath: string;
}

/** A directory of sequences. */
export interface Dataset {
  /** The directory it was read from. */
  readonly root: string;
  /** The sequences, sorted by name. */
  readonly sequences: readonly FileSequence[];
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new DatasetFormatError(file, undefined, `cannot read: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Lists the numbered frames of a directory, sorted by number, and checks they
 * are consecutive (a gap is reported as the missing file).
 */
async function listFrames(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => IMAGE_EXT.test(n));
  } catch (cause) {
    throw new DatasetFormatError(dir, undefined, `cannot list frames: ${(cause as Error).message}`, { cause });
  }
  if (names.length === 0) throw new DatasetFormatError(dir, undefined, 'no JPEG or PNG frames');
  const numbered = names.map((n) => ({ n, k: Number(/^(\d+)\./.exec(n)?.[1] ?? Number.NaN) }));
  if (numbered.every((e) => Number.isInteger(e.k))) {
    numbered.sort((a, b) => a.k - b.k);
    for (let i = 1; i < numbered.length; i++) {
      const prev = numbered[i - 1]!;
      if (numbered[i]!.k === prev.k) {
        throw new DatasetFormatError(path.join(dir, numbered[i]!.n), undefined, `two frames numbered ${prev.k} (${prev.n} and ${numbered[i]!.n})`);
      }
      if (numbered[i]!.k !== prev.k + 1) {
        const digits = /^(\d+)/.exec(prev.n)![1]!.length;
        const missing = String(prev.k + 1).padStart(digits, '0') + path.extname(prev.n);
        throw new DatasetFormatError(path.join(dir, missing), undefined, 'missing frame (frame numbers must be consecutive)');
      }
    }
  } else {
    numbered.sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  }
  return numbered.map((e) => path.join(dir, e.n));
}

function makeSequence(init: Omit<FileSequence, 'frame' | 'length'>): FileSequence {
  const { framePaths, truthPath, groundTruth, absent, name } = init;
  if (groundTruth.length < framePaths.length) {
    throw new DatasetFormatError(
      truthPath,
      groundTruth.length + 1,
      `truth has ${groundTruth.length} lines but ${name} has ${framePaths.length} frames (line ${groundTruth.length + 1} is missing)`,
    );
  }
  if (groundTruth.length > framePaths.length) {
    throw new DatasetFormatError(
      truthPath,
      framePaths.length + 1,
      `truth has ${groundTruth.length} lines but only ${framePaths.length} frames were found; the frame for line ${framePaths.length + 1} (${framePaths.length + 1}th frame) is missing`,
    );
  }
  if (absent !== undefined && absent.length !== framePaths.length) {
    throw new DatasetFormatError(init.dir, undefined, `absence flags cover ${absent.length} frames but ${name} has ${framePaths.length}`);
  }
  return {
    ...init,
    length: framePaths.length,
    frame(index: number): Promise<ImageFrame> {
      if (!Number.isInteger(index) || index < 0 || index >= framePaths.length) {
        return Promise.reject(new InvalidArgumentError(`${name}: frame index ${index} outside 0..${framePaths.length - 1}`));
      }
      return readDatasetImage(framePaths[index]!);
    },
  };
}

/**
 * Reads one sequence in the OTB layout: `img/` frames and `groundtruth_rect.txt`
 * (separators: comma, tab or space). `truthFile` picks another truth file
 * (OTB's `groundtruth_rect.2.txt` for a second target).
 */
export async function readOtbSequence(dir: string, options: { name?: string; truthFile?: string } = {}): Promise<FileSequence> {
  const truthPath = path.join(dir, options.truthFile ?? 'groundtruth_rect.txt');
  const groundTruth = parseBoxFile(await readText(truthPath), truthPath, { allowNaN: true });
  const framePaths = await listFrames(path.join(dir, 'img'));
  return makeSequence({ format: 'otb', name: options.name ?? path.basename(dir), dir, framePaths, truthPath, groundTruth, absent: undefined });
}

/**
 * Reads one LaSOT sequence: `img/%08d.jpg`, `groundtruth.txt`,
 * `full_occlusion.txt` and `out_of_view.txt`. A frame is absent when either flag
 * is set (missing flag files mean no absence).
 */
export async function readLasotSequence(dir: string, options: { name?: string } = {}): Promise<FileSequence> {
  const truthPath = path.join(dir, 'groundtruth.txt');
  const groundTruth = parseBoxFile(await readText(truthPath), truthPath, { allowNaN: true });
  const framePaths: string[] = [];
  for (let i = 1; i <= groundTruth.length; i++) framePaths.push(path.join(dir, 'img', `${String(i).padStart(8, '0')}.jpg`));
  await assertFramesExist(framePaths, truthPath);
  const occlusion = await readFlagsIfPresent(path.join(dir, 'full_occlusion.txt'));
  const outOfView = await readFlagsIfPresent(path.join(dir, 'out_of_view.txt'));
  let absent: boolean[] | undefined;
  if (occlusion !== undefined || outOfView !== undefined) {
    absent = groundTruth.map((_, i) => occlusion?.[i] === true || outOfView?.[i] === true);
    for (const [flags, file] of [[occlusion, 'full_occlusion.txt'], [outOfView, 'out_of_view.txt']] as const) {
      if (flags !== undefined && flags.length !== groundTruth.length) {
        throw new DatasetFormatError(path.join(dir, file), 1, `has ${flags.length} flags for ${groundTruth.length} frames`);
      }
    }
  }
  return makeSequence({ format: 'lasot', name: options.name ?? path.basename(dir), dir, framePaths, truthPath, groundTruth, absent });
}

/**
 * Reads one GOT-10k sequence: numbered frames (`%08d.jpg`) beside
 * `groundtruth.txt`, and `absence.label` (one 0/1 per line) when present.
 */
export async function readGot10kSequence(dir: string, options: { name?: string } = {}): Promise<FileSequence> {
  const truthPath = path.join(dir, 'groundtruth.txt');
  const groundTruth = parseBoxFile(await readText(truthPath), truthPath, { allowNaN: true });
  const framePaths = await listFrames(dir);
  const absence = await readFlagsIfPresent(path.join(dir, 'absence.label'));
  if (absence !== undefined && absence.length !== groundTruth.length) {
    throw new DatasetFormatError(path.join(dir, 'absence.label'), Math.min(absence.length, groundTruth.length) + 1, `has ${absence.length} flags for ${groundTruth.length} truth lines`);
  }
  return makeSequence({ format: 'got10k', name: options.name ?? path.basename(dir), dir, framePaths, truthPath, groundTruth, absent: absence });
}

async function assertFramesExist(framePaths: readonly string[], truthPath: string): Promise<void> {
  const checks = await Promise.all(framePaths.map((p) => exists(p)));
  const missing = checks.indexOf(false);
  if (missing >= 0) {
    throw new DatasetFormatError(framePaths[missing]!, undefined, `missing frame ${missing + 1} (annotated on line ${missing + 1} of ${truthPath})`);
  }
}

async function readFlagsIfPresent(file: string): Promise<boolean[] | undefined> {
  if (!(await exists(file))) return undefined;
  return parseFlagFile(await readText(file), file);
}

/** The layout of a sequence directory, or undefined when it is not one. */
export async function detectSequenceFormat(dir: string): Promise<DatasetFormat | undefined> {
  if (await exists(path.join(dir, 'groundtruth_rect.txt'))) return 'otb';
  const names = await readdir(dir).catch(() => [] as string[]);
  if (names.some((n) => /^groundtruth_rect\.\d+\.txt$/.test(n))) return 'otb';
  if (!names.includes('groundtruth.txt')) return undefined;
  if (names.includes('full_occlusion.txt') || names.includes('out_of_view.txt')) return 'lasot';
  if (names.includes('absence.label') || names.some((n) => IMAGE_EXT.test(n))) return 'got10k';
  if (await isDir(path.join(dir, 'img'))) return 'lasot';
  return undefined;
}

/** Reads the sequence(s) in `dir` in a given layout (OTB multi-target folders give one sequence per target). */
async function readSequencesIn(dir: string, format: DatasetFormat, name: string): Promise<FileSequence[]> {
  if (format === 'lasot') return [await readLasotSequence(dir, { name })];
  if (format === 'got10k') return [await readGot10kSequence(dir, { name })];
  if (await exists(path.join(dir, 'groundtruth_rect.txt'))) return [await readOtbSequence(dir, { name })];
  const extra = (await readdir(dir)).filter((n) => /^groundtruth_rect\.\d+\.txt$/.test(n)).sort();
  if (extra.length === 0) throw new DatasetFormatError(path.join(dir, 'groundtruth_rect.txt'), undefined, 'no truth file');
  return Promise.all(extra.map((f) => readOtbSequence(dir, { name: `${name}-${/\.(\d+)\.txt$/.exec(f)![1]}`, truthFile: f })));
}

/** Options of {@link openDataset}. */
export interface OpenDatasetOptions {
  /** Force a layout instead of detecting it per sequence. */
  readonly format?: DatasetFormat;
  /** Keep only these sequence names. */
  readonly sequences?: readonly string[];
}

/**
 * Opens a dataset root: a single sequence directory, a directory of sequences,
 * or (LaSOT) a directory of categories of sequences. Truth files are read now;
 * frames are decoded later, one at a time.
 */
export async function openDataset(root: string, options: OpenDatasetOptions = {}): Promise<Dataset> {
  if (!(await isDir(root))) throw new DatasetFormatError(root, undefined, 'dataset directory does not exist');
  const found: FileSequence[] = [];
  const visit = async (dir: string, name: string, depth: number): Promise<void> => {
    const detected = await detectSequenceFormat(dir);
    if (detected !== undefined) {
      found.push(...(await readSequencesIn(dir, options.format ?? detected, name)));
      return;
    }
    if (depth >= 2) return;
    const children = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    for (const child of children) await visit(path.join(dir, child), child, depth + 1);
  };
  await visit(root, path.basename(path.resolve(root)), 0);
  let sequences = found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (options.sequences !== undefined) {
    const wanted = new Set(options.sequences);
    for (const w of wanted) if (!sequences.some((s) => s.name === w)) throw new InvalidArgumentError(`sequence ${JSON.stringify(w)} not found in ${root}`);
    sequences = sequences.filter((s) => wanted.has(s.name));
  }
  if (sequences.length === 0) throw new DatasetFormatError(root, undefined, 'no sequences found (expected OTB, LaSOT or GOT-10k layout)');
  return { root, sequences };
}
