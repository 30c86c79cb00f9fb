import { modelGeometry, recyclesInto, type ModelConfig } from './config.js';

/** Where a parameter lives in the staged export. */
export type ParameterOwner = { readonly kind: 'embedding' } | { readonly kind: 'block'; readonly block: number } | { readonly kind: 'exit'; readonly exit: number };

/** How {@link initWeights} initialises a parameter for training. */
export type ParameterInit =
  | { readonly kind: 'trunc-normal'; readonly std: number }
  | { readonly kind: 'constant'; readonly value: number };

/** One named tensor of the architecture (an entry of the name map). */
export interface ParameterSpec {
  /** safetensors name (timm / OSTrack naming for the backbone). */
  readonly name: string;
  /** Shape, PyTorch layout (`nn.Linear` weights are `[out, in]`). */
  readonly shape: readonly number[];
  /** What the tensor is, for people mapping weights trained elsewhere. */
  readonly description: string;
  readonly owner: ParameterOwner;
  readonly init: ParameterInit;
}

const TRUNC = { kind: 'trunc-normal', std: 0.02 } as const;
const ZERO = { kind: 'constant', value: 0 } as const;
const ONE = { kind: 'constant', value: 1 } as const;

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Width of the decision branch's input: mean-pooled and score-pooled head features plus 2 score-map statistics. */
export function decisionInputWidth(config: ModelConfig): number {
  return 2 * config.headChannels + 2;
}

/**
 * Every parameter of the architecture, in a stable order: the name map of the
 * safetensors weights. Backbone names follow timm's ViT and OSTrack
 * (`backbone.blocks.3.attn.qkv.weight`), so OSTrack-style checkpoints map
 * one-to-one; exit heads are `exits.{k}.*`.
 */
