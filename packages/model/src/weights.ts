import { InvalidArgumentError } from '@dytrack/core';
import type { ModelConfig } from './config.js';
import { fromFloat16, toFloat16 } from './half.js';
import { parameterSize, parameterSpecs, type ParameterSpec } from './params.js';
import { bytesToFloat32, readSafetensors, SafetensorsError, typedArrayBytes, writeSafetensors, type SafetensorsTensor } from './safetensors.js';

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
 * 0.02) for matrices and position embeddings, LayerNorm scales 1, biases 0,
 * and the score/size priors of the exit heads.
 */
export function initWeights(config: ModelConfig, options: InitWeightsOptions): Map<string, Float32Array> {
  const rng = new SeededRandom(options.seed);
  const out = new Map<string, Float32Array>();
  for (const spec of parameterSpecs(config)) {
    const values = new Float32Array(parameterSize(spec));
    if (spec.init.kind === 'trunc-normal') {
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
    if (!t) throw new SafetensorsError(`missing (the ${config.variant} architecture needs ${spec.description}, shape [${spec.shape.join(', ')}])`, spec.name);
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      throw new SafetensorsError(`shape [${t.shape.join(', ')}] but the architecture needs [${spec.shape.join(', ')}]`, spec.name);
    }
    out.set(spec.name, toFloat32(spec.name, t));
  }
  if (!options.allowExtra) {
    const known = new Set(specs.map((s) => s.name));
    for (const name of file.tensors.keys()) {
      if (!known.has(name)) throw new SafetensorsError(`not a parameter of the ${config.variant} architecture (pass allowExtra to ignore extra tensors)`, name);
    }
  }
  return out;
}

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
