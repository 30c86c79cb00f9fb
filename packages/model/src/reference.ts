import { InvalidArgumentError } from '@dytrack/core';
import { modelGeometry, recyclesInto, type ModelConfig } from './config.js';
import { validateWeights, type ModelWeights } from './weights.js';

/** One exit of the float64 reference forward pass (batch 1). */
export interface ReferenceExit {
  /** Score map (sigmoid), `[n*n]` row-major. */
  readonly scoreMap: Float64Array;
  /** Score-map logits, `[n*n]`. */
  readonly scoreLogits: Float64Array;
  /** Size map (sigmoid), `[2, n, n]` (w then h). */
  readonly sizeMap: Float64Array;
  /** Offset map (raw, cells), `[2, n, n]` (x then y). */
  readonly offsetMap: Float64Array;
  /** Terminating score (predicted IoU, sigmoid). */
  readonly terminatingScore: number;
  /** Head features `[n*n, headChannels]` (token-major), recycled by the next exit. */
  readonly headFeatures: Float64Array;
}

/** One stage of the float64 reference forward pass. */
export interface ReferenceStage {
  /** All tokens after the stage's blocks, `[Nt + Ns, dim]` (template first). */
  readonly tokens: Float64Array;
  readonly exit: ReferenceExit;
}

/** The float64 reference forward pass of a whole model for one template/search pair. */
export interface ReferenceForward {
  /** Template tokens after patch and position embedding, `[Nt, dim]`. */
  readonly templateTokens: Float64Array;
  /**
   * Keys and values of the template tokens at each block, `[heads, Nt, headDim]`
   * each (what a template-cache model's template encoder outputs).
   */
  readonly templateKeys: readonly Float64Array[];
  /** Values of the template tokens at each block, `[heads, Nt, headDim]` each. */
  readonly templateValues: readonly Float64Array[];
  readonly stages: readonly ReferenceStage[];
}

/** A float32 or float64 array (images and weights given to the reference). */
export type FloatArray = Float32Array | Float64Array;
type Vec = FloatArray;

function linear(x: Float64Array, rows: number, inDim: number, w: Vec, b: Vec | undefined, outDim: number): Float64Array {
  const y = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    const xo = r * inDim;
    for (let o = 0; o < outDim; o++) {
      const wo = o * inDim;
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inDim; i++) s += x[xo + i]! * w[wo + i]!;
      y[r * outDim + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, rows: number, dim: number, g: Vec, b: Vec, eps: number): Float64Array {
  const y = new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < dim; i++) mean += x[r * dim + i]!;
    mean /= dim;
    let v = 0;
    for (let i = 0; i < dim; i++) v += (x[r * dim + i]! - mean) ** 2;
    v /= dim;
    const inv = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < dim; i++) y[r * dim + i] = (x[r * dim + i]! - mean) * inv * g[i]! + b[i]!;
  }
  return y;
}

/** GELU, tanh form (what the graphs compute). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

function geluInPlace(x: Float64Array): Float64Array {
  for (let i = 0; i < x.length; i++) x[i] = geluTanh(x[i]!);
  return x;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** `x + GELU(conv3x3(x))` over `[n·n, C]` row-major cells, zero padding 1, PyTorch `[out, in, 3, 3]` weights. */
function residualConv3x3(x: Float64Array, n: number, C: number, w: Vec, b: Vec): Float64Array {
  const y = new Float64Array(x.length);
  for (let iy = 0; iy < n; iy++) {
    for (let ix = 0; ix < n; ix++) {
      for (let o = 0; o < C; o++) {
        let s = b[o]!;
        for (let ky = 0; ky < 3; ky++) {
          const sy = iy + ky - 1;
          if (sy < 0 || sy >= n) continue;
          for (let kx = 0; kx < 3; kx++) {
            const sx = ix + kx - 1;
            if (sx < 0 || sx >= n) continue;
            const cell = (sy * n + sx) * C;
            for (let i = 0; i < C; i++) s += x[cell + i]! * w[((o * C + i) * 3 + ky) * 3 + kx]!;
          }
        }
        y[(iy * n + ix) * C + o] = x[(iy * n + ix) * C + o]! + geluTanh(s);
      }
    }
  }
  return y;
}

function patchEmbed(image: Vec, size: number, patch: number, w: Vec, b: Vec, dim: number): Float64Array {
  const grid = size / patch;
  const tokens = new Float64Array(grid * grid * dim);
  const plane = size * size;
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const t = gy * grid + gx;
      for (let o = 0; o < dim; o++) {
        let s = b[o]!;
        let wi = o * 3 * patch * patch;
        for (let c = 0; c < 3; c++) {
          for (let ky = 0; ky < patch; ky++) {
            const row = c * plane + (gy * patch + ky) * size + gx * patch;
            for (let kx = 0; kx < patch; kx++) s += image[row + kx]! * w[wi++]!;
          }
        }
        tokens[t * dim + o] = s;
      }
    }
  }
  return tokens;
}

