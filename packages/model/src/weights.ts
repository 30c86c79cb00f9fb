import { InvalidArgumentError, ModelMismatchError } from '@dytrack/core';
import { readModel } from '@dytrack/onnx';
import type { ModelConfig } from './config.js';
import { fromFloat16, toFloat16 } from './half.js';
import { parameterSize, parameterSpecs, type ParameterSpec } from './params.js';
import { bytesToFloat32, readSafetensors, SafetensorsError, typedArrayBytes, writeSafetensors, type SafetensorsTensor } from './safetensors.js';
import { modelGeometry } from './config.js';
import { resizePositionEmbeddings } from './resize.js';

/**
 * The weights of a model: float32 values by safetensors name, row-major, in
 * the shapes of {@link parameterSpecs}.
 */
export type ModelWeights = ReadonlyMap<string, Float32Array>;

/** Options of {@link initWeights}. */
export interface InitWeightsOptions {
  /** Seed of the deterministic generator (same seed, same weights, on every platform). */
  readonly seed: number;
  /**
   * Also randomise what training starts as constants (LayerNorm scales become
   * 1 ± 0.2, biases and priors O(0.5) noise), so a test exercises every
   * parameter visibly. Default false.
   */
  readonly perturbAll?: boolean;
  /** Standard deviation of the truncated-normal weights (default: each spec's, 0.02). */
  readonly std?: number;
  /**
   * Position embeddings: `'trunc-normal'` (timm's, std 0.02) or `'sincos'` (default: MAE's
   * fixed 2-D sine-cosine table as the starting point, still trained). Template and search
   * grids use the same frequencies: a template patch and a search patch cover the same
   * image extent, so equal offsets get equal codes.
   */
  readonly positionEmbedding?: 'trunc-normal' | 'sincos';
  /**
   * Query and key projections: `'independent'` (each trunc-normal) or `'mimetic'`
   * (default: each head's key projection starts equal to its query projection, with rows
   * of norm 1, so attention starts as similarity between tokens, after Trockman and
   * Kolter, "Mimetic initialization of self-attention layers", 2023). A tracker from
   * scratch must first learn to match search tokens to the template; similarity-shaped
   * attention gives it that from step 0.
   */
  readonly queryKey?: 'independent' | 'mimetic';
}

/** Amplitude of the sine-cosine position table (patch embeddings start at about 0.5 per channel). */
const SINCOS_AMPLITUDE = 0.5;

/** MAE's 2-D sine-cosine embedding of a `grid x grid` patch grid, row-major, width `dim`. */
function sincosTable(grid: number, dim: number, out: Float32Array): void {
  // Half the channels encode x, half y; each half is sin|cos over dim/4 frequencies.
  const quarter = Math.floor(dim / 4);
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const row = (gy * grid + gx) * dim;
      for (let i = 0; i < quarter; i++) {
        const omega = 1 / 10000 ** (i / quarter);
        out[row + i] = SINCOS_AMPLITUDE * Math.sin(gx * omega);
        out[row + quarter + i] = SINCOS_AMPLITUDE * Math.cos(gx * omega);
        out[row + 2 * quarter + i] = SINCOS_AMPLITUDE * Math.sin(gy * omega);
        out[row + 3 * quarter + i] = SINCOS_AMPLITUDE * Math.cos(gy * omega);
      }
    }
  }
}

