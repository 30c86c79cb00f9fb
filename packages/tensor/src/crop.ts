import { InvalidArgumentError, InvalidBoxError, assertValidBox, assertValidFrame, frameFormat, type Box, type ImageFrame } from '@dytrack/core';
import { pixelLayout } from './frame.js';
import { assertImageSize, normalizationCoefficients, type Normalization } from './normalize.js';

/**
 * The square region of a frame that one crop covers, in frame pixels (OSTrack's
 * `sample_target`). The crop is `[x1, x2) x [y1, y2)` of the zero-padded frame;
 * `x2 - x1 = y2 - y1 = cropSize`. Fields are writable so one object can be reused
 * as an `out` parameter.
 */
export interface CropWindow {
  /** Side of the crop in frame pixels: `ceil(sqrt(w*h) * contextFactor)`. */
  cropSize: number;
  /** Left column (integer, may be negative). */
  x1: number;
  /** Top row (integer, may be negative). */
  y1: number;
  /** `x1 + cropSize` (exclusive). */
  x2: number;
  /** `y1 + cropSize` (exclusive). */
  y2: number;
  /** Zero columns added on the left: `max(0, -x1)`. */
  padLeft: number;
  /** Zero rows added on the top: `max(0, -y1)`. */
  padTop: number;
  /** Zero columns added on the right: `max(x2 - W + 1, 0)` (OSTrack's `+1`, see {@link computeCropWindow}). */
  padRight: number;
  /** Zero rows added at the bottom: `max(y2 - H + 1, 0)`. */
  padBottom: number;
  /** Output pixels per frame pixel: `outputSize / cropSize`. */
  resizeFactor: number;
}

/** Width and height of a frame (an {@link ImageFrame} fits). */
export interface FrameSize {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
}

/**
 * How the bilinear resize computes values. Both use OpenCV's `INTER_LINEAR`
 * geometry (`src = (dst + 0.5) * crop/out - 0.5`, taps clamped to the crop).
 * - `'float'` (default): exact bilinear weights in double precision, no 8-bit
 *   round trip before normalisation. Within float32 rounding of the formula.
 * - `'opencv'`: OpenCV's 8-bit arithmetic bit for bit (float32 source positions,
 *   11-bit fixed-point weights, its rounding shifts, result rounded to uint8), so
 *   the crop equals `cv2.resize` of OSTrack's padded crop exactly. Use it with
 *   weights trained on OSTrack's pipeline when bit-exact inputs matter; it differs
 *   from `'float'` by at most one 8-bit level.
 */
export type ResampleMode = 'float' | 'opencv';

/** Options of the crop functions. */
export interface CropOptions {
  /** Value arithmetic of the resize; `'float'` when omitted. */
  readonly resample?: ResampleMode;
}

/** The result of {@link cropAndResize}. */
export interface CroppedImage {
  /** Packed RGB, HWC, `outputSize * outputSize * 3` bytes. */
  readonly image: Uint8Array;
  /** The crop's geometry. */
  readonly window: CropWindow;
}

/** A new zeroed {@link CropWindow}, for use as an `out` parameter. */
export function createCropWindow(): CropWindow {
  return { cropSize: 0, x1: 0, y1: 0, x2: 0, y2: 0, padLeft: 0, padTop: 0, padRight: 0, padBottom: 0, resizeFactor: 0 };
}

/**
 * Rounds to the nearest integer, ties to the even one, as Python 3's `round`
 * (which OSTrack uses for the crop origin): 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> 0, -1.5 -> -2.
 */
export function roundHalfToEven(value: number): number {
  const r = Math.round(value); // ties toward +infinity
  // `+ 0` turns -0 into 0: Python's round returns the integer 0 for -0.4.
  return (r - value === 0.5 && r % 2 !== 0 ? r - 1 : r) + 0;
}

