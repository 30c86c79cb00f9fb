import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Box, type ImageFrame } from '@dytrack/core';
import type { Sequence } from './dataset.js';
import { decodeAssetImage } from './dataset-image.js';
import { createRng, type Rng } from './rng.js';

/** An RGBA sprite with the convex hull of its opaque pixels (for exact truth boxes). */
interface Sprite {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
  /** Hull vertices relative to the sprite centre, interleaved x, y. */
  readonly hull: Float64Array;
}

/**
 * Photographs and clip-art for the generator's richer mode. Either list may be
 * empty: the generator then draws that part procedurally (clip-art objects on a
 * procedural background, or procedural objects on a photograph).
 */
export interface AssetLibrary {
  /** JPEG/PNG photographs used as backgrounds. */
  readonly backgrounds: readonly string[];
  /** PNG images with alpha used as objects. */
  readonly objects: readonly string[];
}

/** Options of {@link createSyntheticSequence}. */
export interface SyntheticSequenceOptions {
  /** Seed: the same seed and options give the same frames, byte for byte. */
  readonly seed: number;
  /** Frame width in pixels (default 320). */
  readonly width?: number;
  /** Frame height in pixels (default 240). */
  readonly height?: number;
  /** Number of frames (default 100). */
  readonly length?: number;
  /** Objects that look like the target but differ in texture or colours (default 2). */
  readonly distractors?: number;
  /** An object crossing in front of the target mid-sequence (default true). */
  readonly occlusion?: boolean;
  /** Scale change of the target over the sequence (default true). */
  readonly scaleChange?: boolean;
  /** In-plane rotation (default true). */
  readonly rotation?: boolean;
  /** Motion blur on fast frames (default true). */
  readonly blur?: boolean;
  /** Global brightness and colour changes (default true). */
  readonly illumination?: boolean;
  /** Target speed scale: 1 is a few pixels per frame at 320x240 (default 1). */
  readonly speed?: number;
  /** Photographs and clip-art to use instead of procedural textures (each list where it is not empty). */
  readonly assets?: AssetLibrary;
}

/**
 * A procedurally generated sequence. Trajectories are computed at creation (a
 * few numbers per frame); pixels are rendered on demand, so frames can be drawn
 * in any order, and random access is as fast as sequential.
 */
export interface SyntheticSequence extends Sequence {
  /** Frame width. */
  readonly width: number;
  /** Frame height. */
  readonly height: number;
  /** The seed it was made with. */
  readonly seed: number;
  /**
   * Renders frame `index` synchronously as RGB. Pass `out`
   * (`width * height * 3` bytes) to render into a reused buffer.
   */
  renderFrame(index: number, out?: Uint8Array): ImageFrame;
  /**
   * Fraction (0 to 1) of the target's pixels in frame `index` that are not hidden by an
   * object drawn over it (the occluder, a distractor passing in front). The truth box
   * stays on a hidden target, so a trainer can skip frames whose box labels something
   * it cannot see.
   */
  visibility(index: number): number;
}

interface ObjectTrack {
  readonly sprite: Sprite;
  readonly cx: Float64Array;
  readonly cy: Float64Array;
  readonly scale: Float64Array;
  readonly angle: Float64Array;
}

// ---- procedural textures -------------------------------------------------

function hsv(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6);
  const f = h * 6 - i;
  const p = v * (1 - s);
  const q = v * (1 - f * s);
  const t = v * (1 - (1 - f) * s);
  const m = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ][((i % 6) + 6) % 6]!;
  return [Math.round(m[0]! * 255), Math.round(m[1]! * 255), Math.round(m[2]! * 255)];
}

