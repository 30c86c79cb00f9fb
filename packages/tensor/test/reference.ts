/**
 * An independent float64 reference of DESIGN 4's preprocessing, written from the
 * formulas (and OSTrack's `sample_target` slicing) without calling the package.
 * Slow and simple on purpose: it evaluates the padded crop pixel by pixel.
 */

export interface RefFrame {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  format?: 'rgb' | 'rgba' | 'bgr';
}

export interface RefWindow {
  crop: number;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  padLeft: number;
  padTop: number;
  padRight: number;
  padBottom: number;
}

/** Python 3 `round`: nearest integer, ties to even. */
export function pyRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

export function refWindow(box: { x: number; y: number; width: number; height: number }, factor: number, W: number, H: number): RefWindow {
  const crop = Math.ceil(Math.sqrt(box.width * box.height) * factor);
  const x1 = pyRound(box.x + 0.5 * box.width - crop * 0.5);
  const y1 = pyRound(box.y + 0.5 * box.height - crop * 0.5);
  const x2 = x1 + crop;
  const y2 = y1 + crop;
  return { crop, x1, y1, x2, y2, padLeft: Math.max(0, -x1), padTop: Math.max(0, -y1), padRight: Math.max(x2 - W + 1, 0), padBottom: Math.max(y2 - H + 1, 0) };
}

/** RGB value of frame pixel (col, row), channel c (0 = R). */
function framePixel(frame: RefFrame, col: number, row: number, c: number): number {
  const format = frame.format ?? 'rgba';
  const bpp = format === 'rgba' ? 4 : 3;
  const channel = format === 'bgr' ? 2 - c : c;
  return frame.data[(row * frame.width + col) * bpp + channel];
}

/**
 * Pixel (u, v) of OSTrack's padded crop: `im[y1+pt : y2-pb, x1+pl : x2-pr]` surrounded by
 * pt/pb/pl/pr zeros. A slice that misses the frame is empty (the crop is then all zeros).
 */
function paddedCropPixel(frame: RefFrame, win: RefWindow, u: number, v: number, c: number): number {
  const colStart = win.x1 + win.padLeft;
  const colStop = Math.min(win.x2 - win.padRight, frame.width);
  const rowStart = win.y1 + win.padTop;
  const rowStop = Math.min(win.y2 - win.padBottom, frame.height);
  const cols = Math.max(0, colStop - colStart);
  const rows = Math.max(0, rowStop - rowStart);
  if (u < win.padLeft || u >= win.padLeft + cols) return 0;
  if (v < win.padTop || v >= win.padTop + rows) return 0;
  return framePixel(frame, colStart + (u - win.padLeft), rowStart + (v - win.padTop), c);
}

/** Source taps of one output index: OpenCV INTER_LINEAR convention, clamped to [0, crop - 1]. */
function taps(d: number, crop: number, out: number): [number, number, number] {
  const s = ((d + 0.5) * crop) / out - 0.5;
  let i0 = Math.floor(s);
  let f = s - i0;
  if (i0 < 0) {
    i0 = 0;
    f = 0;
  }
  if (i0 > crop - 1) {
    i0 = crop - 1;
    f = 0;
  }
  const i1 = Math.min(i0 + 1, crop - 1);
  return [i0, i1, f];
}

/** Resized crop as float64 HWC RGB values in [0, 255] (no rounding). */
export function refResize(frame: RefFrame, box: { x: number; y: number; width: number; height: number }, factor: number, out: number): { rgb: Float64Array; win: RefWindow } {
  const win = refWindow(box, factor, frame.width, frame.height);
  const rgb = new Float64Array(out * out * 3);
  for (let dy = 0; dy < out; dy++) {
    const [y0, y1, fy] = taps(dy, win.crop, out);
    for (let dx = 0; dx < out; dx++) {
      const [x0, x1, fx] = taps(dx, win.crop, out);
      for (let c = 0; c < 3; c++) {
        const top = (1 - fx) * paddedCropPixel(frame, win, x0, y0, c) + fx * paddedCropPixel(frame, win, x1, y0, c);
        const bottom = (1 - fx) * paddedCropPixel(frame, win, x0, y1, c) + fx * paddedCropPixel(frame, win, x1, y1, c);
        rgb[(dy * out + dx) * 3 + c] = (1 - fy) * top + fy * bottom;
      }
    }
  }
  return { rgb, win };
}

/** `(v/255 - mean)/std`, NCHW float64. */
export function refNormalize(rgb: ArrayLike<number>, out: number, mean: readonly number[], std: readonly number[]): Float64Array {
  const plane = out * out;
  const res = new Float64Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) res[c * plane + i] = (rgb[i * 3 + c] / 255 - mean[c]) / std[c];
  }
  return res;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The LCG the OpenCV fixture generator uses (bytes of an HWC RGB frame). */
export function lcgFrame(width: number, height: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  let s = seed;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    out[i] = (s >> 16) & 255;
  }
  return out;
}

/** Re-packs an RGB frame's bytes as another format (RGBA gets alpha = 255 - r). */
export function repack(rgb: Uint8Array, format: 'rgb' | 'rgba' | 'bgr', clamped: boolean): Uint8Array | Uint8ClampedArray {
  const n = rgb.length / 3;
  const bpp = format === 'rgba' ? 4 : 3;
  const out = clamped ? new Uint8ClampedArray(n * bpp) : new Uint8Array(n * bpp);
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3], g = rgb[i * 3 + 1], b = rgb[i * 3 + 2];
    if (format === 'bgr') {
      out[i * 3] = b;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = r;
    } else {
      out[i * bpp] = r;
      out[i * bpp + 1] = g;
      out[i * bpp + 2] = b;
      if (bpp === 4) out[i * 4 + 3] = 255 - r;
    }
  }
  return out;
}