function assertContextFactor(contextFactor: number): void {
  if (typeof contextFactor !== 'number' || !Number.isFinite(contextFactor) || contextFactor <= 0) {
    throw new InvalidArgumentError(`contextFactor must be a positive finite number, got ${String(contextFactor)}`);
  }
}

function assertFrameSize(frame: FrameSize): void {
  if (frame === null || typeof frame !== 'object' || !Number.isInteger(frame.width) || !Number.isInteger(frame.height) || frame.width <= 0 || frame.height <= 0) {
    throw new InvalidArgumentError('frameSize must have positive integer width and height');
  }
}

/**
 * The crop geometry of DESIGN 4 (OSTrack `sample_target`), exactly:
 * - `cropSize = ceil(sqrt(w*h) * contextFactor)`; {@link InvalidBoxError} when it is below 1
 *   or the box is not finite with positive size;
 * - `x1 = round(x + w/2 - cropSize/2)` with ties to even (Python's `round`), `x2 = x1 + cropSize`, same for y;
 * - `padLeft = max(0, -x1)`, `padRight = max(x2 - W + 1, 0)`, same for y;
 * - `resizeFactor = outputSize / cropSize`.
 *
 * The `+1` is OSTrack's: it slices the frame up to `x2 - padRight`, so whenever the
 * crop reaches the right edge, the frame's last column is cut off and replaced by
 * a zero pad column (likewise the last row). The crop stays `cropSize` wide.
 *
 * `frameSize` is needed for the pads only; everything else depends on the box.
 */
export function computeCropWindow(box: Box, contextFactor: number, outputSize: number, frameSize: FrameSize, out: CropWindow = createCropWindow()): CropWindow {
  assertValidBox(box);
  assertContextFactor(contextFactor);
  assertImageSize(outputSize, 'outputSize');
  assertFrameSize(frameSize);
  const { x, y, width: w, height: h } = box;
  const cropSize = Math.ceil(Math.sqrt(w * h) * contextFactor);
  if (!(cropSize >= 1)) {
    throw new InvalidBoxError(`box ${w}x${h} with context factor ${contextFactor} gives crop size ${cropSize}; it must be at least 1`);
  }
  if (!Number.isFinite(cropSize)) throw new InvalidBoxError(`box ${w}x${h} with context factor ${contextFactor} gives an infinite crop`);
  // Same operation order as OSTrack: (x + 0.5*w) - crop*0.5.
  const x1 = roundHalfToEven(x + 0.5 * w - cropSize * 0.5);
  const y1 = roundHalfToEven(y + 0.5 * h - cropSize * 0.5);
  const x2 = x1 + cropSize;
  const y2 = y1 + cropSize;
  out.cropSize = cropSize;
  out.x1 = x1;
  out.y1 = y1;
  out.x2 = x2;
  out.y2 = y2;
  out.padLeft = Math.max(0, -x1);
  out.padTop = Math.max(0, -y1);
  out.padRight = Math.max(x2 - frameSize.width + 1, 0);
  out.padBottom = Math.max(y2 - frameSize.height + 1, 0);
  out.resizeFactor = outputSize / cropSize;
  return out;
}

/**
 * Crops, resizes and normalises frames to one output size, reusing its scratch
 * (per-column and per-row taps and weights) across calls: after the first call
 * nothing is allocated. One per network input (template, search) is typical.
 */
export interface Cropper {
  /** Side of the square output. */
  readonly outputSize: number;
  /** Value arithmetic of the resize. */
  readonly resample: ResampleMode;
  /**
   * The fused per-frame path: crop of the zero-padded frame, bilinear resize to
   * `outputSize`, normalisation, NCHW float32 `[1, 3, outputSize, outputSize]`
   * written into `out`. Returns `windowOut` (a new window when omitted).
   */
  cropResizeNormalize(frame: ImageFrame, box: Box, contextFactor: number, normalization: Normalization, out: Float32Array, windowOut?: CropWindow): CropWindow;
  /**
   * Crop and resize only: packed RGB (HWC) bytes in `out` (allocated when omitted),
   * window in `windowOut` (allocated when omitted).
   */
  cropAndResize(frame: ImageFrame, box: Box, contextFactor: number, out?: Uint8Array, windowOut?: CropWindow): CroppedImage;
}