/** Smooth value noise in [0, 1) on a `w x h` grid with `cells` lattice cells across. */
function valueNoise(rng: Rng, w: number, h: number, cells: number): Float32Array {
  const gw = cells + 2;
  const gh = Math.ceil((cells * h) / w) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  const out = new Float32Array(w * h);
  const step = cells / w;
  for (let y = 0; y < h; y++) {
    const gy = y * step;
    const iy = Math.floor(gy);
    let fy = gy - iy;
    fy = fy * fy * (3 - 2 * fy);
    for (let x = 0; x < w; x++) {
      const gx = x * step;
      const ix = Math.floor(gx);
      let fx = gx - ix;
      fx = fx * fx * (3 - 2 * fx);
      const a = grid[iy * gw + ix]!;
      const b = grid[iy * gw + ix + 1]!;
      const c = grid[(iy + 1) * gw + ix]!;
      const d = grid[(iy + 1) * gw + ix + 1]!;
      out[y * w + x] = (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy;
    }
  }
  return out;
}

/** A textured RGB background: two noise octaves mapped through a random palette, with optional structure. */
function proceduralBackground(rng: Rng, w: number, h: number): Uint8Array {
  const n1 = valueNoise(rng, w, h, rng.int(3, 8));
  const n2 = valueNoise(rng, w, h, rng.int(16, 40));
  const hue = rng.next();
  const palette = [hsv(hue, rng.uniform(0.1, 0.6), rng.uniform(0.2, 0.5)), hsv((hue + rng.uniform(0.05, 0.3)) % 1, rng.uniform(0.1, 0.7), rng.uniform(0.4, 0.8)), hsv((hue + 0.5) % 1, rng.uniform(0, 0.4), rng.uniform(0.5, 0.9))];
  const structure = rng.int(0, 2); // 0 plain noise, 1 tiles, 2 stripes
  const period = rng.uniform(12, 48);
  const angle = rng.uniform(0, Math.PI);
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const out = new Uint8Array(w * h * 3);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      let t = 0.7 * n1[i]! + 0.3 * n2[i]!;
      if (structure === 1) t = 0.75 * t + 0.25 * (((Math.floor(x / period) + Math.floor(y / period)) & 1) === 0 ? 1 : 0);
      else if (structure === 2) t = 0.8 * t + 0.2 * (0.5 + 0.5 * Math.sin(((x * ca + y * sa) / period) * 2 * Math.PI));
      const s = Math.min(1.999, Math.max(0, t * 2));
      const k = Math.floor(s);
      const f = s - k;
      const c0 = palette[k]!;
      const c1 = palette[k + 1]!;
      out[i * 3] = c0[0] + (c1[0] - c0[0]) * f;
      out[i * 3 + 1] = c0[1] + (c1[1] - c0[1]) * f;
      out[i * 3 + 2] = c0[2] + (c1[2] - c0[2]) * f;
    }
  }
  return out;
}

/** Appearance of a procedural object: a mask shape and a coloured pattern. */
interface Appearance {
  shape: number;
  pattern: number;
  colors: [number, number, number][];
  period: number;
  angle: number;
  aspect: number;
}

function randomAppearance(rng: Rng): Appearance {
  const hue = rng.next();
  return {
    shape: rng.int(0, 3),
    pattern: rng.int(0, 3),
    colors: [hsv(hue, rng.uniform(0.5, 1), rng.uniform(0.6, 1)), hsv((hue + rng.uniform(0.2, 0.8)) % 1, rng.uniform(0.3, 1), rng.uniform(0.2, 0.9)), hsv(rng.next(), rng.uniform(0, 1), rng.uniform(0.3, 1))],
    period: rng.uniform(0.15, 0.4),
    angle: rng.uniform(0, Math.PI),
    aspect: rng.uniform(0.6, 1.6),
  };
}

/** A distractor: the target's shape and size class, but a different pattern or colours. */
function distractorAppearance(rng: Rng, target: Appearance): Appearance {
  const a = randomAppearance(rng);
  a.shape = target.shape;
  a.aspect = target.aspect * rng.uniform(0.85, 1.15);
  if (rng.next() < 0.5) {
    // Same colours, different pattern: hard, told apart by texture alone.
    a.colors = target.colors.map((c) => [...c] as [number, number, number]);
    a.pattern = (target.pattern + rng.int(1, 3)) % 4;
  }
  return a;
}

