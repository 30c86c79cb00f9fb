import { InvalidArgumentError } from '@dytrack/core';
import type { Graph, Value } from '@dytrack/onnx';
import { modelGeometry, recyclesInto, type ModelConfig } from './config.js';
import { toFloat16 } from './half.js';
import { parameterSize, parameterSpecs } from './params.js';
import { validateWeights, type ModelWeights } from './weights.js';

/**
 * The parameters as values of one graph, by safetensors name, in their
 * safetensors shapes (PyTorch layout) and the graph's float type. Graph
 * inputs for training ({@link addParameterInputs}), initializers for export
 * ({@link addParameterInitializers}).
 */
export type GraphParameters = ReadonlyMap<string, Value>;

/** Options of {@link addParameterInitializers}. */
export interface ParameterInitializerOptions {
  /** Only these parameters (default: all of the architecture). */
  readonly names?: readonly string[];
  /**
   * Storage type: `'float16'` stores each weight as float16 followed by a
   * `Cast` to the graph's float type (half the file; compute stays float32).
   */
  readonly storage?: 'float32' | 'float16';
}

/**
 * Declares every parameter of `config` (or `names`) as a graph input named by
 * its safetensors name, with the graph's float type: the form the training step
 * differentiates with respect to.
 */
export function addParameterInputs(g: Graph, config: ModelConfig, names?: readonly string[]): Map<string, Value> {
  const wanted = names ? new Set(names) : undefined;
  const out = new Map<string, Value>();
  for (const spec of parameterSpecs(config)) {
    if (wanted && !wanted.has(spec.name)) continue;
    out.set(spec.name, g.input(spec.name, g.dtype, spec.shape));
  }
  return out;
}

/**
 * Stores weights as initializers named by their safetensors names (call at
 * the graph's top level, outside any scope, so names stay exact).
 */
export function addParameterInitializers(g: Graph, config: ModelConfig, weights: ModelWeights, options: ParameterInitializerOptions = {}): Map<string, Value> {
  validateWeights(config, weights);
  const wanted = options.names ? new Set(options.names) : undefined;
  const out = new Map<string, Value>();
  for (const spec of parameterSpecs(config)) {
    if (wanted && !wanted.has(spec.name)) continue;
    const data = weights.get(spec.name)!;
    if (parameterSize(spec) !== data.length) throw new InvalidArgumentError(`weights: "${spec.name}" has ${data.length} values, expected ${parameterSize(spec)}`);
    if (options.storage === 'float16') {
      const stored = g.initializer(spec.name, spec.shape, toFloat16(data));
      out.set(spec.name, g.cast(stored, g.dtype));
    } else if (g.dtype === 'float64') {
      out.set(spec.name, g.initializer(spec.name, spec.shape, Float64Array.from(data)));
    } else {
      out.set(spec.name, g.initializer(spec.name, spec.shape, data));
    }
  }
  return out;
}

/** Handles to one exit's outputs in a graph (batch B, map side n, head channels C, search tokens Ns = n²). */
export interface ExitValues {
  /** Score-map logits `[B, 1, n, n]` (for focal or BCE losses on logits). */
  readonly scoreLogits: Value;
  /** Score map `[B, 1, n, n]` = sigmoid(scoreLogits). */
  readonly scoreMap: Value;
  /** Size map `[B, 2, n, n]`: w, h as fractions of the search crop (sigmoid). */
  readonly sizeMap: Value;
  /** Offset map `[B, 2, n, n]`: x, y sub-cell offsets in cells (raw). */
  readonly offsetMap: Value;
  /** Decision-branch logit `[B, 1]`. */
  readonly decisionLogit: Value;
  /** Terminating score `[B, 1]` = sigmoid(decisionLogit): the predicted IoU of this exit's box. */
  readonly terminatingScore: Value;
  /**
   * Head features `[B, Ns, C]`, token-major (cell i = row i*n..): the exit's
   * representation after recycling, which the next exit recycles and which
   * target-aware self-distillation compares between exits.
   */
  readonly headFeatures: Value;
}

/** Handles to one stage's outputs in a graph. */
export interface StageValues {
  /**
   * Tokens after the stage's blocks: `[B, Nt + Ns, D]` (template first) in the
   * uncached layout; `[B, Ns, D]` (search only) in the template-cache layout.
   */
  readonly tokens: Value;
  /** The search tokens after the stage's blocks, `[B, Ns, D]` (what the exit head reads). */
  readonly searchTokens: Value;
  readonly exit: ExitValues;
}

/** What {@link emitModelForward} returns: handles to everything a loss may need. */
export interface ModelForwardValues {
  /** Template tokens after patch and position embedding, `[B, Nt, D]`. */
  readonly templateTokens: Value;
  /** Search tokens after patch and position embedding, `[B, Ns, D]`. */
  readonly searchTokens: Value;
  /** One per stage; `stages[K-1].exit` is the final exit. */
  readonly stages: readonly StageValues[];
}

