import { InvalidArgumentError } from '@dytrack/core';

/** Names of the built-in architecture variants. */
export type ModelVariant = 'tiny' | 'base';

/**
 * How template tokens attend inside the ViT blocks.
 * - `'joint'`: every token attends to every token (OSTrack's one-stream attention).
 * - `'self'`: template tokens attend only to template tokens; search tokens attend
 *   to all. The template path then does not depend on the search crop, so its
 *   per-block keys and values can be computed once at init (the template cache).
 */
export type TemplateAttention = 'joint' | 'self';

/**
 * The one description of the DyTrack architecture (DESIGN 3.1) from which the
 * parameter names, FLOP counts, the float64 reference, the training graph and
 * the exported ONNX stages are all generated.
 */
export interface ModelConfig {
  /** Model name written into the manifest. */
  readonly name: string;
  /** Variant label written into the manifest (`'tiny'`, `'base'`, or a custom label). */
  readonly variant: string;
  /** Side of the template crop fed to the network, in pixels. */
  readonly templateSize: number;
  /** Side of the search crop fed to the network, in pixels. */
  readonly searchSize: number;
  /** Template crop side = ceil(sqrt(w*h) * templateContextFactor). */
  readonly templateContextFactor: number;
  /** Search crop side = ceil(sqrt(w*h) * searchContextFactor). */
  readonly searchContextFactor: number;
  /** Side of a square patch; both crop sizes must be multiples of it. */
  readonly patchSize: number;
  /** Token width (embedding dimension). */
  readonly dim: number;
  /** Attention heads; `dim` must be a multiple of it. */
  readonly heads: number;
  /** MLP hidden width = `mlpRatio * dim`. */
  readonly mlpRatio: number;
  /** Number of ViT blocks of each stage, in order (at least 3 stages). */
  readonly stageDepths: readonly number[];
  /** Channels of the exit heads' feature maps (the recycled head features). */
  readonly headChannels: number;
  /** Hidden width of each exit's decision branch. */
  readonly decisionHidden: number;
  /** See {@link TemplateAttention}. */
  readonly templateAttention: TemplateAttention;
  /** Epsilon of every LayerNorm (1e-6, as in ViT/OSTrack). */
  readonly layerNormEps: number;
  /** Input normalisation `(v/255 - mean) / std`, RGB. */
  readonly normalization: {
    readonly mean: readonly [number, number, number];
    readonly std: readonly [number, number, number];
  };
  /** Default threshold on each exit's terminating score (one per stage). */
  readonly defaultThresholds: readonly number[];
  /**
   * Feature recycling between exits (DESIGN 3.3): exit k+1's head adds a learned
   * projection of exit k's head features and score map. Default true; `false` makes
   * every exit head independent (the ablation of recycling; stages then pass only tokens).
   */
  readonly exitRecycling?: boolean;
  /**
   * Residual 3x3 convolution layers (head channels wide, GELU) between each exit's
   * per-cell trunk and its size map: the size at a cell is read from a (2L+1)-cell
   * neighbourhood, so the head measures the target's extent from how far target-like
   * cells reach instead of asking one token to encode it (OSTrack's head is a conv
   * stack for the same reason). Default 0 (the per-cell size layer); the presets use 2.
   */
  readonly sizeConvLayers?: number;
  /**
   * Where each exit's offset map reads from: `'trunk'` (the default when absent; the
   * presets use `'size-branch'`), the per-cell trunk, as
   * OSTrack's offset head reads its own features; `'size-branch'`, the output of the size
   * branch's 3x3 convolutions, so the sub-cell position of the target's centre is read
   * from the cell's neighbourhood like its extent is. A per-cell offset layer sees one
   * token and, in practice, learns an offset close to 0 everywhere: the box is then only
   * as precise as the 16-pixel cell grid. Same parameters and FLOPs either way.
   */
  readonly offsetInput?: 'trunk' | 'size-branch';
}

/** Whether exit `k` of `config` takes exit k-1's head features and score map. */
export function recyclesInto(config: ModelConfig, k: number): boolean {
  return k > 0 && config.exitRecycling !== false;
}

