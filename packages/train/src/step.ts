import { buildTrainingStep, type AdamWOptions, type TrainingStep } from '@dytrack/autograd';
import { dytrackLoss, resolveLossConfig, type LossConfig, type ResolvedLossConfig } from '@dytrack/distill';
import { emitModelForward, modelGeometry, parameterSpecs, type ModelConfig } from '@dytrack/model';
import { InvalidArgumentError } from '@dytrack/core';
import { TRAINING_GRADIENT_RULES } from './rules.js';

/** Graph input names of the data a DyTrack training step takes (fed by the batch loader). */
export const BATCH_INPUTS = {
  /** `[B, 3, t, t]` normalised template crops. */
  templateImage: 'template_image',
  /** `[B, 3, s, s]` normalised search crops. */
  searchImage: 'search_image',
  /** `[B, 1, n, n]` Gaussian heat maps (OSTrack's focal target). */
  heatmap: 'heatmap',
  /** `[B, 4]` truth boxes `(cx, cy, w, h)` in fractions of the search crop. */
  boxes: 'boxes',
  /** `[B, n·n]` target-aware token weights of the feature-mimicking loss. */
  tokenMask: 'token_mask',
} as const;

/** Options of {@link buildDyTrackTrainingStep}. */
export interface DyTrackStepOptions {
  /** Samples per step. */
  readonly batchSize: number;
  /** Loss weights and settings (defaults: `@dytrack/distill`'s). */
  readonly loss?: LossConfig;
  /** AdamW settings (default: weight decay 1e-4, gradient clipping at norm 0.1, as OSTrack). */
  readonly optimizer?: AdamWOptions;
  /**
   * Train only these parameters (names as in `@dytrack/model`'s `parameterSpecs`); the rest
   * are frozen: read by the forward, never updated. Default: all. See {@link selectParameters}.
   */
  readonly trainable?: ReadonlySet<string>;
}

/** A built DyTrack training step with the loss configuration it was built with. */
export interface DyTrackTrainingStep extends TrainingStep {
  /** The fully resolved loss configuration (what the manifest's provenance records). */
  readonly loss: ResolvedLossConfig;
  /** Samples per step. */
  readonly batchSize: number;
}

/** OSTrack's optimizer settings (`WEIGHT_DECAY 1e-4`, `GRAD_CLIP_NORM 0.1`). */
export const DEFAULT_OPTIMIZER: Readonly<AdamWOptions> = Object.freeze({ weightDecay: 1e-4, maxGradNorm: 0.1 });

/**
 * The DyTrack training step as one ONNX graph: `@dytrack/model`'s whole-model forward
 * over a batch, `@dytrack/distill`'s `dytrackLoss` over every exit (tracking losses,
 * decision branches against the detached IoU of each exit's box, target-aware feature
 * mimicking of the head features and score-map KL towards the last exit), gradients and
 * AdamW (`@dytrack/autograd`). Every loss component is a metric output. Weight decay
 * applies to weight matrices only (not to biases, norms or position embeddings).
 */
export function buildDyTrackTrainingStep(config: ModelConfig, options: DyTrackStepOptions): DyTrackTrainingStep {
  const B = options.batchSize;
  if (!Number.isInteger(B) || B < 1) throw new InvalidArgumentError(`batchSize must be a positive integer, got ${String(B)}`);
  if (options.trainable) {
    const known = new Set(parameterSpecs(config).map((p) => p.name));
    for (const name of options.trainable) if (!known.has(name)) throw new InvalidArgumentError(`trainable: ${config.name} has no parameter ${JSON.stringify(name)}`);
  }
  const geo = modelGeometry(config);
  const n = geo.mapSize;
  const K = geo.stageBlocks.length;
  const loss = resolveLossConfig(options.loss ?? {}, K);
  const step = buildTrainingStep({
    dtype: 'float32',
    parameters: parameterSpecs(config).map((p) => ({
      name: p.name,
      dims: p.shape,
      weightDecay: p.shape.length >= 2 && !p.name.includes('pos_embed'),
      ...(options.trainable && !options.trainable.has(p.name) ? { trainable: false } : {}),
    })),
    inputs: [
      { name: BATCH_INPUTS.templateImage, dtype: 'float32', shape: [B, 3, config.templateSize, config.templateSize] },
      { name: BATCH_INPUTS.searchImage, dtype: 'float32', shape: [B, 3, config.searchSize, config.searchSize] },
      { name: BATCH_INPUTS.heatmap, dtype: 'float32', shape: [B, 1, n, n] },
      { name: BATCH_INPUTS.boxes, dtype: 'float32', shape: [B, 4] },
      { name: BATCH_INPUTS.tokenMask, dtype: 'float32', shape: [B, n * n] },
    ],
    optimizer: { ...DEFAULT_OPTIMIZER, ...options.optimizer },
    rules: TRAINING_GRADIENT_RULES,
    forward: (g, params, inputs) => {
      // Parameters are graph inputs of the step already; hand them to the model by name.
      const fwd = emitModelForward(g, config, new Map(Object.entries(params)), {
        templateImage: inputs[BATCH_INPUTS.templateImage]!,
        searchImage: inputs[BATCH_INPUTS.searchImage]!,
      });
      const result = dytrackLoss(
        g,
        fwd.stages.map((s) => ({
          scoreMap: s.exit.scoreMap,
          sizeMap: s.exit.sizeMap,
          offsetMap: s.exit.offsetMap,
          terminatingScore: s.exit.terminatingScore,
          searchTokens: s.exit.headFeatures,
        })),
        { heatmap: inputs[BATCH_INPUTS.heatmap]!, boxes: inputs[BATCH_INPUTS.boxes]!, tokenMask: inputs[BATCH_INPUTS.tokenMask]! },
        loss,
      );
      return { loss: result.total, metrics: result.components };
    },
  });
  return { ...step, loss, batchSize: B };
}

/**
 * The parameters of `config` that any of `patterns` names. A pattern is a run of whole
 * dot-separated segments of a parameter name: `decision` picks every exit's decision
 * branch (`exits.0.decision.fc1.weight`, ...), `exits.2` the last exit's head,
 * `backbone.blocks.6` one block, a full name one tensor.
 * @throws InvalidArgumentError when a pattern is empty or names no parameter.
 */
export function selectParameters(config: ModelConfig, patterns: readonly string[]): Set<string> {
  const names = parameterSpecs(config).map((p) => p.name);
  const picked = new Set<string>();
  for (const pattern of patterns) {
    const trimmed = pattern.trim();
    if (trimmed === '' || trimmed.startsWith('.') || trimmed.endsWith('.')) throw new InvalidArgumentError(`parameter pattern ${JSON.stringify(pattern)} is not a run of name segments (like "decision" or "exits.2")`);
    const needle = `.${trimmed}.`;
    const hits = names.filter((n) => `.${n}.`.includes(needle));
    if (hits.length === 0) throw new InvalidArgumentError(`parameter pattern ${JSON.stringify(pattern)} names no parameter of ${config.name} (names look like ${names[0]} and ${names[names.length - 1]})`);
    for (const h of hits) picked.add(h);
  }
  return picked;
}
