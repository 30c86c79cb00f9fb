import { modelGeometry, recyclesInto, type ModelConfig } from './config.js';
import { decisionInputWidth, parameterSize, parameterSpecs } from './params.js';

/** FLOPs and parameters of one exported graph. */
export interface GraphCost {
  /**
   * Multiply-adds x2 of every MatMul of one run. Element-wise ops, softmax,
   * LayerNorm and reductions are not counted (a few percent).
   */
  readonly flops: number;
  /** Parameters stored in the graph. */
  readonly params: number;
  /** Names of the parameters the graph holds. */
  readonly parameterNames: readonly string[];
}

/** Costs of a staged export. */
export interface ModelCost {
  /** The graph run once at init on the template. */
  readonly templateEncoder: GraphCost;
  /** One per stage, in order. */
  readonly stages: readonly GraphCost[];
  /** Per-frame FLOPs at full depth (sum of the stages). */
  readonly fullDepthFlops: number;
  /** All parameters of the architecture. */
  readonly totalParams: number;
}

/** Export layout options shared by the cost model and the exporter. */
export interface LayoutOptions {
  /**
   * Cache the template's per-block keys and values at init (needs
   * `templateAttention: 'self'`); stages then carry only search tokens.
   */
  readonly templateCache?: boolean;
}

const BLOCK_PARAMS = ['norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias', 'attn.proj.weight', 'attn.proj.bias', 'norm2.weight', 'norm2.bias', 'mlp.fc1.weight', 'mlp.fc1.bias', 'mlp.fc2.weight', 'mlp.fc2.bias'];

/**
 * FLOPs and parameters per exported graph, computed from the configuration
 * alone (what `dytrack export` prints and writes into the manifest).
 */
export function modelCost(config: ModelConfig, options: LayoutOptions = {}): ModelCost {
  const g = modelGeometry(config);
  const D = config.dim;
  const C = config.headChannels;
  const Nt = g.templateTokens;
  const Ns = g.searchTokens;
  const N = Nt + Ns;
  const patch = 3 * config.patchSize * config.patchSize;
  const cache = options.templateCache === true;
  const sizes = new Map(parameterSpecs(config).map((s) => [s.name, parameterSize(s)]));
  const paramsOf = (names: readonly string[]): number => names.reduce((a, n) => a + (sizes.get(n) ?? 0), 0);

  // Projections (qkv, proj, fc1, fc2) for `tokens` tokens.
  const projections = (tokens: number): number => 2 * tokens * (3 * D * D + D * D + 2 * D * g.mlpHidden);
  // Scores and weighted sum for `queries` queries over `keys` keys, all heads.
  const attention = (queries: number, keys: number): number => 2 * 2 * queries * keys * D;
  const blockNames = (b: number, only?: readonly string[]): string[] => (only ?? BLOCK_PARAMS).map((p) => `backbone.blocks.${b}.${p}`);

  const templateNames = ['backbone.patch_embed.proj.weight', 'backbone.patch_embed.proj.bias', 'backbone.pos_embed_z'];
  let templateFlops = 2 * Nt * patch * D;
  if (cache) {
    for (let b = 0; b < g.depth; b++) {
      if (b < g.depth - 1) {
        templateFlops += projections(Nt) + attention(Nt, Nt);
        templateNames.push(...blockNames(b));
      } else {
        templateFlops += 2 * Nt * D * 2 * D; // keys and values of the last block only
        templateNames.push(...blockNames(b, ['norm1.weight', 'norm1.bias', 'attn.qkv.weight', 'attn.qkv.bias']));
      }
    }
  }

  const stages: GraphCost[] = config.stageDepths.map((_, k) => {
    const names: string[] = [];
    let flops = 0;
    if (k === 0) {
      names.push('backbone.patch_embed.proj.weight', 'backbone.patch_embed.proj.bias', 'backbone.pos_embed_x');
      flops += 2 * Ns * patch * D;
    }
    const [start, end] = g.stageBlocks[k]!;
    for (let b = start; b < end; b++) {
      names.push(...blockNames(b));
      if (cache) flops += projections(Ns) + attention(Ns, N);
      else if (config.templateAttention === 'self') flops += projections(N) + attention(Nt, Nt) + attention(Ns, N);
      else flops += projections(N) + attention(N, N);
    }
    const pre = `exits.${k}`;
    names.push(`${pre}.norm.weight`, `${pre}.norm.bias`, `${pre}.proj.weight`, `${pre}.proj.bias`);
    flops += 2 * Ns * D * C; // proj
    if (recyclesInto(config, k)) {
      names.push(`${pre}.recycle.features.weight`, `${pre}.recycle.score.weight`, `${pre}.recycle.features.bias`);
      flops += 2 * Ns * C * C; // the score map's contribution is element-wise
    }
    for (let l = 0; l < (config.sizeConvLayers ?? 0); l++) {
      names.push(`${pre}.size_conv.${l}.weight`, `${pre}.size_conv.${l}.bias`);
      flops += 2 * Ns * 9 * C * C;
    }
    names.push(`${pre}.trunk.weight`, `${pre}.trunk.bias`, `${pre}.score.weight`, `${pre}.score.bias`, `${pre}.size.weight`, `${pre}.size.bias`, `${pre}.offset.weight`, `${pre}.offset.bias`);
    flops += 2 * Ns * C * C + 2 * Ns * C * 5;
    names.push(`${pre}.decision.fc1.weight`, `${pre}.decision.fc1.bias`, `${pre}.decision.fc2.weight`, `${pre}.decision.fc2.bias`);
    flops += 2 * decisionInputWidth(config) * config.decisionHidden + 2 * config.decisionHidden;
    return { flops, params: paramsOf(names), parameterNames: names };
  });

  return {
    templateEncoder: { flops: templateFlops, params: paramsOf(templateNames), parameterNames: templateNames },
    stages,
    fullDepthFlops: stages.reduce((a, s) => a + s.flops, 0),
    totalParams: [...sizes.values()].reduce((a, b) => a + b, 0),
  };
}