/** Sizes derived from a {@link ModelConfig}. */
export interface ModelGeometry {
  /** Patches per side of the template crop. */
  readonly templateGrid: number;
  /** Patches per side of the search crop (= the map side n). */
  readonly searchGrid: number;
  /** Template tokens (templateGrid²). */
  readonly templateTokens: number;
  /** Search tokens (searchGrid²). */
  readonly searchTokens: number;
  /** Side n of the score, size and offset maps. */
  readonly mapSize: number;
  /** Search pixels per map cell (the patch size). */
  readonly stride: number;
  /** Total ViT blocks. */
  readonly depth: number;
  /** Width of one attention head. */
  readonly headDim: number;
  /** MLP hidden width. */
  readonly mlpHidden: number;
  /** `[start, end)` block range of each stage. */
  readonly stageBlocks: readonly (readonly [number, number])[];
}

const IMAGENET = {
  mean: [0.485, 0.456, 0.406] as const,
  std: [0.229, 0.224, 0.225] as const,
};

/**
 * The built-in variants.
 *
 * `tiny` (the shipped default): dim 128, 4 heads, 6 blocks in 3 stages of 2,
 * template 128 / search 256 / patch 16, i.e. 64 + 256 tokens and a 16x16 map.
 * Template 64 / search 128 / patch 8 gives the same token counts, hence the same
 * transformer FLOPs (the blocks are ~95% of the total); patch 16 costs 0.047
 * GFLOP more in the patch embedding but sees 4x the pixels per token and shares
 * base's (OSTrack-256's) crop geometry, stride included, so preprocessing and
 * data are identical between variants. Full depth is 1.257 GFLOP per frame
 * (1.043 with the template cache), under the 1.5 GFLOP budget; the exits' 3x3 size
 * branches are 0.113 of it.
 *
 * `base`: ViT-B/16 with OSTrack-256's dimensions (dim 768, 12 heads, 12 blocks
 * in 3 stages of 4, template 128, search 256), for users who bring weights.
 */
export const MODEL_VARIANTS: Readonly<Record<ModelVariant, ModelConfig>> = {
  tiny: {
    name: 'dytrack-tiny',
    variant: 'tiny',
    templateSize: 128,
    searchSize: 256,
    templateContextFactor: 2,
    searchContextFactor: 4,
    patchSize: 16,
    dim: 128,
    heads: 4,
    mlpRatio: 4,
    stageDepths: [2, 2, 2],
    headChannels: 64,
    decisionHidden: 64,
    templateAttention: 'joint',
    layerNormEps: 1e-6,
    normalization: IMAGENET,
    defaultThresholds: [0.7, 0.6, 0],
    sizeConvLayers: 2,
    offsetInput: 'size-branch',
  },
  base: {
    name: 'dytrack-base',
    variant: 'base',
    templateSize: 128,
    searchSize: 256,
    templateContextFactor: 2,
    searchContextFactor: 4,
    patchSize: 16,
    dim: 768,
    heads: 12,
    mlpRatio: 4,
    stageDepths: [4, 4, 4],
    headChannels: 256,
    decisionHidden: 256,
    templateAttention: 'joint',
    layerNormEps: 1e-6,
    normalization: IMAGENET,
    defaultThresholds: [0.7, 0.6, 0],
    sizeConvLayers: 2,
    offsetInput: 'size-branch',
  },
};

function positiveInt(v: number, field: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new InvalidArgumentError(`model config: ${field} must be a positive integer, got ${v}`);
}

