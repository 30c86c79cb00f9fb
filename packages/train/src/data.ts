import { InvalidArgumentError, type Box, type ImageFrame } from '@dytrack/core';
import { gaussianHeatmap, boxTarget, tokenMask } from '@dytrack/distill';
import { createRng, createSyntheticSequence, findSystemAssets, openDataset, type AssetLibrary, type DatasetFormat, type Rng, type Sequence, type SyntheticSequence } from '@dytrack/eval';
import { modelGeometry, type ModelConfig } from '@dytrack/model';
import { createCropper, normalizeToNCHW, type Cropper } from '@dytrack/tensor';
import {
  augmentCrop,
  DEFAULT_AUGMENTATION,
  DEFAULT_SEARCH_JITTER,
  DEFAULT_TEMPLATE_JITTER,
  drawAugmentation,
  flipBox,
  jitterBox,
  type AugmentationOptions,
  type BoxJitter,
} from './augment.js';

/**
 * Seeds of the procedural sequences training draws from are below this bound;
 * held-out evaluation uses seeds at or above {@link HELD_OUT_SEED_BASE}
 * (`dytrack eval --synthetic` starts at the same base), so no evaluation
 * sequence is ever seen in training.
 */
export const TRAINING_SEED_LIMIT = 800_000_000;

/** First seed of held-out procedural evaluation sequences (never used in training). */
export const HELD_OUT_SEED_BASE = 900_000_000;

/** Where training pairs come from. */
export type DataSourceSpec =
  | {
      /** Procedural sequences from `@dytrack/eval`'s generator. */
      readonly kind: 'synthetic';
      /** Relative sampling weight (default 1). */
      readonly weight?: number;
      /** Distinct sequences to draw from (default 100000; seeds below {@link TRAINING_SEED_LIMIT}). */
      readonly sequences?: number;
      /** Frame width (default 320). */
      readonly width?: number;
      /** Frame height (default 240). */
      readonly height?: number;
      /** Frames per sequence (default 100). */
      readonly length?: number;
      /**
       * Use photographs and clip art (any JPEG/PNG under `/usr/share/backgrounds`, Debian's
       * `openclipart-png`) for half of the sequences when installed, either kind alone
       * (default true).
       */
      readonly systemAssets?: boolean;
    }
  | {
      /** A dataset directory in the OTB, LaSOT or GOT-10k layout. */
      readonly kind: 'dataset';
      /** The dataset directory. */
      readonly root: string;
      /** Force a layout (default: detected per sequence). */
      readonly format?: DatasetFormat;
      /** Relative sampling weight (default 1). */
      readonly weight?: number;
    };

/**
 * Parses `--data`: comma-separated sources, each `synthetic` (optionally
 * `synthetic:N` for N distinct sequences; `procedural`, `procedural:N` for the same
 * without installed photographs and clip art) or a dataset directory (optionally
 * `otb:DIR`, `lasot:DIR`, `got10k:DIR`); `*W` after a source sets its weight
 * (`synthetic*3,/data/got10k`).
 */
export function parseDataSources(spec: string): DataSourceSpec[] {
  const parts = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new InvalidArgumentError('data: no sources given');
  return parts.map((part): DataSourceSpec => {
    let body = part;
    let weight: number | undefined;
    const star = part.lastIndexOf('*');
    if (star > 0) {
      weight = Number(part.slice(star + 1));
      if (!(weight > 0) || !Number.isFinite(weight)) throw new InvalidArgumentError(`data: bad weight in "${part}"`);
      body = part.slice(0, star);
    }
    const w = weight === undefined ? {} : { weight };
    // `procedural` is `synthetic` that never uses installed photographs or clip art.
    const syn = /^(synthetic|procedural)(?::(\d+))?$/.exec(body);
    if (syn) {
      const assets = syn[1] === 'procedural' ? { systemAssets: false } : {};
      if (syn[2] === undefined) return { kind: 'synthetic', ...assets, ...w };
      const n = Number(syn[2]);
      if (n < 1 || n > TRAINING_SEED_LIMIT) throw new InvalidArgumentError(`data: synthetic sequence count must be in 1..${TRAINING_SEED_LIMIT}, got ${n}`);
      return { kind: 'synthetic', sequences: n, ...assets, ...w };
    }
    const fmt = /^(otb|lasot|got10k):(.+)$/.exec(body);
    if (fmt) return { kind: 'dataset', root: fmt[2]!, format: fmt[1] as DatasetFormat, ...w };
    return { kind: 'dataset', root: body, ...w };
  });
}