const ONE = 2048; // OpenCV INTER_RESIZE_COEF_SCALE (11 fractional bits)

class CropperImpl implements Cropper {
  readonly outputSize: number;
  readonly resample: ResampleMode;
  // Per output column: byte offsets (within a frame row) of the two taps and their weights.
  // A column tap on padding gets weight 0 and offset 0 (any valid byte), so the kernels never branch.
  private readonly colOffset0: Int32Array;
  private readonly colOffset1: Int32Array;
  private readonly colWeight0: Float64Array;
  private readonly colWeight1: Float64Array;
  // Per output row: byte offsets of the two source rows (-1 on padding) and their weights.
  private readonly rowOffset0: Int32Array;
  private readonly rowOffset1: Int32Array;
  private readonly rowWeight0: Float64Array;
  private readonly rowWeight1: Float64Array;
  // The resize is separable, as OpenCV's: each source row used is interpolated horizontally once
  // into one of two cached planar rows [R..., G..., B...], then pairs of rows are blended vertically.
  private readonly rowKey = new Float64Array(2);
  private floatRows: [Float64Array, Float64Array, Float64Array] | undefined; // two cached rows + zeros
  private fixedRows: [Int32Array, Int32Array, Int32Array] | undefined;
  private readonly lut = new Float32Array(768);
  private readonly coefficients = new Float64Array(6);
  private readonly window = createCropWindow();
  private viewSource: Uint8ClampedArray | undefined;
  private view: Uint8Array | undefined;

  constructor(outputSize: number, resample: ResampleMode) {
    assertImageSize(outputSize, 'outputSize');
    if (resample !== 'float' && resample !== 'opencv') {
      throw new InvalidArgumentError(`resample must be 'float' or 'opencv', got ${JSON.stringify(resample)}`);
    }
    this.outputSize = outputSize;
    this.resample = resample;
    this.colOffset0 = new Int32Array(outputSize);
    this.colOffset1 = new Int32Array(outputSize);
    this.colWeight0 = new Float64Array(outputSize);
    this.colWeight1 = new Float64Array(outputSize);
    this.rowOffset0 = new Int32Array(outputSize);
    this.rowOffset1 = new Int32Array(outputSize);
    this.rowWeight0 = new Float64Array(outputSize);
    this.rowWeight1 = new Float64Array(outputSize);
  }

  cropResizeNormalize(frame: ImageFrame, box: Box, contextFactor: number, normalization: Normalization, out: Float32Array, windowOut?: CropWindow): CropWindow {
    const n = this.outputSize;
    if (!(out instanceof Float32Array) || out.length !== 3 * n * n) {
      throw new InvalidArgumentError(`cropResizeNormalize output must be a Float32Array of length ${3 * n * n} ([1, 3, ${n}, ${n}])`);
    }
    const k = normalizationCoefficients(normalization, this.coefficients);
    const data = this.prepare(frame, box, contextFactor);
    if (this.resample === 'float') this.floatResize(data, frame, out, undefined, k);
    else this.fixedResize(data, frame, out, undefined, k);
    return copyWindow(this.window, windowOut ?? createCropWindow());
  }

  cropAndResize(frame: ImageFrame, box: Box, contextFactor: number, out?: Uint8Array, windowOut?: CropWindow): CroppedImage {
    const n = this.outputSize;
    const image = out ?? new Uint8Array(3 * n * n);
    if (!(image instanceof Uint8Array) || image.length !== 3 * n * n) {
      throw new InvalidArgumentError(`cropAndResize output must be a Uint8Array of length ${3 * n * n} (${n}x${n} RGB)`);
    }
    const data = this.prepare(frame, box, contextFactor);
    if (this.resample === 'float') this.floatResize(data, frame, undefined, image, this.coefficients);
    else this.fixedResize(data, frame, undefined, image, this.coefficients);
    return { image, window: copyWindow(this.window, windowOut ?? createCropWindow()) };
  }

