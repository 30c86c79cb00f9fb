import { InvalidArgumentError } from '@dytrack/core';

/**
 * Weights of the terms of the DyTrack training loss (DESIGN section 7). Per exit `k`:
 *
 * `tracking_k = giou · L_giou + l1 · L_l1 + focal · L_focal + decision · L_decision + sizeDense · L_sizeDense + offsetDense · L_offsetDense`
 *
 * and over all exits, with `K` the last (deepest) one:
 *
 * `total = Σ_k exits[k] · tracking_k + Σ_{k<K} (feature · L_feature(k, K) + scoreKL · L_kl(k, K))`.
 */
export interface LossWeights {
  /** Generalised IoU loss of the decoded box (OSTrack: 2). */
  readonly giou: number;
  /** L1 loss of the decoded box's corners (OSTrack: 5). */
  readonly l1: number;
  /** Focal loss of the score map against the Gaussian heat map (OSTrack: 1). */
  readonly focal: number;
  /** Decision branch: predicted IoU against the detached IoU of the exit's box. */
  readonly decision: number;
  /**
   * Dense size supervision: L1 of the size map against the truth's (w, h) at every cell,
   * weighted by the Gaussian heat map (CenterNet regresses size at the truth's centre).
   * OSTrack reads the size at one cell, the predicted peak; this term gives the size
   * branch a signal at every cell near the target from the first step. Default 0.
   */
  readonly sizeDense?: number;
  /**
   * Dense offset supervision: L1 of the offset map against the truth centre's position
   * relative to each cell (`cx·n - ix`, `cy·n - iy`, in cells) at every cell, weighted by
   * the Gaussian heat map. The box is decoded at the predicted peak, which lands on a
   * neighbour of the truth's cell as often as on it; with the offset trained only at the
   * peak, the neighbours' offsets stay untrained and the centre is off by up to a cell.
   * Default 0.
   */
  readonly offsetDense?: number;
  /** Target-aware feature mimicking of each early exit towards the last exit. */
  readonly feature: number;
  /** Temperature-scaled KL between each early exit's score map and the last exit's. */
  readonly scoreKL: number;
  /** Multiplier of each exit's tracking loss, shallow to deep; missing entries are 1. */
  readonly exits?: readonly number[];
}

/**
 * The weights DyTrack trains with by default. The box and focal weights are OSTrack's
 * (`GIOU_WEIGHT 2`, `L1_WEIGHT 5`, focal 1). The DyTrack paper does not publish its
 * other weights; these are this project's choices: decision 1, feature 1 (with the
 * channel-mean form of the feature loss, whose value is about 2 for unrelated features
 * and 0 when they match), score-map KL 1, every exit's tracking loss weighted 1.
 * A model's manifest records the weights it was trained with (provenance).
 */
export const defaultLossWeights: Readonly<Required<Omit<LossWeights, 'exits' | 'sizeDense' | 'offsetDense'>>> = Object.freeze({
  giou: 2,
  l1: 5,
  focal: 1,
  decision: 1,
  feature: 1,
  scoreKL: 1,
});

/** Settings of the loss terms other than their weights. */
export interface LossSettings {
  /** Focal loss exponent on the prediction (`(1-p)^alpha`, `p^alpha`). Default 2. */
  readonly focalAlpha: number;
  /** Focal loss exponent of the negative weights `(1 - heat)^beta`. Default 4. */
  readonly focalBeta: number;
  /** Probabilities are clamped to `[eps, 1 - eps]` before any log (OSTrack's head clamps its sigmoids to `[1e-4, 1 - 1e-4]`). Default 1e-4. */
  readonly probabilityEpsilon: number;
  /** Loss of the decision branch against its detached target: `'l1'` (default) or `'bce'`. */
  readonly decisionLoss: 'l1' | 'bce';
  /**
   * What an early exit's decision branch learns to predict. `'iou'` (default, DESIGN 7):
   * the IoU of its exit's box with the truth. `'asGoodAsLast'`: whether its box is as good
   * as the last exit's, `1` when `IoU_k ≥ IoU_K - decisionMargin` and `0` otherwise — what
   * a policy that should stop only when going deeper would not help needs to know; an
   * absolute IoU keeps a branch from stopping on frames every exit finds hard. The last
   * exit's branch always learns its IoU (no deeper exit to compare with).
   */
  readonly decisionTarget: 'iou' | 'asGoodAsLast';
  /** How much worse than the last exit's IoU an early exit's may be and still count as good as it (`'asGoodAsLast'` only). Default 0.05. */
  readonly decisionMargin: number;
  /** Temperature `T` of the score-map KL (logits divided by `T`, KL multiplied by `T^2`). Default 2. */
  readonly temperature: number;
  /** Epsilon of the (affine-free) LayerNorm applied to the features the feature loss compares. Default 1e-6 (the ViT's). */
  readonly layerNormEpsilon: number;
  /**
   * How the feature loss reduces the squared difference over channels: `'mean'` (default:
   * `||·||^2 / C`, so the term's scale does not grow with the width) or `'sum'` (the
   * literal `||·||^2` of DESIGN 7).
   */
  readonly featureReduction: 'mean' | 'sum';
}