/** Settings of a {@link PairSampler}: everything that decides the batches (it is serialisable). */
export interface SamplerOptions {
  /** The architecture (crop sizes, context factors, normalisation, map size). */
  readonly model: ModelConfig;
  /** Where pairs come from. */
  readonly sources: readonly DataSourceSpec[];
  /** Run seed: batch `b` is a pure function of `(seed, b)`. */
  readonly seed: number;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Largest frame gap between template and search frame (default 100, OSTrack's is 200 at 30 fps). */
  readonly maxGap?: number;
  /** Jitter of the search crop (default {@link DEFAULT_SEARCH_JITTER}). */
  readonly searchJitter?: BoxJitter;
  /** Jitter of the template crop (default {@link DEFAULT_TEMPLATE_JITTER}). */
  readonly templateJitter?: BoxJitter;
  /** Photometric and flip augmentation (default {@link DEFAULT_AUGMENTATION}). */
  readonly augmentation?: AugmentationOptions;
  /** Background weight of the token mask (default `@dytrack/distill`'s). */
  readonly maskBackgroundWeight?: number;
  /**
   * Consecutive samples of a batch that share one sequence (default 1: every sample draws
   * its own). Building a procedural sequence (textures, sprites) is about half of the batch
   * loader's time, and nearly every draw from 100 000 sequences builds a new one; 2 or 4
   * cut that, at some loss of variety within a batch. Each sample still draws its own
   * frames, jitter and augmentation. 1 keeps the batches of earlier runs bit for bit.
   */
  readonly pairsPerSequence?: number;
  /**
   * Skip pairs whose template or search frame shows less than this fraction of the target
   * (default 0: keep every pair). The procedural generator's truth box stays on a target
   * hidden behind the occluder or a distractor passing in front (about 10% of its frames
   * show less than half of it): such a pair labels the occluder as the target, teaching the
   * model to follow whatever covers it. Only sources that know visibility (procedural
   * sequences) are filtered; datasets' absent frames are always skipped.
   */
  readonly minVisibility?: number;
  /**
   * Probability (0 to 1) that a sample's template is its sequence's first frame, as it always
   * is in tracking (default 0: the template frame is drawn uniformly, OSTrack's recipe). The
   * procedural generator starts every object in the middle of the frame, so its first frames
   * are where look-alikes touch the target; a tracker that never trained on such a template
   * loses the target within a few frames (4 of 32 held-out sequences did).
   */
  readonly firstFrameTemplates?: number;
  /**
   * Probability (0 to 1) that a sample's search frame is one on which the target is hidden
   * (less than {@link HIDDEN_VISIBILITY} of it visible, behind the occluder or a distractor
   * passing in front), labelled as a negative: an all-zero heat map, so the score map learns
   * to stay low where the target cannot be seen and the tracker reports it lost (keeping its
   * last box) instead of following whatever covers it (default 0). The box and token mask
   * keep the hidden target's box. Only sources that know visibility (procedural sequences)
   * have such frames; elsewhere, and in sequences without a hidden frame near the template,
   * the sample is an ordinary pair.
   */
  readonly hiddenNegatives?: number;
}

/** Visibility below which {@link SamplerOptions.hiddenNegatives} treats the target as hidden. */
export const HIDDEN_VISIBILITY = 0.25;

/** One batch: the step graph's data inputs, filled in place (see `BATCH_INPUTS`). */
export interface BatchBuffers {
  /** `[B, 3, t, t]` normalised template crops. */
  readonly templateImage: Float32Array;
  /** `[B, 3, s, s]` normalised search crops. */
  readonly searchImage: Float32Array;
  /** `[B, 1, n, n]` Gaussian heat maps. */
  readonly heatmap: Float32Array;
  /** `[B, 4]` boxes `(cx, cy, w, h)` in fractions of the search crop. */
  readonly boxes: Float32Array;
  /** `[B, n·n]` token weights of the feature loss. */
  readonly tokenMask: Float32Array;
}

/** Allocates {@link BatchBuffers} for `config` and `batchSize`. */
export function allocateBatch(config: ModelConfig, batchSize: number): BatchBuffers {
  const n = modelGeometry(config).mapSize;
  return {
    templateImage: new Float32Array(batchSize * 3 * config.templateSize * config.templateSize),
    searchImage: new Float32Array(batchSize * 3 * config.searchSize * config.searchSize),
    heatmap: new Float32Array(batchSize * n * n),
    boxes: new Float32Array(batchSize * 4),
    tokenMask: new Float32Array(batchSize * n * n),
  };
}

/** Mixes a run seed, a batch index and a sample index into one 32-bit seed (splitmix-style). */
export function sampleSeed(seed: number, batch: number, sample: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(batch + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(sample + 0x7f4a7c15, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

interface OpenSource {
  readonly weight: number;
  readonly size: number;
  /** The sequence numbered `index` in `[0, size)`. */
  sequence(index: number): Sequence;
}

const SYNTHETIC_CACHE = 64;

function openSynthetic(spec: Extract<DataSourceSpec, { kind: 'synthetic' }>): OpenSource {
  const count = spec.sequences ?? 100_000;
  const assets: AssetLibrary | undefined = spec.systemAssets === false ? undefined : findSystemAssets();
  // A small cache: a sequence's trajectories and textures are built once and reused by later
  // samples that draw it. It changes speed only, never the data.
  const cache = new Map<number, SyntheticSequence>();
  return {
    weight: spec.weight ?? 1,
    size: count,
    sequence(index) {
      const hit = cache.get(index);
      if (hit) return hit;
      // Spread the indices over the training seed range; every index is a distinct seed.
      const seed = Math.floor((index * TRAINING_SEED_LIMIT) / count);
      const seq = createSyntheticSequence({
        seed,
        width: spec.width ?? 320,
        height: spec.height ?? 240,
        length: spec.length ?? 100,
        ...(assets && index % 2 === 1 ? { assets } : {}),
      });
      if (cache.size >= SYNTHETIC_CACHE) cache.delete(cache.keys().next().value!);
      cache.set(index, seq);
      return seq;
    },
  };
}

async function openSource(spec: DataSourceSpec): Promise<OpenSource> {
  if (spec.weight !== undefined && !(spec.weight > 0)) throw new InvalidArgumentError(`data source weight must be positive, got ${spec.weight}`);
  if (spec.kind === 'synthetic') return openSynthetic(spec);
  const dataset = await openDataset(spec.root, spec.format ? { format: spec.format } : {});
  return { weight: spec.weight ?? 1, size: dataset.sequences.length, sequence: (i) => dataset.sequences[i]! };
}

/**
 * Whether frames `t` and `s` of `seq` both show at least `min` of the target, for
 * sequences that report it (`SyntheticSequence.visibility`); true for any other.
 */
export function pairVisible(seq: Sequence, t: number, s: number, min: number): boolean {
  const visibility = (seq as Partial<SyntheticSequence>).visibility;
  if (typeof visibility !== 'function') return true;
  return visibility(t) >= min && visibility(s) >= min;
}

/**
 * A frame within `maxGap` of `t` on which `seq` shows less than {@link HIDDEN_VISIBILITY} of
 * the target, drawn uniformly, or -1 when there is none (or `seq` does not report visibility).
 */
export function hiddenFrameNear(seq: Sequence, t: number, maxGap: number, rng: Rng): number {
  const visibility = (seq as Partial<SyntheticSequence>).visibility;
  if (typeof visibility !== 'function') return -1;
  const lo = Math.max(0, t - maxGap);
  const hi = Math.min(seq.length - 1, t + maxGap);
  let count = 0;
  for (let f = lo; f <= hi; f++) if (visibility(f) < HIDDEN_VISIBILITY) count++;
  if (count === 0) return -1;
  let k = rng.int(0, count - 1);
  for (let f = lo; f <= hi; f++) if (visibility(f) < HIDDEN_VISIBILITY && k-- === 0) return f;
  return -1;
}

function validBox(b: Box | undefined): b is Box {
  return b !== undefined && b.width > 1 && b.height > 1 && Number.isFinite(b.x) && Number.isFinite(b.y);
}

/**
 * Samples training pairs (OSTrack's recipe) and writes whole batches: per sample, a
 * source by weight, a sequence, a template frame and a search frame at most
 * `maxGap` apart with the target present in both; the template crop (context 2,
 * slight jitter) and the search crop (context 4, centre jitter 3, scale jitter
 * 0.25) are cut with `@dytrack/tensor`'s exact cropper; grey, colour, blur and a
 * joint horizontal flip follow; then normalisation and the targets (Gaussian
 * heat map, box, token mask) of `@dytrack/distill`. A sample whose target centre
 * falls outside the search crop is redrawn. Batch `b` depends only on
 * `(seed, b)`, so a resumed run sees the same data as an uninterrupted one.
 */
export class PairSampler {
  private readonly options: SamplerOptions;
  private readonly sources: readonly OpenSource[];
  private readonly totalWeight: number;
  private readonly templateCropper: Cropper;
  private readonly searchCropper: Cropper;
  private readonly templateRgb: Uint8Array;
  private readonly searchRgb: Uint8Array;
  private readonly scratch: Uint8Array;
  private readonly mapSize: number;

  private constructor(options: SamplerOptions, sources: OpenSource[]) {
    this.options = options;
    this.sources = sources;
    this.totalWeight = sources.reduce((s, x) => s + x.weight, 0);
    const c = options.model;
    this.templateCropper = createCropper(c.templateSize);
    this.searchCropper = createCropper(c.searchSize);
    this.templateRgb = new Uint8Array(c.templateSize * c.templateSize * 3);
    this.searchRgb = new Uint8Array(c.searchSize * c.searchSize * 3);
    this.scratch = new Uint8Array(Math.max(c.templateSize, c.searchSize) ** 2 * 3);
    this.mapSize = modelGeometry(c).mapSize;
  }

  /** Opens the sources (dataset truth files are read now, frames later). */
  static async create(options: SamplerOptions): Promise<PairSampler> {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new InvalidArgumentError(`batchSize must be a positive integer, got ${options.batchSize}`);
    if (!Number.isInteger(options.seed)) throw new InvalidArgumentError(`seed must be an integer, got ${options.seed}`);
    if (options.pairsPerSequence !== undefined && (!Number.isInteger(options.pairsPerSequence) || options.pairsPerSequence < 1)) {
      throw new InvalidArgumentError(`pairsPerSequence must be a positive integer, got ${options.pairsPerSequence}`);
    }
    if (options.minVisibility !== undefined && !(options.minVisibility >= 0 && options.minVisibility <= 1)) {
      throw new InvalidArgumentError(`minVisibility must be a number in [0, 1], got ${options.minVisibility}`);
    }
    for (const key of ['firstFrameTemplates', 'hiddenNegatives'] as const) {
      const v = options[key];
      if (v !== undefined && !(v >= 0 && v <= 1)) throw new InvalidArgumentError(`${key} must be a probability in [0, 1], got ${v}`);
    }
    if (options.sources.length === 0) throw new InvalidArgumentError('no data sources');
    const sources: OpenSource[] = [];
    for (const s of options.sources) sources.push(await openSource(s));
    return new PairSampler(options, sources);
  }

  /** Samples per batch. */
  get batchSize(): number {
    return this.options.batchSize;
  }

  /** Fills `out` with batch number `batch`. */
  async fillBatch(batch: number, out: BatchBuffers): Promise<void> {
    for (let i = 0; i < this.options.batchSize; i++) await this.fillSample(batch, i, out);
  }

  private pickSource(rng: Rng): OpenSource {
    let r = rng.next() * this.totalWeight;
    for (const s of this.sources) {
      r -= s.weight;
      if (r < 0) return s;
    }
    return this.sources[this.sources.length - 1]!;
  }

  private async fillSample(batch: number, i: number, out: BatchBuffers): Promise<void> {
    const o = this.options;
    const c = o.model;
    const rng = createRng(sampleSeed(o.seed, batch, i));
    const maxGap = o.maxGap ?? 100;
    const share = o.pairsPerSequence ?? 1;
    const minVisibility = o.minVisibility ?? 0;
    const firstFrame = o.firstFrameTemplates ?? 0;
    const hidden = o.hiddenNegatives ?? 0;
    // Samples i and j share a sequence when i/share and j/share agree: drawn from a group
    // seed (negative sample ids never collide with the per-sample seeds).
    const group = share > 1 ? createRng(sampleSeed(o.seed, batch, -1 - Math.floor(i / share))) : undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      // The first attempt takes the group's sequence; a pair found invalid there redraws alone.
      const pick = group && attempt === 0 ? group : rng;
      const source = this.pickSource(pick);
      const seq = source.sequence(pick.int(0, source.size - 1));
      if (seq.length < 1) continue;
      // Extra draws only when the options are on, so batches of earlier runs stay bit for bit.
      const t = firstFrame > 0 && rng.next() < firstFrame ? 0 : rng.int(0, seq.length - 1);
      const hiddenS = hidden > 0 && rng.next() < hidden ? hiddenFrameNear(seq, t, maxGap, rng) : -1;
      const negative = hiddenS >= 0;
      const s = negative ? hiddenS : rng.int(Math.max(0, t - maxGap), Math.min(seq.length - 1, t + maxGap));
      const tBox = seq.groundTruth[t];
      const sBox = seq.groundTruth[s];
      if (!validBox(tBox) || !validBox(sBox) || seq.absent?.[t] || seq.absent?.[s]) continue;
      if (minVisibility > 0 && !pairVisible(seq, t, negative ? t : s, minVisibility)) continue;
      const templateFrame = await this.frame(seq, t);
      const tJitter = jitterBox(tBox, o.templateJitter ?? DEFAULT_TEMPLATE_JITTER, rng);
      this.templateCropper.cropAndResize(templateFrame, tJitter, c.templateContextFactor, this.templateRgb);
      const searchFrame = s === t ? templateFrame : await this.frame(seq, s);
      const sJitter = jitterBox(sBox, o.searchJitter ?? DEFAULT_SEARCH_JITTER, rng);
      const win = this.searchCropper.cropAndResize(searchFrame, sJitter, c.searchContextFactor, this.searchRgb).window;
      const S = c.searchSize;
      let box: Box = { x: (sBox.x - win.x1) * win.resizeFactor, y: (sBox.y - win.y1) * win.resizeFactor, width: sBox.width * win.resizeFactor, height: sBox.height * win.resizeFactor };
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      if (!(cx >= 0 && cx < S && cy >= 0 && cy < S) || box.width < 1 || box.height < 1) continue;
      const aug = drawAugmentation(o.augmentation ?? DEFAULT_AUGMENTATION, rng);
      augmentCrop(this.templateRgb, c.templateSize, aug, aug.blurTemplate, this.scratch);
      augmentCrop(this.searchRgb, S, aug, aug.blurSearch, this.scratch);
      if (aug.flip) box = flipBox(box, S);
      const T3 = 3 * c.templateSize * c.templateSize;
      const S3 = 3 * S * S;
      const nn = this.mapSize * this.mapSize;
      normalizeToNCHW(this.templateRgb, c.templateSize, c.normalization, out.templateImage.subarray(i * T3, (i + 1) * T3));
      normalizeToNCHW(this.searchRgb, S, c.normalization, out.searchImage.subarray(i * S3, (i + 1) * S3));
      if (negative) out.heatmap.fill(0, i * nn, (i + 1) * nn);
      else gaussianHeatmap(box, S, this.mapSize, out.heatmap, i * nn);
      boxTarget(box, S, out.boxes, i * 4);
      tokenMask(box, S, this.mapSize, o.maskBackgroundWeight === undefined ? {} : { backgroundWeight: o.maskBackgroundWeight }, out.tokenMask, i * nn);
      return;
    }
    throw new InvalidArgumentError(`data: no valid training pair found for sample ${i} of batch ${batch} after 50 draws (are the sources' boxes valid?)`);
  }

  private frameBuffers = new Map<string, Uint8Array[]>();
  private flip = 0;

  private async frame(seq: Sequence, index: number): Promise<ImageFrame> {
    const syn = seq as Partial<SyntheticSequence>;
    if (typeof syn.renderFrame === 'function' && syn.width !== undefined && syn.height !== undefined) {
      // Two alternating render buffers per frame size: template and search frame are alive together.
      const key = `${syn.width}x${syn.height}`;
      let bufs = this.frameBuffers.get(key);
      if (!bufs) this.frameBuffers.set(key, (bufs = [new Uint8Array(syn.width * syn.height * 3), new Uint8Array(syn.width * syn.height * 3)]));
      this.flip ^= 1;
      return syn.renderFrame(index, bufs[this.flip]);
    }
    return seq.frame(index);
  }
}
