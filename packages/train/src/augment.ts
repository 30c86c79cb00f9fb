import type { Box } from '@dytrack/core';
import type { Rng } from '@dytrack/eval';

/** Jitter of the box a crop is centred on (OSTrack's `_get_jittered_box`). */
export interface BoxJitter {
  /** Centre jitter: the centre moves by up to `±centre/2 · sqrt(w·h)` of the (scale-jittered) box, uniformly. */
  readonly center: number;
  /** Scale jitter: width and height are each multiplied by `exp(N(0, 1) · scale)`. */
  readonly scale: number;
}

/**
 * OSTrack's jitter, with its settings for search crops (`CENTER_JITTER 3`,
 * `SCALE_JITTER 0.25`); OSTrack does not jitter templates at all, this pipeline
 * jitters them slightly (see {@link DEFAULT_TEMPLATE_JITTER}).
 */
export const DEFAULT_SEARCH_JITTER: Readonly<BoxJitter> = Object.freeze({ center: 3, scale: 0.25 });

/** A small template jitter (the tracker's own template is centred on a box it was given). */
export const DEFAULT_TEMPLATE_JITTER: Readonly<BoxJitter> = Object.freeze({ center: 0.1, scale: 0.05 });

/**
 * The box a crop is centred on: `size = wh · exp(N(0,1)·scale)` per axis,
 * `centre += sqrt(size_w · size_h) · center · (U - 0.5)` per axis, as OSTrack.
 */
export function jitterBox(box: Box, jitter: BoxJitter, rng: Rng): Box {
  const w = box.width * Math.exp(rng.normal() * jitter.scale);
  const h = box.height * Math.exp(rng.normal() * jitter.scale);
  const maxOffset = Math.sqrt(w * h) * jitter.center;
  const cx = box.x + box.width / 2 + maxOffset * (rng.next() - 0.5);
  const cy = box.y + box.height / 2 + maxOffset * (rng.next() - 0.5);
  return { x: cx - w / 2, y: cy - h / 2, width: w, height: h };
}

/** Photometric and geometric augmentation of a training pair. */
export interface AugmentationOptions {
  /** Probability of a horizontal flip of the pair (both crops and boxes). Default 0.5. */
  readonly flip: number;
  /** Probability of turning the pair grey. Default 0.05 (OSTrack). */
  readonly grey: number;
  /** Per-channel brightness factor drawn from `[1 - c, 1 + c]`, shared by the pair. Default 0.2 (OSTrack). */
  readonly colour: number;
  /** Probability of blurring each crop (a 3x3 or 5x5 box blur). Default 0.1. */
  readonly blur: number;
}

/** Default {@link AugmentationOptions}. */
export const DEFAULT_AUGMENTATION: Readonly<AugmentationOptions> = Object.freeze({ flip: 0.5, grey: 0.05, colour: 0.2, blur: 0.1 });

/** The random choices for one pair (drawn once, applied to both crops). */
export interface PairAugmentation {
  /** Mirror both crops (and the box) horizontally. */
  readonly flip: boolean;
  /** Turn both crops grey. */
  readonly grey: boolean;
  /** Brightness factors of R, G, B. */
  readonly gains: readonly [number, number, number];
  /** Box-blur radius of the template crop (0: none). */
  readonly blurTemplate: number;
  /** Box-blur radius of the search crop (0: none). */
  readonly blurSearch: number;
}

/** Draws the augmentation of one pair. Blur radii are 0 (none), 1 (3x3) or 2 (5x5). */
export function drawAugmentation(options: AugmentationOptions, rng: Rng): PairAugmentation {
  const c = options.colour;
  const radius = (): number => (rng.next() < options.blur ? 1 + (rng.next() < 0.5 ? 1 : 0) : 0);
  return {
    flip: rng.next() < options.flip,
    grey: rng.next() < options.grey,
    gains: [rng.uniform(1 - c, 1 + c), rng.uniform(1 - c, 1 + c), rng.uniform(1 - c, 1 + c)],
    blurTemplate: radius(),
    blurSearch: radius(),
  };
}

/**
 * Applies grey, colour gains, blur and flip in place to a packed RGB `size x size`
 * crop. `scratch` must hold `size * size * 3` bytes (used by the blur).
 */
export function augmentCrop(rgb: Uint8Array, size: number, aug: PairAugmentation, blurRadius: number, scratch: Uint8Array): void {
  const n = size * size;
  const [gr, gg, gb] = aug.gains;
  for (let i = 0; i < n; i++) {
    const o = i * 3;
    let r = rgb[o]!;
    let g = rgb[o + 1]!;
    let b = rgb[o + 2]!;
    if (aug.grey) {
      // ITU-R 601 luma, as torchvision's rgb_to_grayscale.
      const y = 0.299 * r + 0.587 * g + 0.114 * b;
      r = g = b = y;
    }
    rgb[o] = Math.min(255, r * gr + 0.5);
    rgb[o + 1] = Math.min(255, g * gg + 0.5);
    rgb[o + 2] = Math.min(255, b * gb + 0.5);
  }
  if (blurRadius > 0) boxBlur(rgb, size, blurRadius, scratch);
  if (aug.flip) {
    for (let y = 0; y < size; y++) {
      const row = y * size * 3;
      for (let x = 0, e = size - 1; x < e; x++, e--) {
        const a = row + x * 3;
        const b = row + e * 3;
        for (let c = 0; c < 3; c++) {
          const t = rgb[a + c]!;
          rgb[a + c] = rgb[b + c]!;
          rgb[b + c] = t;
        }
      }
    }
  }
}

/** Separable box blur of radius `r` (edges clamped), in place. */
function boxBlur(rgb: Uint8Array, size: number, r: number, scratch: Uint8Array): void {
  const k = 2 * r + 1;
  for (let pass = 0; pass < 2; pass++) {
    const src = pass === 0 ? rgb : scratch;
    const dst = pass === 0 ? scratch : rgb;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          let s = 0;
          for (let d = -r; d <= r; d++) {
            const xx = pass === 0 ? Math.min(size - 1, Math.max(0, x + d)) : x;
            const yy = pass === 1 ? Math.min(size - 1, Math.max(0, y + d)) : y;
            s += src[(yy * size + xx) * 3 + c]!;
          }
          dst[(y * size + x) * 3 + c] = (s + (k >> 1)) / k;
        }
      }
    }
  }
}

/** Mirrors a box horizontally inside a crop of side `size`. */
export function flipBox(box: Box, size: number): Box {
  return { x: size - box.x - box.width, y: box.y, width: box.width, height: box.height };
}