function proceduralSprite(rng: Rng, app: Appearance, size: number): Sprite {
  const w = Math.max(8, Math.round(size * Math.sqrt(app.aspect)));
  const h = Math.max(8, Math.round(size / Math.sqrt(app.aspect)));
  const rgba = new Uint8Array(w * h * 4);
  const lobes = rng.int(3, 6);
  const lobeAmp = rng.uniform(0.1, 0.25);
  const phase = rng.uniform(0, 2 * Math.PI);
  const ca = Math.cos(app.angle);
  const sa = Math.sin(app.angle);
  const spots: number[] = [];
  for (let k = 0; k < 6; k++) spots.push(rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7), rng.uniform(0.1, 0.25));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = ((x + 0.5) / w) * 2 - 1;
      const v = ((y + 0.5) / h) * 2 - 1;
      const r = Math.hypot(u, v);
      let inside: boolean;
      switch (app.shape) {
        case 0: inside = r <= 1; break;
        case 1: inside = Math.abs(u) <= 0.95 && Math.abs(v) <= 0.95; break;
        case 2: inside = r <= 1 - lobeAmp + lobeAmp * Math.cos(lobes * Math.atan2(v, u) + phase); break;
        default: inside = Math.abs(u) + Math.abs(v) <= 1.05 || r <= 0.75; break;
      }
      if (!inside) continue;
      const s = (u * ca + v * sa) / app.period;
      let k: number;
      switch (app.pattern) {
        case 0: k = Math.floor(s) & 1; break; // stripes
        case 1: k = (Math.floor(s) + Math.floor((-u * sa + v * ca) / app.period)) & 1; break; // checker
        case 2: k = Math.floor(r / app.period) % 3; break; // rings
        default: {
          k = 0;
          for (let j = 0; j < spots.length; j += 3) if (Math.hypot(u - spots[j]!, v - spots[j + 1]!) < spots[j + 2]!) k = 1 + (j % 2);
        }
      }
      const c = app.colors[k]!;
      const i = (y * w + x) * 4;
      rgba[i] = c[0];
      rgba[i + 1] = c[1];
      rgba[i + 2] = c[2];
      rgba[i + 3] = 255;
    }
  }
  return withHull(w, h, rgba);
}

/** Convex hull (monotone chain) of the corners of the sprite's opaque pixels, relative to its centre. */
function withHull(w: number, h: number, rgba: Uint8Array): Sprite {
  const pts: [number, number][] = [];
  for (let y = 0; y < h; y++) {
    let first = -1;
    let last = -1;
    for (let x = 0; x < w; x++) {
      if (rgba[(y * w + x) * 4 + 3]! >= 128) {
        if (first < 0) first = x;
        last = x;
      }
    }
    if (first >= 0) pts.push([first, y], [first, y + 1], [last + 1, y], [last + 1, y + 1]);
  }
  if (pts.length === 0) throw new InvalidArgumentError('sprite has no opaque pixels');
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: [number, number], a: [number, number], b: [number, number]): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: [number, number][] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  const hullPts = lower.slice(0, -1).concat(upper.slice(0, -1));
  const hull = new Float64Array(hullPts.length * 2);
  hullPts.forEach((p, i) => {
    hull[2 * i] = p[0] - w / 2;
    hull[2 * i + 1] = p[1] - h / 2;
  });
  return { width: w, height: h, rgba, hull };
}

/** Bilinear resize of interleaved 8-bit pixels with `c` channels. */
function resizeBilinear(src: Uint8Array, sw: number, sh: number, c: number, dw: number, dh: number): Uint8Array {
  const out = new Uint8Array(dw * dh * c);
  const sx = sw / dw;
  const sy = sh / dh;
  for (let y = 0; y < dh; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let x = 0; x < dw; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), sw - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, sw - 1);
      const wx = fx - x0;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * sw + x0) * c + k]!;
        const b = src[(y0 * sw + x1) * c + k]!;
        const d = src[(y1 * sw + x0) * c + k]!;
        const e = src[(y1 * sw + x1) * c + k]!;
        out[(y * dw + x) * c + k] = (a + (b - a) * wx) * (1 - wy) + (d + (e - d) * wx) * wy + 0.5;
      }
    }
  }
  return out;
}

/**
 * The largest photograph (pixels) a background is cut from. Decoding is the generator's
 * costliest step, and a frame is 320x240 by default; larger files give a procedural background.
 */
export const MAX_BACKGROUND_PIXELS = 40_000_000;
/**
 * The largest clip-art image (pixels) a sprite is made from; larger files are drawn again, as
 * transparent ones are. Sprites are tens of pixels across, and openclipart holds a few huge
 * files (one is 623 megapixels, 2.5 GB decoded, 12 s per 100 megapixels) among 2 000 whose
 * median is 0.25 megapixels.
 */