/** A small, fast, seedable generator (mulberry32) with a Box-Muller normal. */
export class SeededRandom {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = this.uniform();
    while (u <= 1e-12) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Normal truncated to [-2, 2] standard deviations (timm's trunc_normal_). */
  truncatedNormal(): number {
    for (;;) {
      const x = this.normal();
      if (x >= -2 && x <= 2) return x;
    }
  }
}

/**
 * Deterministic initial weights for a configuration: truncated normal (std
 * 0.02) for matrices, LayerNorm scales 1, biases 0, the score/size priors of
 * the exit heads, and by default sine-cosine position embeddings and mimetic
 * query/key projections (see {@link InitWeightsOptions}).
 */
export function initWeights(config: ModelConfig, options: InitWeightsOptions): Map<string, Float32Array> {
  const rng = new SeededRandom(options.seed);
  const out = new Map<string, Float32Array>();
  const sincos = (options.positionEmbedding ?? 'sincos') === 'sincos';
  const mimetic = (options.queryKey ?? 'mimetic') === 'mimetic';
  const D = config.dim;
  for (const spec of parameterSpecs(config)) {
    const values = new Float32Array(parameterSize(spec));
    if (sincos && (spec.name === 'backbone.pos_embed_z' || spec.name === 'backbone.pos_embed_x')) {
      sincosTable(Math.round(Math.sqrt(values.length / D)), D, values);
      if (spec.name === 'backbone.pos_embed_z') {
        // One shared random vector marks every template token as template (a segment
        // embedding, as BERT's): a search token that attends to the template carries the
        // mark in its residual stream, so "matches the template" is linearly readable.
        const mark = Array.from({ length: D }, () => rng.truncatedNormal() * SINCOS_AMPLITUDE);
        for (let i = 0; i < values.length; i++) values[i] = values[i]! + mark[i % D]!;
      }
    } else if (mimetic && spec.name.endsWith('.attn.qkv.weight')) {
      // Rows [0, D) are the queries, [D, 2D) the keys: keys copy the queries. Rows of norm 1
      // (entries ~ N(0, 1/D)) make a token's similarity logit with itself about sqrt(head dim).
      const qk = 1 / Math.sqrt(D);
      const v = options.std ?? (spec.init.kind === 'trunc-normal' ? spec.init.std : 0.02);
      for (let i = 0; i < values.length; i++) values[i] = rng.truncatedNormal() * (i < 2 * D * D ? qk : v);
      values.copyWithin(D * D, 0, D * D);
    } else if (spec.init.kind === 'trunc-normal') {
      const std = options.std ?? spec.init.std;
      for (let i = 0; i < values.length; i++) values[i] = rng.truncatedNormal() * std;
    } else if (options.perturbAll) {
      // Scales stay near 1; biases and priors become O(1) noise so every term is visible.
      const [centre, spread] = spec.init.value === 1 ? [1, 0.2] : [0, 0.5];
      for (let i = 0; i < values.length; i++) values[i] = centre + rng.truncatedNormal() * spread;
    } else {
      values.fill(spec.init.value);
    }
    out.set(spec.name, values);
  }
  return out;
}

/** Options of {@link weightsFromSafetensors}. */
export interface ReadWeightsOptions {
  /** Ignore tensors the architecture does not use (default false: they are an error). */
  readonly allowExtra?: boolean;
  /**
   * Leave out parameters the file does not have instead of failing (default false), for
   * fine-tuning a grown architecture from older weights; the caller initialises them.
   */
  readonly allowMissing?: boolean;
  /**
   * Resample position embeddings made for another template or search size (a square patch
   * grid of another side) to this architecture's grid with {@link resizePositionEmbeddings},
   * instead of failing on their shape (default false). For weights trained at another input
   * size, such as a low-resolution first phase of training.
   */
  readonly resizePositionEmbeddings?: boolean;
  /** Called for each position embedding resampled, with the grid sides. */
  readonly onPositionEmbeddingResized?: (name: string, fromGrid: number, toGrid: number) => void;
}

/**
 * Checks that `weights` holds every parameter of `config` with the right size.
 * Throws {@link InvalidArgumentError} naming the first missing or mis-sized tensor.
 */
export function validateWeights(config: ModelConfig, weights: ModelWeights): void {
  for (const spec of parameterSpecs(config)) {
    const w = weights.get(spec.name);
    if (!w) throw new InvalidArgumentError(`weights: missing tensor "${spec.name}" [${spec.shape.join(', ')}]`);
    if (w.length !== parameterSize(spec)) throw new InvalidArgumentError(`weights: tensor "${spec.name}" has ${w.length} values but [${spec.shape.join(', ')}] needs ${parameterSize(spec)}`);
  }
}

function toFloat32(name: string, t: SafetensorsTensor): Float32Array {
  switch (t.dtype) {
    case 'F32':
      return bytesToFloat32(t.data);
    case 'F16': {
      const copy = new Uint8Array(t.data);
      return fromFloat16(new Uint16Array(copy.buffer));
    }
    case 'BF16': {
      const copy = new Uint8Array(t.data);
      const bits = new Uint16Array(copy.buffer);
      const out = new Float32Array(bits.length);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < bits.length; i++) u[i] = bits[i]! << 16;
      return out;
    }
    case 'F64': {
      const copy = new Uint8Array(t.data);
      return Float32Array.from(new Float64Array(copy.buffer));
    }
    default:
      throw new SafetensorsError(`dtype ${t.dtype} is not a floating-point type; model weights must be F32, F16, BF16 or F64`, name);
  }
}

/**
 * Reads the weights of `config` from safetensors bytes (F32, F16, BF16 or F64
 * tensors, converted to float32). Throws {@link SafetensorsError} naming the
 * tensor that is missing, has the wrong shape or whose bytes are truncated.
 */
