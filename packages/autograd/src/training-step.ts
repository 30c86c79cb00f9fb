import type { TensorDType } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';
import type { FloatDType, Value } from '@dytrack/onnx';
import { Graph, serializeModel } from '@dytrack/onnx';
import { gradients } from './gradients.js';
import type { GradientRules } from './rules.js';

/** A trainable parameter: a graph input whose value the trainer keeps between steps. */
export interface ParameterSpec {
  /** Graph input name (exact; may contain `/` and `.`). */
  readonly name: string;
  readonly dims: readonly number[];
  /**
   * Whether AdamW's decoupled weight decay applies. Default: true for tensors of rank ≥ 2
   * (weight matrices), false for vectors (biases, norm scales) and scalars.
   */
  readonly weightDecay?: boolean;
  /**
   * Whether the step trains it (default true). A frozen parameter is still a graph input the
   * forward reads, but it gets no gradient, no Adam moments and no `updated/` output, so the
   * backward pass covers only what depends on the trainable ones (fine-tuning one head is
   * far cheaper than a full step).
   */
  readonly trainable?: boolean;
}

/** A per-step data input (a batch of images, targets, masks). */
export interface DataInputSpec {
  readonly name: string;
  readonly dtype: TensorDType;
  readonly shape: readonly number[];
}

/** AdamW hyper-parameters (PyTorch `torch.optim.AdamW` semantics). The learning rate is a run-time input. */
export interface AdamWOptions {
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-8. */
  readonly epsilon?: number;
  /** Decoupled weight decay coefficient, applied as `p -= lr·wd·p` to masked parameters. Default 0.01. */
  readonly weightDecay?: number;
  /**
   * Clip gradients by their global L2 norm (as `torch.nn.utils.clip_grad_norm_`, with its
   * 1e-6 guard). Omit to disable clipping.
   */
  readonly maxGradNorm?: number;
}

/** What the forward function returns: the scalar loss and any metrics to report. */
export interface ForwardResult {
  /** Scalar (shape `[]`) float loss. */
  readonly loss: Value;
  /** Extra outputs (any shape) reported per step, computed from the same forward pass. */
  readonly metrics?: Readonly<Record<string, Value>>;
}

/** Description of a training step, turned into one ONNX graph by {@link buildTrainingStep}. */
export interface TrainingStepSpec {
  /** Float type of parameters, optimizer state and loss. Default `'float32'`. */
  readonly dtype?: FloatDType;
  readonly parameters: readonly ParameterSpec[];
  readonly inputs: readonly DataInputSpec[];
  /** Builds the forward pass and loss with `g`'s helpers from parameter and data input values. */
  readonly forward: (g: Graph, params: Readonly<Record<string, Value>>, inputs: Readonly<Record<string, Value>>) => ForwardResult;
  readonly optimizer?: AdamWOptions;
  /** Extra gradient rules, passed to {@link gradients}. */
  readonly rules?: GradientRules;
}

/** Graph input and output names of a training step. */
export const TRAINING_STEP_NAMES = {
  /** Scalar learning-rate input. */
  learningRate: 'lr',
  /** Scalar step-number input (1 for the first step), for Adam's bias correction. */
  step: 'step',
  /** Scalar loss output. */
  loss: 'loss',
  /** Scalar global gradient norm output (before clipping). */
  gradNorm: 'grad_norm',
  /** Input holding Adam's first moment of a parameter. */
  firstMoment: (param: string) => `adam_m/${param}`,
  /** Input holding Adam's second moment of a parameter. */
  secondMoment: (param: string) => `adam_v/${param}`,
  /** Output carrying the updated value of an input (parameter or moment). */
  updated: (input: string) => `updated/${input}`,
  /** Output carrying a metric. */
  metric: (name: string) => `metric/${name}`,
} as const;

/** A built training step: the graph, its bytes, and how to feed it. */
export interface TrainingStep {
  readonly graph: Graph;
  /** Serialised ONNX model. */
  readonly bytes: Uint8Array;
  readonly dtype: FloatDType;
  /** Parameters (frozen ones too) with the weight-decay mask and trainability resolved. */
  readonly parameters: readonly Required<ParameterSpec>[];
  readonly inputs: readonly DataInputSpec[];
  /** Metric names (outputs are `metric/<name>`). */
  readonly metrics: readonly string[];
  /** Resolved optimizer settings. */
  readonly optimizer: Required<Omit<AdamWOptions, 'maxGradNorm'>> & { readonly maxGradNorm: number | undefined };
}

/**
 * Builds one ONNX graph that runs a whole training step: forward pass and loss, reverse-mode
 * gradients, optional global-norm clipping and the AdamW update.
 *
 * Inputs: every parameter (by name), the Adam moments (`adam_m/<name>`, `adam_v/<name>`)
 * of each trainable one, the data inputs, `lr` and `step` (scalars of the float type).
 * Outputs: `loss`, `grad_norm`, `metric/<name>` and `updated/<input>` for each trainable
 * parameter and moment.
 * The learning-rate schedule lives outside the graph: feed `lr` each step.
 */