/**
 * The independent float64 forward pass, in plain TypeScript loops, of the
 * architecture `config` for one template and one search crop (normalised,
 * NCHW `[3, size, size]` without the batch dimension). Slow by design: it is
 * the reference the ONNX graphs are tested against.
 */
export function referenceForward(config: ModelConfig, weights: ModelWeights, templateImage: FloatArray, searchImage: FloatArray): ReferenceForward {
  validateWeights(config, weights);
  const g = modelGeometry(config);
  if (templateImage.length !== 3 * config.templateSize ** 2) throw new InvalidArgumentError(`referenceForward: template image needs ${3 * config.templateSize ** 2} values`);
  if (searchImage.length !== 3 * config.searchSize ** 2) throw new InvalidArgumentError(`referenceForward: search image needs ${3 * config.searchSize ** 2} values`);
  const W = (name: string): Float32Array => weights.get(name)!;
  const D = config.dim;
  const C = config.headChannels;
  const Nt = g.templateTokens;
  const Ns = g.searchTokens;
  const N = Nt + Ns;
  const dh = g.headDim;
  const eps = config.layerNormEps;

  const templateTokens = patchEmbed(templateImage, config.templateSize, config.patchSize, W('backbone.patch_embed.proj.weight'), W('backbone.patch_embed.proj.bias'), D);
  const posZ = W('backbone.pos_embed_z');
  for (let i = 0; i < templateTokens.length; i++) templateTokens[i] = templateTokens[i]! + posZ[i]!;
  const searchTokens = patchEmbed(searchImage, config.searchSize, config.patchSize, W('backbone.patch_embed.proj.weight'), W('backbone.patch_embed.proj.bias'), D);
  const posX = W('backbone.pos_embed_x');
  for (let i = 0; i < searchTokens.length; i++) searchTokens[i] = searchTokens[i]! + posX[i]!;

  const x = new Float64Array(N * D);
  x.set(templateTokens, 0);
  x.set(searchTokens, Nt * D);
  const templateKeys: Float64Array[] = [];
  const templateValues: Float64Array[] = [];

  const block = (b: number): void => {
    const pre = `backbone.blocks.${b}`;
    const u = layerNorm(x, N, D, W(`${pre}.norm1.weight`), W(`${pre}.norm1.bias`), eps);
    const qkv = linear(u, N, D, W(`${pre}.attn.qkv.weight`), W(`${pre}.attn.qkv.bias`), 3 * D);
    const keys = new Float64Array(config.heads * Nt * dh);
    const values = new Float64Array(config.heads * Nt * dh);
    for (let h = 0; h < config.heads; h++) {
      for (let t = 0; t < Nt; t++) {
        for (let j = 0; j < dh; j++) {
          keys[(h * Nt + t) * dh + j] = qkv[t * 3 * D + D + h * dh + j]!;
          values[(h * Nt + t) * dh + j] = qkv[t * 3 * D + 2 * D + h * dh + j]!;
        }
      }
    }
    templateKeys.push(keys);
    templateValues.push(values);
    const attended = new Float64Array(N * D);
    const scale = 1 / Math.sqrt(dh);
    const logits = new Float64Array(N);
    for (let h = 0; h < config.heads; h++) {
      for (let i = 0; i < N; i++) {
        const keyCount = config.templateAttention === 'self' && i < Nt ? Nt : N;
        let max = -Infinity;
        for (let j = 0; j < keyCount; j++) {
          let s = 0;
          for (let c = 0; c < dh; c++) s += qkv[i * 3 * D + h * dh + c]! * qkv[j * 3 * D + D + h * dh + c]!;
          logits[j] = s * scale;
          if (logits[j]! > max) max = logits[j]!;
        }
        let sum = 0;
        for (let j = 0; j < keyCount; j++) {
          logits[j] = Math.exp(logits[j]! - max);
          sum += logits[j]!;
        }
        for (let c = 0; c < dh; c++) {
          let s = 0;
          for (let j = 0; j < keyCount; j++) s += logits[j]! * qkv[j * 3 * D + 2 * D + h * dh + c]!;
          attended[i * D + h * dh + c] = s / sum;
        }
      }
    }
    const proj = linear(attended, N, D, W(`${pre}.attn.proj.weight`), W(`${pre}.attn.proj.bias`), D);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + proj[i]!;
    const v = layerNorm(x, N, D, W(`${pre}.norm2.weight`), W(`${pre}.norm2.bias`), eps);
    const hidden = geluInPlace(linear(v, N, D, W(`${pre}.mlp.fc1.weight`), W(`${pre}.mlp.fc1.bias`), g.mlpHidden));
    const out = linear(hidden, N, g.mlpHidden, W(`${pre}.mlp.fc2.weight`), W(`${pre}.mlp.fc2.bias`), D);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + out[i]!;
  };

  const stages: ReferenceStage[] = [];
  let previous: ReferenceExit | undefined;
  config.stageDepths.forEach((_, k) => {
    const [start, end] = g.stageBlocks[k]!;
    for (let b = start; b < end; b++) block(b);
    const pre = `exits.${k}`;
    const search = x.subarray(Nt * D);
    const u = layerNorm(search, Ns, D, W(`${pre}.norm.weight`), W(`${pre}.norm.bias`), eps);
    const features = geluInPlace(linear(u, Ns, D, W(`${pre}.proj.weight`), W(`${pre}.proj.bias`), C));
    if (previous && recyclesInto(config, k)) {
      const recycled = linear(previous.headFeatures, Ns, C, W(`${pre}.recycle.features.weight`), W(`${pre}.recycle.features.bias`), C);
      const ws = W(`${pre}.recycle.score.weight`);
      for (let i = 0; i < Ns; i++) for (let c = 0; c < C; c++) features[i * C + c] = features[i * C + c]! + recycled[i * C + c]! + previous.scoreMap[i]! * ws[c]!;
    }
    const trunk = geluInPlace(linear(features, Ns, C, W(`${pre}.trunk.weight`), W(`${pre}.trunk.bias`), C));
    const scoreLogits = linear(trunk, Ns, C, W(`${pre}.score.weight`), W(`${pre}.score.bias`), 1);
    let sizeFeatures = trunk;
    for (let l = 0; l < (config.sizeConvLayers ?? 0); l++) sizeFeatures = residualConv3x3(sizeFeatures, g.mapSize, C, W(`${pre}.size_conv.${l}.weight`), W(`${pre}.size_conv.${l}.bias`));
    const sizeLogits = linear(sizeFeatures, Ns, C, W(`${pre}.size.weight`), W(`${pre}.size.bias`), 2);
    const offsets = linear(config.offsetInput === 'size-branch' ? sizeFeatures : trunk, Ns, C, W(`${pre}.offset.weight`), W(`${pre}.offset.bias`), 2);
    const scoreMap = scoreLogits.map(sigmoid);
    const sizeMap = new Float64Array(2 * Ns);
    const offsetMap = new Float64Array(2 * Ns);
    for (let i = 0; i < Ns; i++) {
      for (let c = 0; c < 2; c++) {
        sizeMap[c * Ns + i] = sigmoid(sizeLogits[i * 2 + c]!);
        offsetMap[c * Ns + i] = offsets[i * 2 + c]!;
      }
    }
    // Decision branch: [mean-pooled features | score-softmax-pooled features | max score | mean score].
    const d = new Float64Array(2 * C + 2);
    let maxLogit = -Infinity;
    for (let i = 0; i < Ns; i++) maxLogit = Math.max(maxLogit, scoreLogits[i]!);
    let z = 0;
    for (let i = 0; i < Ns; i++) z += Math.exp(scoreLogits[i]! - maxLogit);
    let maxScore = -Infinity;
    let meanScore = 0;
    for (let i = 0; i < Ns; i++) {
      const wgt = Math.exp(scoreLogits[i]! - maxLogit) / z;
      for (let c = 0; c < C; c++) {
        d[c] = d[c]! + features[i * C + c]! / Ns;
        d[C + c] = d[C + c]! + wgt * features[i * C + c]!;
      }
      maxScore = Math.max(maxScore, scoreMap[i]!);
      meanScore += scoreMap[i]! / Ns;
    }
    d[2 * C] = maxScore;
    d[2 * C + 1] = meanScore;
    const hidden = geluInPlace(linear(d, 1, 2 * C + 2, W(`${pre}.decision.fc1.weight`), W(`${pre}.decision.fc1.bias`), config.decisionHidden));
    const logit = linear(hidden, 1, config.decisionHidden, W(`${pre}.decision.fc2.weight`), W(`${pre}.decision.fc2.bias`), 1)[0]!;
    const exit: ReferenceExit = { scoreMap, scoreLogits, sizeMap, offsetMap, terminatingScore: sigmoid(logit), headFeatures: features };
    stages.push({ tokens: x.slice(), exit });
    previous = exit;
  });
  return { templateTokens, templateKeys, templateValues, stages };
}