export function weightsFromSafetensors(config: ModelConfig, bytes: Uint8Array, options: ReadWeightsOptions = {}): Map<string, Float32Array> {
  const file = readSafetensors(bytes);
  const specs = parameterSpecs(config);
  const out = new Map<string, Float32Array>();
  for (const spec of specs) {
    const t = file.tensors.get(spec.name);
    if (!t && options.allowMissing) continue;
    if (!t) throw new SafetensorsError(`missing (the ${config.variant} architecture needs ${spec.description}, shape [${spec.shape.join(', ')}])`, spec.name);
    // A position embedding of another square patch grid is resampled below, once all are read.
    const otherGrid =
      options.resizePositionEmbeddings === true && POSITION_EMBEDDINGS.has(spec.name) && t.shape.length === 3 && t.shape[0] === 1 && t.shape[2] === spec.shape[2] && Number.isInteger(Math.sqrt(t.shape[1]!));
    if (otherGrid) {
      out.set(spec.name, toFloat32(spec.name, t));
      continue;
    }
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new SafetensorsError(`shape [${t.shape.join(', ')}] but the architecture needs [${spec.shape.join(', ')}]`, spec.name);
    }
    out.set(spec.name, toFloat32(spec.name, t));
  }
  if (options.resizePositionEmbeddings) {
    const geometry = modelGeometry(config);
    const { weights, resized } = resizePositionEmbeddings(out, { template: geometry.templateGrid, search: geometry.searchGrid }, config.dim);
    for (const r of resized) options.onPositionEmbeddingResized?.(r.name, r.from, r.to);
    for (const [name, values] of weights) out.set(name, values);
  }
  if (!options.allowExtra) {
    const known = new Set(specs.map((s) => s.name));
    for (const name of file.tensors.keys()) {
      if (!known.has(name)) throw new SafetensorsError(`not a parameter of the ${config.variant} architecture (pass allowExtra to ignore extra tensors)`, name);
    }
  }
  return out;
}

const POSITION_EMBEDDINGS = new Set(['backbone.pos_embed_z', 'backbone.pos_embed_x']);

/** Options of {@link weightsToSafetensors}. */
export interface WriteWeightsOptions {
  /** Storage type (default `'F32'`). */
  readonly dtype?: 'F32' | 'F16';
  /** Free-form `__metadata__` strings. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Serialises the weights of `config` to safetensors bytes, in name-map order. */
export function weightsToSafetensors(config: ModelConfig, weights: ModelWeights, options: WriteWeightsOptions = {}): Uint8Array {
  validateWeights(config, weights);
  const dtype = options.dtype ?? 'F32';
  const entries = parameterSpecs(config).map((spec: ParameterSpec): [string, SafetensorsTensor] => {
    const values = weights.get(spec.name)!;
    const data = dtype === 'F32' ? typedArrayBytes(values) : typedArrayBytes(toFloat16(values));
    return [spec.name, { dtype, shape: spec.shape, data }];
  });
  return writeSafetensors(entries, options.metadata);
}

/**
 * Reads a model's weights back from its exported ONNX files (the template encoder and
 * every stage, in any order): each parameter is stored verbatim as an initializer named
 * by its safetensors name (float32, or float16 when exported with `fp16`). So a shipped
 * model directory is enough to fine-tune from, with no safetensors file beside it.
 *
 * @throws ModelMismatchError when a file is not an ONNX model, a parameter of `config` is
 * in none of the files, or one has the wrong size or type.
 */
export function weightsFromOnnxFiles(config: ModelConfig, files: Iterable<Uint8Array>): Map<string, Float32Array> {
  const found = new Map<string, { dtype: string; data: unknown }>();
  let index = 0;
  for (const bytes of files) {
    let summary;
    try {
      summary = readModel(bytes);
    } catch (cause) {
      throw new ModelMismatchError(`weightsFromOnnxFiles: file ${index} is not an ONNX model`, { cause });
    }
    for (const init of summary.initializers) found.set(init.name, init);
    index++;
  }
  const weights = new Map<string, Float32Array>();
  const missing: string[] = [];
  for (const spec of parameterSpecs(config)) {
    const init = found.get(spec.name);
    if (!init) {
      missing.push(spec.name);
      continue;
    }
    let values: Float32Array;
    if (init.dtype === 'float32' && init.data instanceof Float32Array) values = Float32Array.from(init.data);
    else if (init.dtype === 'float16' && init.data instanceof Uint16Array) values = fromFloat16(init.data);
    else throw new ModelMismatchError(`weightsFromOnnxFiles: "${spec.name}" is stored as ${init.dtype}, expected float32 or float16`);
    if (values.length !== parameterSize(spec)) throw new ModelMismatchError(`weightsFromOnnxFiles: "${spec.name}" has ${values.length} values, expected ${parameterSize(spec)} (shape [${spec.shape.join(', ')}])`);
    weights.set(spec.name, values);
  }
  if (missing.length > 0) {
    throw new ModelMismatchError(`weightsFromOnnxFiles: ${missing.length} parameters of ${config.name} are in none of the files (first: ${missing.slice(0, 3).join(', ')}); is it the same architecture?`);
  }
  return weights;
}