/** Per-block template keys and values `[B, heads, Nt, headDim]` (the template cache). */
export interface TemplateKeysValues {
  readonly keys: Value;
  readonly values: Value;
}

/** The recycled inputs of exit k+1: exit k's head features and score map. */
export interface RecycledExit {
  readonly headFeatures: Value;
  readonly scoreMap: Value;
}

function param(p: GraphParameters, name: string): Value {
  const v = p.get(name);
  if (!v) throw new InvalidArgumentError(`graph parameters: "${name}" is not among the given parameters`);
  return v;
}

/** `x · Wᵀ + b` with a PyTorch-layout `[out, in]` weight. */
function linear(g: Graph, p: GraphParameters, x: Value, prefix: string): Value {
  return g.add(g.matmul(x, g.transpose(param(p, `${prefix}.weight`), [1, 0])), param(p, `${prefix}.bias`));
}

/**
 * A residual 3x3 convolution (zero padding 1, GELU) over `[B, n·n, C]` cell features in
 * row-major order: `x + GELU(conv(x))`. Built from Slice, Concat and one MatMul (no
 * Conv or Pad, so the training graph differentiates it with the rules it has); the zero
 * border is `0 · (a slice of x)`, which keeps the batch dimension symbolic.
 */
function residualConv3x3(g: Graph, p: GraphParameters, x: Value, n: number, channels: number, prefix: string): Value {
  const grid = g.reshape(x, [0, n, n, channels]);
  const zeroRow = g.mul(g.slice(grid, [0], [1], [1]), 0); // [B, 1, n, C]
  const rows = g.concat([zeroRow, grid, zeroRow], 1); // [B, n+2, n, C]
  const zeroColumn = g.mul(g.slice(rows, [0], [1], [2]), 0); // [B, n+2, 1, C]
  const padded = g.concat([zeroColumn, rows, zeroColumn], 2); // [B, n+2, n+2, C]
  const taps: Value[] = [];
  for (let dy = 0; dy < 3; dy++) {
    for (let dx = 0; dx < 3; dx++) taps.push(g.slice(padded, [dy, dx], [dy + n, dx + n], [1, 2]));
  }
  const unfolded = g.reshape(g.concat(taps, 3), [0, n * n, 9 * channels]); // tap-major, then input channel
  // [out, in, 3, 3] -> [out, 3, 3, in] -> [out, 9·in], matching the unfolded order.
  const w = g.reshape(g.transpose(param(p, `${prefix}.weight`), [0, 2, 3, 1]), [channels, 9 * channels]);
  const y = g.add(g.matmul(unfolded, g.transpose(w, [1, 0])), param(p, `${prefix}.bias`));
  return g.add(x, g.gelu(y, 'tanh'));
}

/** Patch embedding of `[B, 3, S, S]` as reshape + transpose + MatMul, plus the position embedding. */
function embed(g: Graph, config: ModelConfig, p: GraphParameters, image: Value, size: number, pos: string): Value {
  const P = config.patchSize;
  const G = size / P;
  const D = config.dim;
  const patches = g.reshape(g.transpose(g.reshape(image, [0, 3, G, P, G, P]), [0, 2, 4, 1, 3, 5]), [0, G * G, 3 * P * P]);
  const w = g.transpose(g.reshape(param(p, 'backbone.patch_embed.proj.weight'), [D, 3 * P * P]), [1, 0]);
  return g.add(g.add(g.matmul(patches, w), param(p, 'backbone.patch_embed.proj.bias')), param(p, pos));
}

/** Template tokens: patch embedding of the template image `[B, 3, t, t]` plus `pos_embed_z` → `[B, Nt, D]`. */
export function emitTemplateEmbedding(g: Graph, config: ModelConfig, p: GraphParameters, templateImage: Value): Value {
  return g.scope('template_embed', () => embed(g, config, p, templateImage, config.templateSize, 'backbone.pos_embed_z'));
}

/** Search tokens: patch embedding of the search image `[B, 3, s, s]` plus `pos_embed_x` → `[B, Ns, D]`. */
export function emitSearchEmbedding(g: Graph, config: ModelConfig, p: GraphParameters, searchImage: Value): Value {
  return g.scope('search_embed', () => embed(g, config, p, searchImage, config.searchSize, 'backbone.pos_embed_x'));
}

/** `[B, N, D]` → `[B, H, N, dh]`. */
function heads(g: Graph, config: ModelConfig, x: Value): Value {
  return g.transpose(g.reshape(x, [0, 0, config.heads, config.dim / config.heads]), [0, 2, 1, 3]);
}