  /** Validates, computes the window and the tap tables; returns the frame bytes as a Uint8Array. */
  private prepare(frame: ImageFrame, box: Box, contextFactor: number): Uint8Array {
    assertValidFrame(frame);
    const win = computeCropWindow(box, contextFactor, this.outputSize, frame, this.window);
    const stride = pixelLayout(frameFormat(frame)).stride;
    const opencv = this.resample === 'opencv';
    fillTaps(opencv, false, win.cropSize, win.x1, frame.width, stride, 0, this.outputSize, this.colOffset0, this.colOffset1, this.colWeight0, this.colWeight1);
    fillTaps(opencv, true, win.cropSize, win.y1, frame.height, frame.width * stride, -1, this.outputSize, this.rowOffset0, this.rowOffset1, this.rowWeight0, this.rowWeight1);
    this.rowKey[0] = -1;
    this.rowKey[1] = -1;
    return this.bytes(frame.data);
  }

  /** One element type in the kernels keeps them monomorphic; the view is cached per source array. */
  private bytes(data: Uint8Array | Uint8ClampedArray): Uint8Array {
    if (data instanceof Uint8Array) return data;
    if (this.viewSource !== data || this.view === undefined) {
      this.view = new Uint8Array(data.buffer, data.byteOffset, data.length);
      this.viewSource = data;
    }
    return this.view;
  }

  /** Slot (0 or 1) of the cached row for `offset`, interpolating it unless cached; never evicts `keep`. */
  private slotFor(offset: number, keep: number): number {
    if (this.rowKey[0] === offset) return 0;
    if (this.rowKey[1] === offset) return 1;
    const slot = this.rowKey[0] === keep ? 1 : 0;
    this.rowKey[slot] = offset;
    return slot | 2; // bit 2: the caller must fill the slot
  }

  /** Bilinear in double precision; writes normalised NCHW into `nchw` or rounded HWC bytes into `hwc`. */
  private floatResize(d: Uint8Array, frame: ImageFrame, nchw: Float32Array | undefined, hwc: Uint8Array | undefined, k: Float64Array): void {
    const n = this.outputSize;
    const plane = n * n;
    const rows = (this.floatRows ??= [new Float64Array(3 * n), new Float64Array(3 * n), new Float64Array(3 * n)]);
    const { red, green, blue } = pixelLayout(frameFormat(frame));
    const sr = k[0], sg = k[1], sb = k[2], br = k[3], bg = k[4], bb = k[5];
    for (let dy = 0; dy < n; dy++) {
      const off0 = this.rowOffset0[dy], off1 = this.rowOffset1[dy];
      const v0 = this.rowWeight0[dy], v1 = this.rowWeight1[dy];
      const A = off0 < 0 ? rows[2] : this.floatRow(d, rows, off0, off1, red, green, blue);
      const B = off1 < 0 ? rows[2] : this.floatRow(d, rows, off1, off0, red, green, blue);
      if (nchw !== undefined) {
        const o = dy * n;
        // (A*v0 + B*v1) * s + b with the scale folded into the row weights.
        const r0 = v0 * sr, r1 = v1 * sr, g0 = v0 * sg, g1 = v1 * sg, b0 = v0 * sb, b1 = v1 * sb;
        for (let dx = 0; dx < n; dx++) {
          nchw[o + dx] = A[dx] * r0 + B[dx] * r1 + br;
          nchw[plane + o + dx] = A[n + dx] * g0 + B[n + dx] * g1 + bg;
          nchw[2 * plane + o + dx] = A[2 * n + dx] * b0 + B[2 * n + dx] * b1 + bb;
        }
      } else if (hwc !== undefined) {
        // Values lie in [0, 255]; +0.5 then truncation by the byte store rounds half up.
        for (let dx = 0, q = dy * n * 3; dx < n; dx++, q += 3) {
          hwc[q] = A[dx] * v0 + B[dx] * v1 + 0.5;
          hwc[q + 1] = A[n + dx] * v0 + B[n + dx] * v1 + 0.5;
          hwc[q + 2] = A[2 * n + dx] * v0 + B[2 * n + dx] * v1 + 0.5;
        }
      }
    }
  }