export const MAX_SPRITE_PIXELS = 4_000_000;

function assetBackground(file: string, w: number, h: number, rng: Rng): Uint8Array {
  const img = decodeAssetImage(readFileSync(file), file, false, MAX_BACKGROUND_PIXELS);
  if (!img) return proceduralBackground(rng, w, h);
  // Crop the largest region of the right aspect at a random place, then resize.
  const scale = Math.min(img.width / w, img.height / h) * rng.uniform(0.6, 1);
  const cw = Math.max(1, Math.floor(w * scale));
  const ch = Math.max(1, Math.floor(h * scale));
  const ox = rng.int(0, img.width - cw);
  const oy = rng.int(0, img.height - ch);
  const crop = new Uint8Array(cw * ch * 3);
  for (let y = 0; y < ch; y++) crop.set(img.data.subarray(((oy + y) * img.width + ox) * 3, ((oy + y) * img.width + ox + cw) * 3), y * cw * 3);
  return resizeBilinear(crop, cw, ch, 3, w, h);
}

/**
 * The clip-art `file` as a sprite about `size` pixels across, or undefined when nothing of it is
 * opaque at that size (openclipart has fully transparent images, and hairline drawings that
 * vanish when shrunk): such a file cannot be a target; nor can one over {@link MAX_SPRITE_PIXELS}.
 */
function assetSprite(file: string, size: number): Sprite | undefined {
  const img = decodeAssetImage(readFileSync(file), file, true, MAX_SPRITE_PIXELS);
  if (!img) return undefined;
  const k = size / Math.sqrt(img.width * img.height);
  const w = Math.max(8, Math.round(img.width * k));
  const h = Math.max(8, Math.round(img.height * k));
  const rgba = resizeBilinear(img.data as Uint8Array, img.width, img.height, 4, w, h);
  let opaque = false;
  for (let i = 3; i < rgba.length && !opaque; i += 4) opaque = rgba[i]! >= 128;
  return opaque ? withHull(w, h, rgba) : undefined;
}

/** Clip-art draws before an object falls back to a procedural sprite. */
const ASSET_SPRITE_TRIES = 8;

/**
 * Lists photographs and clip-art installed by Debian's `gnome-backgrounds`
 * (`/usr/share/backgrounds`) and `openclipart-png` (`/usr/share/openclipart`).
 * Returns undefined when neither kind is there; the generator then uses its
 * procedural textures. Either kind alone is used: Debian 12's `gnome-backgrounds`
 * ships its wallpapers as WebP and SVG, which `@dytrack/image` does not decode, so
 * there only the clip-art is found (on procedural backgrounds).
 */
export function findSystemAssets(
  dirs: { backgrounds?: string; objects?: string } = {},
  limit = 2000,
): AssetLibrary | undefined {
  const walk = (dir: string, re: RegExp): string[] => {
    const out: string[] = [];
    const stack = [dir];
    while (stack.length > 0 && out.length < limit) {
      const d = stack.pop()!;
      let names: string[];
      try {
        names = readdirSync(d).sort();
      } catch {
        continue;
      }
      for (const n of names) {
        const p = path.join(d, n);
        let st;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) stack.push(p);
        else if (re.test(n) && out.length < limit) out.push(p);
      }
    }
    return out;
  };
  const backgrounds = walk(dirs.backgrounds ?? '/usr/share/backgrounds', /\.(jpe?g|png)$/i);
  const objects = walk(dirs.objects ?? '/usr/share/openclipart', /\.png$/i);
  if (backgrounds.length === 0 && objects.length === 0) return undefined;
  return { backgrounds, objects };
}

// ---- trajectories ----------------------------------------------------------