/** softmax(q kᵀ / √dh) v over `[B, H, N, dh]` operands. */
function attend(g: Graph, config: ModelConfig, q: Value, k: Value, v: Value): Value {
  const scale = 1 / Math.sqrt(config.dim / config.heads);
  const logits = g.matmul(g.mul(q, scale), g.transpose(k, [0, 1, 3, 2]));
  return g.matmul(g.softmax(logits, -1), v);
}

/** How {@link emitBlock} treats its tokens. */
export type BlockLayout =
  /** `[B, Nt+Ns, D]`, everything attends to everything. */
  | { readonly kind: 'joint' }
  /** `[B, Nt+Ns, D]`, template tokens attend only to template tokens. */
  | { readonly kind: 'template-self' }
  /** `[B, Ns, D]` search tokens; the template's keys and values of this block come from the cache. */
  | { readonly kind: 'cached'; readonly template: TemplateKeysValues };

/** What {@link emitBlock} returns. */
export interface BlockValues {
  /** Tokens after the block (absent when only keys and values were asked for). */
  readonly tokens: Value | undefined;
  /** Keys and values of the block's input tokens, `[B, H, N, dh]`. */
  readonly keys: Value;
  readonly values: Value;
}

/**
 * One pre-norm ViT block (`x += attn(LN1(x)); x += mlp(LN2(x))`), GELU in its
 * tanh form. With `keysValuesOnly` the block stops after computing its keys and
 * values (the template encoder's last block).
 */
export function emitBlock(g: Graph, config: ModelConfig, p: GraphParameters, block: number, x: Value, layout: BlockLayout, keysValuesOnly = false): BlockValues {
  return g.scope(`block${block}`, (): BlockValues => {
    const pre = `backbone.blocks.${block}`;
    const D = config.dim;
    const eps = config.layerNormEps;
    const u = g.layerNorm(x, param(p, `${pre}.norm1.weight`), param(p, `${pre}.norm1.bias`), { axis: -1, epsilon: eps });
    const qkv = linear(g, p, u, `${pre}.attn.qkv`);
    const [q0, k0, v0] = g.split(qkv, [D, D, D], 2) as [Value, Value, Value];
    const k = heads(g, config, k0);
    const v = heads(g, config, v0);
    if (keysValuesOnly) return { tokens: undefined, keys: k, values: v };
    const q = heads(g, config, q0);
    let attended: Value;
    if (layout.kind === 'joint') {
      attended = attend(g, config, q, k, v);
    } else if (layout.kind === 'template-self') {
      const Nt = modelGeometry(config).templateTokens;
      const N = Nt + modelGeometry(config).searchTokens;
      const head = (t: Value): Value => g.slice(t, [0], [Nt], [2]);
      const tail = (t: Value): Value => g.slice(t, [Nt], [N], [2]);
      attended = g.concat([attend(g, config, head(q), head(k), head(v)), attend(g, config, tail(q), k, v)], 2);
    } else {
      attended = attend(g, config, q, g.concat([layout.template.keys, k], 2), g.concat([layout.template.values, v], 2));
    }
    const merged = g.reshape(g.transpose(attended, [0, 2, 1, 3]), [0, 0, D]);
    const y = g.add(x, linear(g, p, merged, `${pre}.attn.proj`));
    const w = g.layerNorm(y, param(p, `${pre}.norm2.weight`), param(p, `${pre}.norm2.bias`), { axis: -1, epsilon: eps });
    const hidden = g.gelu(linear(g, p, w, `${pre}.mlp.fc1`), 'tanh');
    return { tokens: g.add(y, linear(g, p, hidden, `${pre}.mlp.fc2`)), keys: k, values: v };
  });
}

/**
 * Exit head `k` over search tokens `[B, Ns, D]`: LN → projection → GELU
 * (+ recycled features and score map of exit k-1) = head features; a per-cell
 * trunk, then score (sigmoid), size (sigmoid) and offset (raw) maps; and the
 * decision branch over [mean-pooled features | score-softmax-pooled features |
 * max score | mean score] → terminating score.
 */