/**
 * Validates a configuration and returns it (frozen copy). Throws
 * {@link InvalidArgumentError} naming the bad field.
 */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  positiveInt(config.templateSize, 'templateSize');
  positiveInt(config.searchSize, 'searchSize');
  positiveInt(config.patchSize, 'patchSize');
  positiveInt(config.dim, 'dim');
  positiveInt(config.heads, 'heads');
  positiveInt(config.mlpRatio, 'mlpRatio');
  positiveInt(config.headChannels, 'headChannels');
  positiveInt(config.decisionHidden, 'decisionHidden');
  if (config.templateSize % config.patchSize !== 0) throw new InvalidArgumentError(`model config: templateSize ${config.templateSize} is not a multiple of patchSize ${config.patchSize}`);
  if (config.searchSize % config.patchSize !== 0) throw new InvalidArgumentError(`model config: searchSize ${config.searchSize} is not a multiple of patchSize ${config.patchSize}`);
  if (config.dim % config.heads !== 0) throw new InvalidArgumentError(`model config: dim ${config.dim} is not a multiple of heads ${config.heads}`);
  if (config.stageDepths.length < 3) throw new InvalidArgumentError(`model config: stageDepths needs at least 3 stages, got ${config.stageDepths.length}`);
  config.stageDepths.forEach((d, i) => positiveInt(d, `stageDepths[${i}]`));
  if (config.defaultThresholds.length !== config.stageDepths.length) {
    throw new InvalidArgumentError(`model config: defaultThresholds has ${config.defaultThresholds.length} values for ${config.stageDepths.length} stages`);
  }
  config.defaultThresholds.forEach((t, i) => {
    if (!(t >= 0 && t <= 1)) throw new InvalidArgumentError(`model config: defaultThresholds[${i}] must be in [0, 1], got ${t}`);
  });
  if (!(config.layerNormEps > 0)) throw new InvalidArgumentError(`model config: layerNormEps must be positive, got ${config.layerNormEps}`);
  if (config.templateAttention !== 'joint' && config.templateAttention !== 'self') {
    throw new InvalidArgumentError(`model config: templateAttention must be "joint" or "self", got ${String(config.templateAttention)}`);
  }
  if (!(config.templateContextFactor > 0) || !(config.searchContextFactor > 0)) throw new InvalidArgumentError('model config: context factors must be positive');
  if (config.sizeConvLayers !== undefined && (!Number.isInteger(config.sizeConvLayers) || config.sizeConvLayers < 0)) {
    throw new InvalidArgumentError(`model config: sizeConvLayers must be a non-negative integer, got ${String(config.sizeConvLayers)}`);
  }
  if (config.offsetInput !== undefined && config.offsetInput !== 'trunk' && config.offsetInput !== 'size-branch') {
    throw new InvalidArgumentError(`model config: offsetInput must be 'trunk' or 'size-branch', got ${JSON.stringify(config.offsetInput)}`);
  }
  if (config.exitRecycling !== undefined && typeof config.exitRecycling !== 'boolean') {
    throw new InvalidArgumentError(`model config: exitRecycling must be a boolean, got ${String(config.exitRecycling)}`);
  }
  return Object.freeze({ ...config, stageDepths: Object.freeze([...config.stageDepths]), defaultThresholds: Object.freeze([...config.defaultThresholds]) });
}

/**
 * A built-in variant's configuration with optional overrides (for example
 * `modelConfig('tiny', { templateAttention: 'self' })`), validated.
 */
export function modelConfig(variant: ModelVariant, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const preset = MODEL_VARIANTS[variant];
  if (!preset) throw new InvalidArgumentError(`unknown model variant "${String(variant)}" (known: ${Object.keys(MODEL_VARIANTS).join(', ')})`);
  return validateModelConfig({ ...preset, ...overrides });
}

/** Sizes derived from a configuration (grids, token counts, map side, block ranges). */
export function modelGeometry(config: ModelConfig): ModelGeometry {
  const templateGrid = config.templateSize / config.patchSize;
  const searchGrid = config.searchSize / config.patchSize;
  const stageBlocks: [number, number][] = [];
  let start = 0;
  for (const d of config.stageDepths) {
    stageBlocks.push([start, start + d]);
    start += d;
  }
  return {
    templateGrid,
    searchGrid,
    templateTokens: templateGrid * templateGrid,
    searchTokens: searchGrid * searchGrid,
    mapSize: searchGrid,
    stride: config.patchSize,
    depth: start,
    headDim: config.dim / config.heads,
    mlpHidden: config.dim * config.mlpRatio,
    stageBlocks,
  };
}

/**
 * The architecture recorded in a manifest written by `exportModel`
 * (`provenance.architecture`), validated; `undefined` when the manifest has none.
 */
export function architectureFromManifest(manifest: { readonly provenance?: Readonly<Record<string, unknown>> }): ModelConfig | undefined {
  const recorded = manifest.provenance?.architecture;
  if (recorded === undefined) return undefined;
  if (typeof recorded !== 'object' || recorded === null || Array.isArray(recorded)) {
    throw new InvalidArgumentError('manifest provenance.architecture is not an object');
  }
  const c = recorded as ModelConfig;
  const fields: (keyof ModelConfig)[] = ['name', 'variant', 'templateSize', 'searchSize', 'templateContextFactor', 'searchContextFactor', 'patchSize', 'dim', 'heads', 'mlpRatio', 'stageDepths', 'headChannels', 'decisionHidden', 'templateAttention', 'layerNormEps', 'normalization', 'defaultThresholds'];
  for (const f of fields) if (c[f] === undefined) throw new InvalidArgumentError(`manifest provenance.architecture.${f} is missing`);
  return validateModelConfig(c);
}