function track(rng: Rng, n: number, w: number, h: number, sprite: Sprite, opts: { speed: number; scaleChange: boolean; rotation: boolean; baseScale: number }): ObjectTrack {
  const cx = new Float64Array(n);
  const cy = new Float64Array(n);
  const scale = new Float64Array(n);
  const angle = new Float64Array(n);
  const radius = 0.5 * Math.hypot(sprite.width, sprite.height);
  let x = rng.uniform(0.3, 0.7) * w;
  let y = rng.uniform(0.3, 0.7) * h;
  const v0 = opts.speed * Math.min(w, h) * 0.012;
  let vx = rng.normal() * v0;
  let vy = rng.normal() * v0;
  let logS = 0;
  let vs = 0;
  let a = opts.rotation ? rng.uniform(-0.3, 0.3) : 0;
  let va = 0;
  for (let t = 0; t < n; t++) {
    const s = opts.baseScale * Math.exp(logS);
    const r = radius * s;
    const mx = Math.min(r, w / 2 - 1);
    const my = Math.min(r, h / 2 - 1);
    if (x < mx) { x = mx; vx = Math.abs(vx); }
    if (x > w - mx) { x = w - mx; vx = -Math.abs(vx); }
    if (y < my) { y = my; vy = Math.abs(vy); }
    if (y > h - my) { y = h - my; vy = -Math.abs(vy); }
    cx[t] = x;
    cy[t] = y;
    scale[t] = s;
    angle[t] = a;
    // Smooth random acceleration with damping keeps speed near v0 but lets it vary.
    vx = 0.92 * vx + rng.normal() * v0 * 0.35;
    vy = 0.92 * vy + rng.normal() * v0 * 0.35;
    x += vx;
    y += vy;
    if (opts.scaleChange) {
      vs = 0.9 * vs + rng.normal() * 0.006;
      logS = Math.min(Math.log(1.7), Math.max(Math.log(0.55), logS + vs));
    }
    if (opts.rotation) {
      va = 0.9 * va + rng.normal() * 0.006;
      a = Math.max(-0.8, Math.min(0.8, a + va));
    }
  }
  return { sprite, cx, cy, scale, angle };
}

/** An object crossing the frame in a straight line that meets the target at frame `meet`. */
function crossingTrack(rng: Rng, n: number, target: ObjectTrack, sprite: Sprite, meet: number, speed: number, baseScale: number): ObjectTrack {
  const dir = rng.uniform(0, 2 * Math.PI);
  const vx = Math.cos(dir) * speed;
  const vy = Math.sin(dir) * speed;
  const cx = new Float64Array(n);
  const cy = new Float64Array(n);
  const scale = new Float64Array(n).fill(baseScale);
  const angle = new Float64Array(n).fill(rng.uniform(-0.5, 0.5));
  for (let t = 0; t < n; t++) {
    cx[t] = target.cx[meet]! + vx * (t - meet);
    cy[t] = target.cy[meet]! + vy * (t - meet);
  }
  return { sprite, cx, cy, scale, angle };
}

// ---- rendering -------------------------------------------------------------

/**
 * Whether object `o` covers pixel (x, y) in frame `t`: the nearest texel of its sprite
 * under the same inverse transform {@link drawSprite} samples with is opaque.
 */
function covers(o: ObjectTrack, t: number, cos: number, sin: number, x: number, y: number): boolean {
  const { sprite } = o;
  const inv = 1 / o.scale[t]!;
  const dx = x + 0.5 - o.cx[t]!;
  const dy = y + 0.5 - o.cy[t]!;
  const u = Math.round((cos * dx + sin * dy) * inv + sprite.width / 2 - 0.5);
  const v = Math.round((-sin * dx + cos * dy) * inv + sprite.height / 2 - 0.5);
  if (u < 0 || v < 0 || u >= sprite.width || v >= sprite.height) return false;
  return sprite.rgba[(v * sprite.width + u) * 4 + 3]! >= 128;
}

/**
 * Fraction of `target`'s opaque pixels inside `box` that none of `above` covers (1 when
 * it has none there), on a grid of about 24x24 pixels over the box: a fraction, not a
 * mask, so a grid is precise enough and keeps it cheap for a trainer's every sample.
 */
function visibleFraction(target: ObjectTrack, above: readonly ObjectTrack[], t: number, box: Box, width: number, height: number): number {
  const tc = Math.cos(target.angle[t]!);
  const ts = Math.sin(target.angle[t]!);
  const trig = above.map((o) => [Math.cos(o.angle[t]!), Math.sin(o.angle[t]!)] as const);
  let total = 0;
  let hidden = 0;
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(width - 1, Math.ceil(box.x + box.width));
  const y1 = Math.min(height - 1, Math.ceil(box.y + box.height));
  const step = Math.max(1, Math.floor(Math.min(x1 - x0 + 1, y1 - y0 + 1) / 24));
  for (let y = y0; y <= y1; y += step) {
    for (let x = x0; x <= x1; x += step) {
      if (!covers(target, t, tc, ts, x, y)) continue;
      total++;
      for (let k = 0; k < above.length; k++) {
        if (covers(above[k]!, t, trig[k]![0], trig[k]![1], x, y)) {
          hidden++;
          break;
        }
      }
    }
  }
  return total === 0 ? 1 : 1 - hidden / total;
}