/** Default {@link LossSettings}. */
export const defaultLossSettings: Readonly<LossSettings> = Object.freeze({
  focalAlpha: 2,
  focalBeta: 4,
  probabilityEpsilon: 1e-4,
  decisionLoss: 'l1',
  decisionTarget: 'iou',
  decisionMargin: 0.05,
  temperature: 2,
  layerNormEpsilon: 1e-6,
  featureReduction: 'mean',
});

/** What a caller may override: any weight, any setting. */
export interface LossConfig extends Partial<LossSettings> {
  /** Weights; missing ones come from {@link defaultLossWeights}. */
  readonly weights?: Partial<LossWeights>;
}

/** A fully resolved {@link LossConfig}: what a manifest's provenance should record. */
export interface ResolvedLossConfig extends LossSettings {
  /** Every weight, with `exits` filled in for the number of exits when known. */
  readonly weights: LossWeights;
}

function nonNegative(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be a finite non-negative number, got ${String(value)}`);
  }
  return value;
}

function positive(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${what} must be a finite positive number, got ${String(value)}`);
  }
  return value;
}

/**
 * Fills a {@link LossConfig} with the defaults and validates it. With `exitCount`, the
 * per-exit weights are expanded to that many entries (missing ones are 1).
 *
 * @throws InvalidArgumentError naming the bad field (negative weight, unknown decision loss, ...).
 */
export function resolveLossConfig(config: LossConfig = {}, exitCount?: number): ResolvedLossConfig {
  const w = { ...defaultLossWeights, ...config.weights };
  for (const key of ['giou', 'l1', 'focal', 'decision', 'feature', 'scoreKL'] as const) nonNegative(w[key], `loss weight ${key}`);
  const sizeDense = nonNegative(config.weights?.sizeDense ?? 0, 'loss weight sizeDense');
  const offsetDense = nonNegative(config.weights?.offsetDense ?? 0, 'loss weight offsetDense');
  let exits = config.weights?.exits;
  if (exits !== undefined) exits.forEach((v, i) => nonNegative(v, `loss weight exits[${i}]`));
  if (exitCount !== undefined) {
    if (exits !== undefined && exits.length > exitCount) {
      throw new InvalidArgumentError(`loss weight exits has ${exits.length} entries but there are ${exitCount} exits`);
    }
    exits = Array.from({ length: exitCount }, (_, i) => exits?.[i] ?? 1);
  }
  const s = { ...defaultLossSettings, ...config };
  positive(s.focalAlpha, 'focalAlpha');
  positive(s.focalBeta, 'focalBeta');
  if (!(s.probabilityEpsilon > 0 && s.probabilityEpsilon < 0.5)) {
    throw new InvalidArgumentError(`probabilityEpsilon must be in (0, 0.5), got ${String(s.probabilityEpsilon)}`);
  }
  if (s.decisionLoss !== 'l1' && s.decisionLoss !== 'bce') throw new InvalidArgumentError(`decisionLoss must be 'l1' or 'bce', got ${JSON.stringify(s.decisionLoss)}`);
  if (s.decisionTarget !== 'iou' && s.decisionTarget !== 'asGoodAsLast') {
    throw new InvalidArgumentError(`decisionTarget must be 'iou' or 'asGoodAsLast', got ${JSON.stringify(s.decisionTarget)}`);
  }
  if (typeof s.decisionMargin !== 'number' || !(s.decisionMargin >= 0 && s.decisionMargin <= 1)) {
    throw new InvalidArgumentError(`decisionMargin must be a number in [0, 1], got ${String(s.decisionMargin)}`);
  }
  positive(s.temperature, 'temperature');
  positive(s.layerNormEpsilon, 'layerNormEpsilon');
  if (s.featureReduction !== 'mean' && s.featureReduction !== 'sum') {
    throw new InvalidArgumentError(`featureReduction must be 'mean' or 'sum', got ${JSON.stringify(s.featureReduction)}`);
  }
  return {
    focalAlpha: s.focalAlpha,
    focalBeta: s.focalBeta,
    probabilityEpsilon: s.probabilityEpsilon,
    decisionLoss: s.decisionLoss,
    decisionTarget: s.decisionTarget,
    decisionMargin: s.decisionMargin,
    temperature: s.temperature,
    layerNormEpsilon: s.layerNormEpsilon,
    featureReduction: s.featureReduction,
    weights: { giou: w.giou, l1: w.l1, focal: w.focal, decision: w.decision, feature: w.feature, scoreKL: w.scoreKL, ...(sizeDense > 0 ? { sizeDense } : {}), ...(offsetDense > 0 ? { offsetDense } : {}), ...(exits ? { exits: [...exits] } : {}) },
  };
}
