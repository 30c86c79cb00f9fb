/**
 * `@dytrack/autograd`: reverse-mode differentiation of `@dytrack/onnx` graphs, written as
 * ONNX ops, and training-step graphs (forward, loss, gradients, AdamW) run by onnxruntime.
 *
 * @packageDocumentation
 */
export type { GradientContext, GradientRule, GradientRules } from './rules.js';
export { defaultGradientRules, NON_DIFFERENTIABLE_OPS, sumToShape, zeros, zerosLike } from './rules.js';
export type { GradientOptions } from './gradients.js';
export { gradients, stopGradient, NoGradientRuleError } from './gradients.js';
export type { ParameterSpec, DataInputSpec, AdamWOptions, ForwardResult, TrainingStepSpec, TrainingStep } from './training-step.js';
export { buildTrainingStep, TRAINING_STEP_NAMES } from './training-step.js';
export type { FloatArray, StepResult, TrainerState } from './trainer.js';
export { Trainer } from './trainer.js';
