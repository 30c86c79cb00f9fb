/**
 * `@dytrack/onnx`: a small typed ONNX graph builder (opset 18) and reader. Every ONNX
 * graph in DyTrack — exported model stages, losses and training steps — is written with it.
 *
 * - {@link Graph}: inputs, initializers, constants, typed op helpers returning {@link Value}
 *   handles with dtype and inferred shape, a generic {@link Graph.op}, name scoping with
 *   {@link Graph.scope}, composition with {@link Graph.inline}.
 * - {@link serializeModel} / {@link toModelProto}: bytes for `InferenceBackend.loadModel`.
 * - {@link readModel}: decode ONNX bytes to inputs, outputs, initializers (with data), nodes.
 *
 * @packageDocumentation
 */
export type { GraphNode, Initializer, OpOptions, GraphOptions, ValueLike, GradientOverride, ConvOptions } from './graph.js';
export type { ConvGeometry } from './conv.js';
export { convGeometry, convOutputSize, convTransposeOutputSize } from './conv.js';
export { Graph, Value, OPSET_VERSION, axisOf } from './graph.js';

export type { Attribute, AttributeInput, AttributesInput } from './attributes.js';
export { floatAttr, floatsAttr, tensorAttr, intAttr, numberAttr, intsAttr } from './attributes.js';

export type { FloatDType } from './dtype.js';
export { ONNX_DATA_TYPE, dtypeFromOnnx, dtypeByteSize, dtypeOfArray, isFloatDType, allocate, fromNumbers, elementAsNumber } from './dtype.js';

export type { ValueType, InferenceContext } from './shapes.js';
export { broadcastShapes, normalizeAxis, staticSize, isStaticShape } from './shapes.js';

export type { SerializeOptions, ModelInitializer, ModelNode, ModelSummary } from './proto.js';
export { IR_VERSION, toModelProto, serializeModel, readModel, tensorToProto, tensorFromProto } from './proto.js';