export function buildTrainingStep(spec: TrainingStepSpec): TrainingStep {
  const dtype = spec.dtype ?? 'float32';
  const opt = {
    beta1: spec.optimizer?.beta1 ?? 0.9,
    beta2: spec.optimizer?.beta2 ?? 0.999,
    epsilon: spec.optimizer?.epsilon ?? 1e-8,
    weightDecay: spec.optimizer?.weightDecay ?? 0.01,
    maxGradNorm: spec.optimizer?.maxGradNorm,
  };
  for (const [k, v] of Object.entries(opt)) {
    if (v !== undefined && (!Number.isFinite(v) || v < 0)) throw new InvalidArgumentError(`AdamW ${k} must be a finite non-negative number, got ${v}`);
  }
  if (opt.beta1 >= 1 || opt.beta2 >= 1) throw new InvalidArgumentError('AdamW betas must be below 1');
  if (spec.parameters.length === 0) throw new InvalidArgumentError('buildTrainingStep: no parameters');
  const N = TRAINING_STEP_NAMES;
  const parameters = spec.parameters.map((p) => ({ name: p.name, dims: [...p.dims], weightDecay: p.weightDecay ?? p.dims.length >= 2, trainable: p.trainable ?? true }));
  const trained = parameters.filter((p) => p.trainable);
  if (trained.length === 0) throw new InvalidArgumentError('buildTrainingStep: every parameter is frozen (trainable: false); nothing to train');

  const g = new Graph({ name: 'training_step', dtype });
  const params: Record<string, Value> = {};
  for (const p of parameters) params[p.name] = g.input(p.name, dtype, p.dims);
  const inputs: Record<string, Value> = {};
  for (const i of spec.inputs) inputs[i.name] = g.input(i.name, i.dtype, i.shape);
  const lr = g.input(N.learningRate, dtype, []);
  const step = g.input(N.step, dtype, []);
  const moments = trained.map((p) => ({
    m: g.input(N.firstMoment(p.name), dtype, p.dims),
    v: g.input(N.secondMoment(p.name), dtype, p.dims),
  }));

  const { loss, metrics = {} } = g.scope('forward', () => spec.forward(g, params, inputs));
  if (loss.dtype !== dtype) throw new InvalidArgumentError(`training step: loss is ${loss.dtype}, expected ${dtype}`);
  if (!loss.shape || loss.shape.length !== 0) throw new InvalidArgumentError(`training step: loss must be a scalar (shape []), got ${loss}`);

  const grads = gradients(g, loss, trained.map((p) => params[p.name]), { rules: spec.rules });

  g.scope('adamw', () => {
    // Every scalar factor (clipping, bias corrections, learning rate) is folded into one
    // scalar per term, so each parameter tensor is streamed through memory as few times as
    // possible: d² once (for the norm and v), then m, v and the update.
    const squares = grads.map((d) => g.mul(d, d));
    const sums = squares.map((dd) => g.reduceSum(dd, undefined, false));
    const norm = g.sqrt(sums.length === 1 ? sums[0] : g.op('Sum', sums));
    g.output(norm, N.gradNorm);
    const coef = opt.maxGradNorm === undefined ? undefined : g.min(g.div(opt.maxGradNorm, g.add(norm, 1e-6)), 1);
    const mScale = coef ? g.mul(coef, 1 - opt.beta1) : 1 - opt.beta1;
    const vScale = coef ? g.mul(g.mul(coef, coef), 1 - opt.beta2) : 1 - opt.beta2;
    const bias1 = g.sub(1, g.pow(g.scalar(opt.beta1), step));
    const sqrtBias2 = g.sqrt(g.sub(1, g.pow(g.scalar(opt.beta2), step)));
    // lr/bias1 · m / (√v/√bias2 + ε) = (lr·√bias2/bias1) · m / (√v + ε·√bias2)
    const stepSize = g.div(g.mul(lr, sqrtBias2), bias1);
    const epsilon = g.mul(sqrtBias2, opt.epsilon);
    const decay = g.sub(1, g.mul(lr, opt.weightDecay));
    trained.forEach((p, i) =>
      g.scope(`p${i}`, () => {
        const m = g.add(g.mul(moments[i].m, opt.beta1), g.mul(grads[i], mScale));
        const v = g.add(g.mul(moments[i].v, opt.beta2), g.mul(squares[i], vScale));
        const decayed = p.weightDecay && opt.weightDecay > 0 ? g.mul(params[p.name], decay) : params[p.name];
        const next = g.sub(decayed, g.mul(g.div(m, g.add(g.sqrt(v), epsilon)), stepSize));
        g.output(next, N.updated(p.name));
        g.output(m, N.updated(N.firstMoment(p.name)));
        g.output(v, N.updated(N.secondMoment(p.name)));
      }),
    );
  });
  g.output(loss, N.loss);
  const metricNames = Object.keys(metrics);
  for (const name of metricNames) g.output(metrics[name], N.metric(name));

  return { graph: g, bytes: serializeModel(g), dtype, parameters, inputs: spec.inputs, metrics: metricNames, optimizer: opt };
}