function drawSprite(out: Uint8Array, w: number, h: number, o: ObjectTrack, t: number): void {
  const { sprite } = o;
  const s = o.scale[t]!;
  const cos = Math.cos(o.angle[t]!);
  const sin = Math.sin(o.angle[t]!);
  const r = 0.5 * Math.hypot(sprite.width, sprite.height) * s + 1;
  const x0 = Math.max(0, Math.floor(o.cx[t]! - r));
  const x1 = Math.min(w - 1, Math.ceil(o.cx[t]! + r));
  const y0 = Math.max(0, Math.floor(o.cy[t]! - r));
  const y1 = Math.min(h - 1, Math.ceil(o.cy[t]! + r));
  const sw = sprite.width;
  const sh = sprite.height;
  const src = sprite.rgba;
  const inv = 1 / s;
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - o.cy[t]!;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - o.cx[t]!;
      // Inverse rotation and scale into sprite pixel-centre coordinates.
      const u = (cos * dx + sin * dy) * inv + sw / 2 - 0.5;
      const v = (-sin * dx + cos * dy) * inv + sh / 2 - 0.5;
      if (u < -0.5 || v < -0.5 || u > sw - 0.5 || v > sh - 0.5) continue;
      const uc = Math.min(Math.max(u, 0), sw - 1);
      const vc = Math.min(Math.max(v, 0), sh - 1);
      const iu = Math.min(Math.floor(uc), sw - 2 < 0 ? 0 : sw - 2);
      const iv = Math.min(Math.floor(vc), sh - 2 < 0 ? 0 : sh - 2);
      const fu = uc - iu;
      const fv = vc - iv;
      const i00 = (iv * sw + iu) * 4;
      const i01 = i00 + 4;
      const i10 = i00 + sw * 4;
      const i11 = i10 + 4;
      const w00 = (1 - fu) * (1 - fv);
      const w01 = fu * (1 - fv);
      const w10 = (1 - fu) * fv;
      const w11 = fu * fv;
      // Premultiplied bilinear sampling so transparent texels do not darken edges.
      const a00 = src[i00 + 3]! * w00;
      const a01 = src[i01 + 3]! * w01;
      const a10 = src[i10 + 3]! * w10;
      const a11 = src[i11 + 3]! * w11;
      const alpha = a00 + a01 + a10 + a11;
      if (alpha < 1) continue;
      const k = (y * w + x) * 3;
      const ia = 1 / alpha;
      const blend = alpha / 255;
      for (let c = 0; c < 3; c++) {
        const col = (src[i00 + c]! * a00 + src[i01 + c]! * a01 + src[i10 + c]! * a10 + src[i11 + c]! * a11) * ia;
        out[k + c] = out[k + c]! + (col - out[k + c]!) * blend + 0.5;
      }
    }
  }
}

/** Directional box blur of length `len` along the dominant axis, inside a rectangle. */
function motionBlur(out: Uint8Array, w: number, x0: number, y0: number, x1: number, y1: number, len: number, horizontal: boolean, tmp: Float32Array): void {
  const half = Math.floor(len / 2);
  if (horizontal) {
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) for (let c = 0; c < 3; c++) {
        let sum = 0;
        let count = 0;
        for (let d = -half; d <= half; d++) {
          const xx = x + d;
          if (xx < x0 || xx > x1) continue;
          sum += out[(y * w + xx) * 3 + c]!;
          count++;
        }
        tmp[(x - x0) * 3 + c] = sum / count;
      }
      for (let x = x0; x <= x1; x++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = tmp[(x - x0) * 3 + c]! + 0.5;
    }
  } else {
    for (let x = x0; x <= x1; x++) {
      for (let y = y0; y <= y1; y++) for (let c = 0; c < 3; c++) {
        let sum = 0;
        let count = 0;
        for (let d = -half; d <= half; d++) {
          const yy = y + d;
          if (yy < y0 || yy > y1) continue;
          sum += out[(yy * w + x) * 3 + c]!;
          count++;
        }
        tmp[(y - y0) * 3 + c] = sum / count;
      }
      for (let y = y0; y <= y1; y++) for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = tmp[(y - y0) * 3 + c]! + 0.5;
    }
  }
}

