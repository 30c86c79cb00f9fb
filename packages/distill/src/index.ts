/**
 * `@dytrack/distill`: DyTrack's training losses (DESIGN section 7) and their targets.
 *
 * - Target builders for the data pipeline, per sample, into caller buffers:
 *   {@link gaussianHeatmap} (OSTrack's `generate_heatmap`), {@link boxTarget},
 *   {@link tokenMask}.
 * - Each loss twice: a float64 reference on typed arrays (`focalLossReference`, ...) and
 *   an `@dytrack/onnx` subgraph for the training step (`focalLoss(g, ...)`, ...), which
 *   `@dytrack/autograd` differentiates; targets and teachers are detached with its
 *   `stopGradient`.
 * - The combinations: {@link trackingLoss} per exit (`2·GIoU + 5·L1 + focal + decision`)
 *   and {@link dytrackLoss} over all exits with the self-distillation terms, returning the
 *   total and named components; weights in {@link defaultLossWeights}.
 *
 * @packageDocumentation
 */
export type { FloatBuffer, TokenMaskOptions } from './targets.js';
export { gaussianHeatmap, gaussianRadius, boxTarget, tokenMask, DEFAULT_BACKGROUND_WEIGHT } from './targets.js';

export type { LossWeights, LossSettings, LossConfig, ResolvedLossConfig } from './config.js';
export { defaultLossWeights, defaultLossSettings, resolveLossConfig } from './config.js';

export type {
  Numbers,
  FocalLossOptions,
  BoxLossResult,
  FeatureMimicOptions,
  ScoreMapKLOptions,
  ExitHeadArrays,
  TrackingTargetArrays,
  LossDims,
  TrackingLossTerms,
  DyTrackLoss,
} from './reference.js';
export {
  focalLossReference,
  decodeBoxesReference,
  boxLossReference,
  decisionLossReference,
  asGoodAsLastReference,
  denseSizeLossReference,
  denseOffsetLossReference,
  featureMimicLossReference,
  scoreMapKLReference,
  trackingLossReference,
  dytrackLossReference,
} from './reference.js';

export type { BoxLossValues, ExitHeadValues, TrackingTargetValues, TrackingLossValues } from './graph.js';
export { focalLoss, decodeBoxes, boxLoss, decisionLoss, asGoodAsLast, denseSizeLoss, denseOffsetLoss, featureMimicLoss, scoreMapKL, trackingLoss, dytrackLoss } from './graph.js';