  private floatRow(d: Uint8Array, rows: [Float64Array, Float64Array, Float64Array], offset: number, keep: number, red: number, green: number, blue: number): Float64Array {
    const s = this.slotFor(offset, keep);
    const row = rows[s & 1];
    if (s & 2) {
      const n = this.outputSize;
      const c0s = this.colOffset0, c1s = this.colOffset1, a0s = this.colWeight0, a1s = this.colWeight1;
      for (let dx = 0; dx < n; dx++) {
        const p0 = offset + c0s[dx], p1 = offset + c1s[dx], a0 = a0s[dx], a1 = a1s[dx];
        row[dx] = d[p0 + red] * a0 + d[p1 + red] * a1;
        row[n + dx] = d[p0 + green] * a0 + d[p1 + green] * a1;
        row[2 * n + dx] = d[p0 + blue] * a0 + d[p1 + blue] * a1;
      }
    }
    return row;
  }

  /**
   * OpenCV's 8-bit `resize` (HResizeLinear + VResizeLinear with FixedPtCast): horizontal
   * `h = S0*a0 + S1*a1` in 11-bit fixed point, vertical `((b0*(h0>>4))>>16) + ((b1*(h1>>4))>>16) + 2 >> 2`.
   * The byte is written to `hwc`, or normalised through a lookup table into `nchw`.
   */
  private fixedResize(d: Uint8Array, frame: ImageFrame, nchw: Float32Array | undefined, hwc: Uint8Array | undefined, k: Float64Array): void {
    const n = this.outputSize;
    const plane = n * n;
    const rows = (this.fixedRows ??= [new Int32Array(3 * n), new Int32Array(3 * n), new Int32Array(3 * n)]);
    const { red, green, blue } = pixelLayout(frameFormat(frame));
    const lut = this.lut;
    if (nchw !== undefined) {
      for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = v * k[c] + k[3 + c];
    }
    for (let dy = 0; dy < n; dy++) {
      const off0 = this.rowOffset0[dy], off1 = this.rowOffset1[dy];
      const b0 = this.rowWeight0[dy], b1 = this.rowWeight1[dy];
      const A = off0 < 0 ? rows[2] : this.fixedRow(d, rows, off0, off1, red, green, blue);
      const B = off1 < 0 ? rows[2] : this.fixedRow(d, rows, off1, off0, red, green, blue);
      if (nchw !== undefined) {
        const o = dy * n;
        for (let dx = 0; dx < n; dx++) {
          nchw[o + dx] = lut[(((b0 * (A[dx] >> 4)) >> 16) + ((b1 * (B[dx] >> 4)) >> 16) + 2) >> 2];
          nchw[plane + o + dx] = lut[256 + ((((b0 * (A[n + dx] >> 4)) >> 16) + ((b1 * (B[n + dx] >> 4)) >> 16) + 2) >> 2)];
          nchw[2 * plane + o + dx] = lut[512 + ((((b0 * (A[2 * n + dx] >> 4)) >> 16) + ((b1 * (B[2 * n + dx] >> 4)) >> 16) + 2) >> 2)];
        }
      } else if (hwc !== undefined) {
        for (let dx = 0, q = dy * n * 3; dx < n; dx++, q += 3) {
          hwc[q] = (((b0 * (A[dx] >> 4)) >> 16) + ((b1 * (B[dx] >> 4)) >> 16) + 2) >> 2;
          hwc[q + 1] = (((b0 * (A[n + dx] >> 4)) >> 16) + ((b1 * (B[n + dx] >> 4)) >> 16) + 2) >> 2;
          hwc[q + 2] = (((b0 * (A[2 * n + dx] >> 4)) >> 16) + ((b1 * (B[2 * n + dx] >> 4)) >> 16) + 2) >> 2;
        }
      }
    }
  }