/**
 * Creates a seeded procedural sequence: textured objects (a target and
 * distractors of the same shape but another pattern or colouring) moving over a
 * textured, slowly panning background, with an occluder crossing the target,
 * scale change, rotation, motion blur and illumination change. Truth boxes are
 * the exact axis-aligned extents of the target's rotated, scaled shape, whether
 * or not it is occluded.
 */
export function createSyntheticSequence(options: SyntheticSequenceOptions): SyntheticSequence {
  const { seed } = options;
  if (!Number.isInteger(seed)) throw new InvalidArgumentError(`seed must be an integer, got ${String(seed)}`);
  const width = options.width ?? 320;
  const height = options.height ?? 240;
  const length = options.length ?? 100;
  for (const [k, v, min] of [['width', width, 32], ['height', height, 32], ['length', length, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(`${k} must be an integer >= ${min}, got ${String(v)}`);
  }
  const nDistractors = options.distractors ?? 2;
  const rng = createRng(seed);
  const assets = options.assets;

  // Background larger than the frame so the camera can pan.
  const pan = Math.round(Math.min(width, height) * 0.15);
  const bw = width + 2 * pan;
  const bh = height + 2 * pan;
  const background = assets !== undefined && assets.backgrounds.length > 0 ? assetBackground(rng.pick(assets.backgrounds), bw, bh, rng) : proceduralBackground(rng, bw, bh);

  const size = Math.min(width, height) * rng.uniform(0.12, 0.25);
  const objects = assets?.objects ?? [];
  const makeSprite = (app: Appearance): Sprite => {
    for (let k = 0; k < ASSET_SPRITE_TRIES && objects.length > 0; k++) {
      const sprite = assetSprite(rng.pick(objects), size);
      if (sprite) return sprite;
    }
    return proceduralSprite(rng, app, size);
  };
  const targetApp = randomAppearance(rng);
  const targetSprite = makeSprite(targetApp);
  const speed = options.speed ?? 1;
  const motion = { speed, scaleChange: options.scaleChange ?? true, rotation: options.rotation ?? true, baseScale: 1 };
  const target = track(rng, length, width, height, targetSprite, motion);
  const below: ObjectTrack[] = [];
  const above: ObjectTrack[] = [];
  for (let k = 0; k < nDistractors; k++) {
    const d = track(rng, length, width, height, makeSprite(distractorAppearance(rng, targetApp)), { ...motion, baseScale: rng.uniform(0.8, 1.2) });
    (rng.next() < 0.7 ? below : above).push(d);
  }
  if ((options.occlusion ?? true) && length >= 10) {
    const meet = rng.int(Math.floor(length * 0.3), Math.floor(length * 0.7));
    const occluderApp = randomAppearance(rng);
    above.push(crossingTrack(rng, length, target, makeSprite(occluderApp), meet, Math.min(width, height) * rng.uniform(0.015, 0.03), rng.uniform(0.9, 1.3)));
  }

  // Camera pan and illumination per frame.
  const camX = new Int32Array(length);
  const camY = new Int32Array(length);
  const gain = new Float32Array(length * 3);
  let px = pan;
  let py = pan;
  let pvx = 0;
  let pvy = 0;
  let g = 1;
  const tint = [0, 0, 0];
  const illumination = options.illumination ?? true;
  for (let t = 0; t < length; t++) {
    camX[t] = Math.round(px);
    camY[t] = Math.round(py);
    pvx = 0.9 * pvx + rng.normal() * 0.3;
    pvy = 0.9 * pvy + rng.normal() * 0.3;
    px = Math.min(2 * pan, Math.max(0, px + pvx));
    py = Math.min(2 * pan, Math.max(0, py + pvy));
    if (illumination) {
      g = Math.min(1.5, Math.max(0.5, g + rng.normal() * 0.03 + (rng.next() < 0.02 ? rng.normal() * 0.25 : 0)));
      for (let c = 0; c < 3; c++) tint[c] = Math.max(-0.15, Math.min(0.15, tint[c]! + rng.normal() * 0.01));
    }
    for (let c = 0; c < 3; c++) gain[t * 3 + c] = g * (1 + tint[c]!);
  }

  const groundTruth: Box[] = [];
  for (let t = 0; t < length; t++) {
    const hull = targetSprite.hull;
    const s = target.scale[t]!;
    const cos = Math.cos(target.angle[t]!);
    const sin = Math.sin(target.angle[t]!);
    let minX = Infinity;
    let minY = Infinity;
    let maxX = -Infinity;
    let maxY = -Infinity;
    for (let i = 0; i < hull.length; i += 2) {
      const x = target.cx[t]! + s * (cos * hull[i]! - sin * hull[i + 1]!);
      const y = target.cy[t]! + s * (sin * hull[i]! + cos * hull[i + 1]!);
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
    minX = Math.max(0, minX);
    minY = Math.max(0, minY);
    maxX = Math.min(width, maxX);
    maxY = Math.min(height, maxY);
    groundTruth.push({ x: minX, y: minY, width: maxX - minX, height: maxY - minY });
  }

  const blur = options.blur ?? true;
  const lut = new Uint8Array(256 * 3);
  const blurTmp = new Float32Array(Math.max(width, height) * 3);
  const name = `synthetic-${seed}`;

  const checkIndex = (index: number): void => {
    if (!Number.isInteger(index) || index < 0 || index >= length) throw new InvalidArgumentError(`${name}: frame index ${index} outside 0..${length - 1}`);
  };

  const renderFrame = (index: number, out?: Uint8Array): ImageFrame => {
    checkIndex(index);
    const bytes = width * height * 3;
    if (out !== undefined && out.length !== bytes) throw new InvalidArgumentError(`${name}: output buffer has ${out.length} bytes, needs ${bytes}`);
    const data = out ?? new Uint8Array(bytes);
    const ox = camX[index]!;
    const oy = camY[index]!;
    for (let y = 0; y < height; y++) data.set(background.subarray(((oy + y) * bw + ox) * 3, ((oy + y) * bw + ox + width) * 3), y * width * 3);
    for (const o of below) drawSprite(data, width, height, o, index);
    drawSprite(data, width, height, target, index);
    if (blur && index > 0) {
      const vx = target.cx[index]! - target.cx[index - 1]!;
      const vy = target.cy[index]! - target.cy[index - 1]!;
      const len = Math.round(Math.hypot(vx, vy) * 0.8);
      if (len >= 3) {
        const b = groundTruth[index]!;
        const m = len;
        motionBlur(data, width, Math.max(0, Math.floor(b.x) - m), Math.max(0, Math.floor(b.y) - m), Math.min(width - 1, Math.ceil(b.x + b.width) + m), Math.min(height - 1, Math.ceil(b.y + b.height) + m), len, Math.abs(vx) >= Math.abs(vy), blurTmp);
      }
    }
    for (const o of above) drawSprite(data, width, height, o, index);
    if (illumination) {
      for (let c = 0; c < 3; c++) {
        const gc = gain[index * 3 + c]!;
        for (let v = 0; v < 256; v++) lut[c * 256 + v] = Math.min(255, v * gc + 0.5);
      }
      for (let i = 0; i < bytes; i += 3) {
        data[i] = lut[data[i]!]!;
        data[i + 1] = lut[256 + data[i + 1]!]!;
        data[i + 2] = lut[512 + data[i + 2]!]!;
      }
    }
    return { data, width, height, format: 'rgb' };
  };

  const visibilityCache = new Float32Array(length).fill(Number.NaN);
  const visibility = (index: number): number => {
    checkIndex(index);
    let v = visibilityCache[index]!;
    if (Number.isNaN(v)) visibilityCache[index] = v = visibleFraction(target, above, index, groundTruth[index]!, width, height);
    return v;
  };

  return {
    name,
    length,
    width,
    height,
    seed,
    groundTruth,
    absent: undefined,
    renderFrame,
    visibility,
    frame: (index: number) => {
      try {
        return Promise.resolve(renderFrame(index));
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}