export function emitExit(g: Graph, config: ModelConfig, p: GraphParameters, k: number, searchTokens: Value, recycled: RecycledExit | undefined): ExitValues {
  const recycles = recyclesInto(config, k);
  if (recycles !== (recycled !== undefined)) throw new InvalidArgumentError(`emitExit: exit ${k} ${recycles ? 'needs' : 'takes no'} recycled inputs`);
  return g.scope(`exit${k}`, (): ExitValues => {
    const pre = `exits.${k}`;
    const n = modelGeometry(config).mapSize;
    const Ns = n * n;
    const u = g.layerNorm(searchTokens, param(p, `${pre}.norm.weight`), param(p, `${pre}.norm.bias`), { axis: -1, epsilon: config.layerNormEps });
    let features = g.gelu(linear(g, p, u, `${pre}.proj`), 'tanh');
    if (recycled) {
      const fromFeatures = linear(g, p, recycled.headFeatures, `${pre}.recycle.features`);
      const scoreTokens = g.reshape(recycled.scoreMap, [0, Ns, 1]);
      const fromScore = g.mul(scoreTokens, g.transpose(param(p, `${pre}.recycle.score.weight`), [1, 0]));
      features = g.add(g.add(features, fromFeatures), fromScore);
    }
    const trunk = g.gelu(linear(g, p, features, `${pre}.trunk`), 'tanh');
    const toMap = (tokens: Value, channels: number): Value => g.reshape(g.transpose(tokens, [0, 2, 1]), [0, channels, n, n]);
    const scoreTokenLogits = linear(g, p, trunk, `${pre}.score`);
    const scoreTokens = g.sigmoid(scoreTokenLogits);
    const scoreLogits = toMap(scoreTokenLogits, 1);
    const scoreMap = toMap(scoreTokens, 1);
    let sizeFeatures = trunk;
    for (let l = 0; l < (config.sizeConvLayers ?? 0); l++) sizeFeatures = residualConv3x3(g, p, sizeFeatures, n, config.headChannels, `${pre}.size_conv.${l}`);
    const sizeMap = toMap(g.sigmoid(linear(g, p, sizeFeatures, `${pre}.size`)), 2);
    const offsetMap = toMap(linear(g, p, config.offsetInput === 'size-branch' ? sizeFeatures : trunk, `${pre}.offset`), 2);
    const decisionLogit = g.scope('decision', () => {
      const mean = g.reduceMean(features, [1], false);
      const weights = g.softmax(scoreTokenLogits, 1);
      const pooled = g.reduceSum(g.mul(features, weights), [1], false);
      const maxScore = g.reduceMax(scoreTokens, [1], false);
      const meanScore = g.reduceMean(scoreTokens, [1], false);
      const d = g.concat([mean, pooled, maxScore, meanScore], 1);
      const hidden = g.gelu(linear(g, p, d, `${pre}.decision.fc1`), 'tanh');
      return linear(g, p, hidden, `${pre}.decision.fc2`);
    });
    return { scoreLogits, scoreMap, sizeMap, offsetMap, decisionLogit, terminatingScore: g.sigmoid(decisionLogit), headFeatures: features };
  });
}

/** Inputs of {@link emitModelForward}. */
export interface ModelForwardInputs {
  /** Normalised template crops `[B, 3, t, t]` in the graph's float type. */
  readonly templateImage: Value;
  /** Normalised search crops `[B, 3, s, s]`. */
  readonly searchImage: Value;
}

/**
 * The whole-model forward graph that training uses: emits, into `g`, the
 * forward of every stage and exit for a batch (no template cache; with
 * `templateAttention: 'self'` the template tokens attend only to themselves,
 * exactly as the cached export computes). `params` holds the weights by
 * safetensors name ({@link addParameterInputs} for training,
 * {@link addParameterInitializers} for a frozen graph). Returns handles to
 * every exit's maps (and score logits), terminating score (and logit), head
 * features, and the tokens after every stage; mark what the loss needs with
 * `g.output` or consume the handles directly.
 *
 * The staged export is built from the same functions ({@link emitBlock},
 * {@link emitExit}), and a test proves both compute the float64 reference.
 */
export function emitModelForward(g: Graph, config: ModelConfig, params: GraphParameters, inputs: ModelForwardInputs): ModelForwardValues {
  const geo = modelGeometry(config);
  const templateTokens = emitTemplateEmbedding(g, config, params, inputs.templateImage);
  const searchTokens = emitSearchEmbedding(g, config, params, inputs.searchImage);
  let tokens = g.concat([templateTokens, searchTokens], 1);
  const layout: BlockLayout = config.templateAttention === 'self' ? { kind: 'template-self' } : { kind: 'joint' };
  const stages: StageValues[] = [];
  let recycled: RecycledExit | undefined;
  geo.stageBlocks.forEach(([start, end], k) => {
    for (let b = start; b < end; b++) tokens = emitBlock(g, config, params, b, tokens, layout).tokens!;
    const search = g.slice(tokens, [geo.templateTokens], [geo.templateTokens + geo.searchTokens], [1]);
    const exit = emitExit(g, config, params, k, search, recycled);
    stages.push({ tokens, searchTokens: search, exit });
    recycled = recyclesInto(config, k + 1) ? { headFeatures: exit.headFeatures, scoreMap: exit.scoreMap } : undefined;
  });
  return { templateTokens, searchTokens, stages };
}