  private fixedRow(d: Uint8Array, rows: [Int32Array, Int32Array, Int32Array], offset: number, keep: number, red: number, green: number, blue: number): Int32Array {
    const s = this.slotFor(offset, keep);
    const row = rows[s & 1];
    if (s & 2) {
      const n = this.outputSize;
      const c0s = this.colOffset0, c1s = this.colOffset1, a0s = this.colWeight0, a1s = this.colWeight1;
      for (let dx = 0; dx < n; dx++) {
        const p0 = offset + c0s[dx], p1 = offset + c1s[dx], a0 = a0s[dx], a1 = a1s[dx];
        row[dx] = d[p0 + red] * a0 + d[p1 + red] * a1;
        row[n + dx] = d[p0 + green] * a0 + d[p1 + green] * a1;
        row[2 * n + dx] = d[p0 + blue] * a0 + d[p1 + blue] * a1;
      }
    }
    return row;
  }
}

function copyWindow(src: CropWindow, dst: CropWindow): CropWindow {
  dst.cropSize = src.cropSize;
  dst.x1 = src.x1;
  dst.y1 = src.y1;
  dst.x2 = src.x2;
  dst.y2 = src.y2;
  dst.padLeft = src.padLeft;
  dst.padTop = src.padTop;
  dst.padRight = src.padRight;
  dst.padBottom = src.padBottom;
  dst.resizeFactor = src.resizeFactor;
  return dst;
}

/**
 * Fills the two taps of every output index along one axis.
 *
 * Crop-local source position `u` maps to frame coordinate `origin + u`. That pixel
 * is real only for `0 <= origin + u <= extent - 2`: below 0 it is left padding,
 * and OSTrack's `+1` pad means the frame's last column/row is never inside the
 * slice it copies (it is either outside the crop or replaced by a zero pad).
 * Beyond the crop, taps are clamped to its edge (which may itself be padding).
 * A tap on padding gets weight 0 and offset `invalidOffset`.
 */
function fillTaps(
  opencv: boolean,
  vertical: boolean,
  crop: number,
  origin: number,
  extent: number,
  stride: number,
  invalidOffset: number,
  n: number,
  offset0: Int32Array,
  offset1: Int32Array,
  weight0: Float64Array,
  weight1: Float64Array,
): void {
  const last = extent - 2;
  if (!opencv) {
    const scale = crop / n;
    for (let d = 0; d < n; d++) {
      const f = (d + 0.5) * scale - 0.5;
      let s0 = Math.floor(f);
      let t = f - s0;
      if (s0 < 0) {
        s0 = 0;
        t = 0;
      } else if (s0 >= crop - 1) {
        s0 = crop - 1;
        t = 0;
      }
      const s1 = t > 0 ? s0 + 1 : s0;
      const c0 = origin + s0;
      const c1 = origin + s1;
      const ok0 = c0 >= 0 && c0 <= last;
      const ok1 = c1 >= 0 && c1 <= last;
      offset0[d] = ok0 ? c0 * stride : invalidOffset;
      offset1[d] = ok1 ? c1 * stride : invalidOffset;
      weight0[d] = ok0 ? 1 - t : 0;
      weight1[d] = ok1 ? t : 0;
    }
    return;
  }
  // OpenCV: scale_x = 1 / inv_scale_x with inv_scale_x = dsize / ssize (doubles);
  // fx = (float)((dx + 0.5) * scale_x - 0.5); sx = floor(fx); fx -= sx;
  // weights saturate_cast<short>((1.f - fx) * 2048) and saturate_cast<short>(fx * 2048).
  const scale = 1 / (n / crop);
  for (let d = 0; d < n; d++) {
    const f = Math.fround((d + 0.5) * scale - 0.5);
    let s0 = Math.floor(f);
    let t = Math.fround(f - s0);
    let s1: number;
    if (vertical) {
      // Rows: the weights keep their fraction; the row indices are clipped to the crop.
      s1 = Math.min(Math.max(s0 + 1, 0), crop - 1);
      s0 = Math.min(Math.max(s0, 0), crop - 1);
    } else {
      // Columns: outside the crop the fraction is dropped and the index clamped.
      if (s0 < 0) {
        s0 = 0;
        t = 0;
      }
      if (s0 >= crop - 1) {
        s0 = crop - 1;
        t = 0;
      }
      s1 = t > 0 ? s0 + 1 : s0;
    }
    const w0 = roundHalfToEven(Math.fround(1 - t) * ONE);
    const w1 = roundHalfToEven(t * ONE);
    const c0 = origin + s0;
    const c1 = origin + s1;
    const ok0 = c0 >= 0 && c0 <= last;
    const ok1 = c1 >= 0 && c1 <= last;
    offset0[d] = ok0 ? c0 * stride : invalidOffset;
    offset1[d] = ok1 ? c1 * stride : invalidOffset;
    weight0[d] = ok0 ? w0 : 0;
    weight1[d] = ok1 ? w1 : 0;
  }
}