export function parameterSpecs(config: ModelConfig): ParameterSpec[] {
  const g = modelGeometry(config);
  const D = config.dim;
  const C = config.headChannels;
  const p = config.patchSize;
  const H = g.mlpHidden;
  const specs: ParameterSpec[] = [];
  const emb = { kind: 'embedding' } as const;
  specs.push(
    { name: 'backbone.patch_embed.proj.weight', shape: [D, 3, p, p], description: 'patch embedding (a stride-p convolution, PyTorch Conv2d layout [out, in, kh, kw]); shared by template and search', owner: emb, init: TRUNC },
    { name: 'backbone.patch_embed.proj.bias', shape: [D], description: 'patch embedding bias', owner: emb, init: ZERO },
    { name: 'backbone.pos_embed_z', shape: [1, g.templateTokens, D], description: 'learned position embedding of the template tokens (row-major patch order)', owner: emb, init: TRUNC },
    { name: 'backbone.pos_embed_x', shape: [1, g.searchTokens, D], description: 'learned position embedding of the search tokens (row-major patch order)', owner: emb, init: TRUNC },
  );
  for (let b = 0; b < g.depth; b++) {
    const owner = { kind: 'block', block: b } as const;
    const pre = `backbone.blocks.${b}`;
    specs.push(
      { name: `${pre}.norm1.weight`, shape: [D], description: 'pre-attention LayerNorm scale', owner, init: ONE },
      { name: `${pre}.norm1.bias`, shape: [D], description: 'pre-attention LayerNorm shift', owner, init: ZERO },
      { name: `${pre}.attn.qkv.weight`, shape: [3 * D, D], description: 'fused query/key/value projection; rows [0,D) query, [D,2D) key, [2D,3D) value; head h uses columns h*dh..(h+1)*dh of each', owner, init: TRUNC },
      { name: `${pre}.attn.qkv.bias`, shape: [3 * D], description: 'query/key/value bias', owner, init: ZERO },
      { name: `${pre}.attn.proj.weight`, shape: [D, D], description: 'attention output projection', owner, init: TRUNC },
      { name: `${pre}.attn.proj.bias`, shape: [D], description: 'attention output bias', owner, init: ZERO },
      { name: `${pre}.norm2.weight`, shape: [D], description: 'pre-MLP LayerNorm scale', owner, init: ONE },
      { name: `${pre}.norm2.bias`, shape: [D], description: 'pre-MLP LayerNorm shift', owner, init: ZERO },
      { name: `${pre}.mlp.fc1.weight`, shape: [H, D], description: 'MLP expansion (GELU follows)', owner, init: TRUNC },
      { name: `${pre}.mlp.fc1.bias`, shape: [H], description: 'MLP expansion bias', owner, init: ZERO },
      { name: `${pre}.mlp.fc2.weight`, shape: [D, H], description: 'MLP contraction', owner, init: TRUNC },
      { name: `${pre}.mlp.fc2.bias`, shape: [D], description: 'MLP contraction bias', owner, init: ZERO },
    );
  }
  // Focal-loss prior: the score map starts near 0.01; sizes start at the
  // typical target size in the search crop (1 / searchContextFactor).
  const scorePrior = -Math.log((1 - 0.01) / 0.01);
  const sizePrior = Math.log(1 / config.searchContextFactor / (1 - 1 / config.searchContextFactor));
  for (let k = 0; k < config.stageDepths.length; k++) {
    const owner = { kind: 'exit', exit: k } as const;
    const pre = `exits.${k}`;
    specs.push(
      { name: `${pre}.norm.weight`, shape: [D], description: `exit ${k}: LayerNorm over the search tokens, scale`, owner, init: ONE },
      { name: `${pre}.norm.bias`, shape: [D], description: `exit ${k}: LayerNorm shift`, owner, init: ZERO },
      { name: `${pre}.proj.weight`, shape: [C, D], description: `exit ${k}: token -> head feature projection (GELU follows)`, owner, init: TRUNC },
      { name: `${pre}.proj.bias`, shape: [C], description: `exit ${k}: projection bias`, owner, init: ZERO },
    );
    if (recyclesInto(config, k)) {
      specs.push(
        { name: `${pre}.recycle.features.weight`, shape: [C, C], description: `exit ${k}: learned projection of exit ${k - 1}'s head features, added to this exit's features`, owner, init: TRUNC },
        { name: `${pre}.recycle.score.weight`, shape: [C, 1], description: `exit ${k}: projection of exit ${k - 1}'s score map (per cell), added`, owner, init: TRUNC },
        { name: `${pre}.recycle.features.bias`, shape: [C], description: `exit ${k}: recycling bias`, owner, init: ZERO },
      );
    }
    for (let l = 0; l < (config.sizeConvLayers ?? 0); l++) {
      specs.push(
        { name: `${pre}.size_conv.${l}.weight`, shape: [C, C, 3, 3], description: `exit ${k}: size branch, residual 3x3 convolution ${l} over the trunk's feature map (PyTorch Conv2d layout, zero padding 1; GELU follows)`, owner, init: TRUNC },
        { name: `${pre}.size_conv.${l}.bias`, shape: [C], description: `exit ${k}: size branch convolution ${l} bias`, owner, init: ZERO },
      );
    }
    specs.push(
      { name: `${pre}.trunk.weight`, shape: [C, C], description: `exit ${k}: shared per-cell layer after the head features (GELU follows)`, owner, init: TRUNC },
      { name: `${pre}.trunk.bias`, shape: [C], description: `exit ${k}: trunk bias`, owner, init: ZERO },
      { name: `${pre}.score.weight`, shape: [1, C], description: `exit ${k}: score-map logit (sigmoid follows)`, owner, init: TRUNC },
      { name: `${pre}.score.bias`, shape: [1], description: `exit ${k}: score-map bias (focal prior)`, owner, init: { kind: 'constant', value: scorePrior } },
      { name: `${pre}.size.weight`, shape: [2, C], description: `exit ${k}: size-map logits (w, h; sigmoid follows)`, owner, init: TRUNC },
      { name: `${pre}.size.bias`, shape: [2], description: `exit ${k}: size-map bias`, owner, init: { kind: 'constant', value: sizePrior } },
      { name: `${pre}.offset.weight`, shape: [2, C], description: `exit ${k}: offset map (x, y in cells, raw)`, owner, init: TRUNC },
      { name: `${pre}.offset.bias`, shape: [2], description: `exit ${k}: offset-map bias`, owner, init: ZERO },
      {
        name: `${pre}.decision.fc1.weight`,
        shape: [config.decisionHidden, decisionInputWidth(config)],
        description: `exit ${k}: decision branch layer 1 over [mean-pooled head features (C) | score-weighted pooled head features (C) | max score | mean score] (GELU follows)`,
        owner,
        init: TRUNC,
      },
      { name: `${pre}.decision.fc1.bias`, shape: [config.decisionHidden], description: `exit ${k}: decision layer 1 bias`, owner, init: ZERO },
      { name: `${pre}.decision.fc2.weight`, shape: [1, config.decisionHidden], description: `exit ${k}: decision layer 2 -> predicted IoU logit (sigmoid follows: the terminating score)`, owner, init: TRUNC },
      { name: `${pre}.decision.fc2.bias`, shape: [1], description: `exit ${k}: decision layer 2 bias`, owner, init: ZERO },
    );
  }
  return specs;
}

/** Number of elements of a parameter. */
export function parameterSize(spec: ParameterSpec): number {
  return product(spec.shape);
}
