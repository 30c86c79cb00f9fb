/**
 * `@dytrack/model`: the DyTrack architecture described once ({@link ModelConfig},
 * variants `tiny` and `base`), its parameter name map, FLOP and parameter counts,
 * safetensors weights I/O, a float64 reference forward pass, the whole-model
 * forward graph that training uses ({@link emitModelForward}), the staged ONNX
 * export with its manifest ({@link exportModel}) and the URL loader. Node-only
 * file-system helpers live in `@dytrack/model/node`.
 *
 * @packageDocumentation
 */
export type { ModelVariant, TemplateAttention, ModelConfig, ModelGeometry } from './config.js';
export { MODEL_VARIANTS, modelConfig, validateModelConfig, modelGeometry, architectureFromManifest, recyclesInto } from './config.js';

export type { ParameterOwner, ParameterInit, ParameterSpec } from './params.js';
export { parameterSpecs, parameterSize, decisionInputWidth } from './params.js';

export type { GraphCost, ModelCost, LayoutOptions } from './cost.js';
export { modelCost } from './cost.js';

export type { SafetensorsDType, SafetensorsTensor, SafetensorsFile } from './safetensors.js';
export { SAFETENSORS_DTYPE_BYTES, SafetensorsError, readSafetensors, writeSafetensors, typedArrayBytes, bytesToFloat32 } from './safetensors.js';

export { float32ToFloat16Bits, float16BitsToFloat32, toFloat16, fromFloat16 } from './half.js';

export type { ModelWeights, InitWeightsOptions, ReadWeightsOptions, WriteWeightsOptions } from './weights.js';
export { SeededRandom, initWeights, validateWeights, weightsFromSafetensors, weightsToSafetensors, weightsFromOnnxFiles } from './weights.js';
export type { ResizedPositionEmbedding } from './resize.js';
export { resizePositionEmbedding, resizePositionEmbeddings } from './resize.js';

export type { ReferenceExit, ReferenceStage, ReferenceForward, FloatArray } from './reference.js';
export { referenceForward, geluTanh } from './reference.js';

export type {
  GraphParameters,
  ParameterInitializerOptions,
  ExitValues,
  StageValues,
  ModelForwardValues,
  TemplateKeysValues,
  RecycledExit,
  BlockLayout,
  BlockValues,
  ModelForwardInputs,
} from './forward.js';
export { addParameterInputs, addParameterInitializers, emitTemplateEmbedding, emitSearchEmbedding, emitBlock, emitExit, emitModelForward } from './forward.js';

export type { ExportOptions, ExportedModel } from './export.js';
export { exportModel, TEMPLATE_ENCODER_FILE, STAGE_IO, stageFileName } from './export.js';

export type { FetchLike } from './loader.js';
export { loadModelFromUrl, manifestFiles } from './loader.js';