/** Creates a {@link Cropper} for square outputs of side `outputSize`. */
export function createCropper(outputSize: number, options: CropOptions = {}): Cropper {
  return new CropperImpl(outputSize, options.resample ?? 'float');
}

// Croppers behind the free functions, one per output size and mode, so those are allocation-free too.
const sharedCroppers: Record<ResampleMode, Map<number, Cropper>> = { float: new Map(), opencv: new Map() };

function sharedCropper(outputSize: number, options: CropOptions | undefined): Cropper {
  const resample = options?.resample ?? 'float';
  const byMode = sharedCroppers[resample];
  if (byMode === undefined) throw new InvalidArgumentError(`resample must be 'float' or 'opencv', got ${JSON.stringify(resample)}`);
  let cropper = byMode.get(outputSize);
  if (cropper === undefined) {
    cropper = createCropper(outputSize, { resample });
    byMode.set(outputSize, cropper);
  }
  return cropper;
}

/**
 * Crops `box` with context from `frame` and resizes it to `outputSize` squared,
 * exactly as OSTrack's `sample_target` + `cv2.resize` (see {@link computeCropWindow}
 * for the geometry and {@link ResampleMode} for the arithmetic). The crop is taken
 * from the zero-padded frame, so boxes partly or wholly outside the frame are fine.
 * Output is packed RGB (HWC) whatever the frame's format; written into `out` when given.
 */
export function cropAndResize(
  frame: ImageFrame,
  box: Box,
  contextFactor: number,
  outputSize: number,
  out?: Uint8Array,
  windowOut?: CropWindow,
  options?: CropOptions,
): CroppedImage {
  assertImageSize(outputSize, 'outputSize');
  return sharedCropper(outputSize, options).cropAndResize(frame, box, contextFactor, out, windowOut);
}

/**
 * The per-frame preprocessing in one pass: crop (as {@link cropAndResize}), resize,
 * `(v/255 - mean)/std`, NCHW float32 `[1, 3, outputSize, outputSize]` into `out`.
 * Allocation-free when `windowOut` is given. Returns the crop window.
 */
export function cropResizeNormalize(
  frame: ImageFrame,
  box: Box,
  contextFactor: number,
  outputSize: number,
  normalization: Normalization,
  out: Float32Array,
  windowOut?: CropWindow,
  options?: CropOptions,
): CropWindow {
  assertImageSize(outputSize, 'outputSize');
  return sharedCropper(outputSize, options).cropResizeNormalize(frame, box, contextFactor, normalization, out, windowOut);
}
