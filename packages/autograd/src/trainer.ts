import type { BackendTensor, HostTensor, InferenceBackend, InferenceSession, TensorValue } from '@dytrack/core';
import { DisposedError, InvalidArgumentError, elementCount } from '@dytrack/core';
import type { TrainingStep } from './training-step.js';
import { TRAINING_STEP_NAMES as N } from './training-step.js';

/** Float storage of parameters and optimizer state. */
export type FloatArray = Float32Array | Float64Array;

/** What one {@link Trainer.step} reports. */
export interface StepResult {
  /** Step number just taken (1 for the first). */
  readonly step: number;
  readonly loss: number;
  /** Global gradient L2 norm before clipping. */
  readonly gradNorm: number;
  /** Metric outputs by name (their data as returned by the backend). */
  readonly metrics: Readonly<Record<string, FloatArray>>;
}

/** A snapshot of everything the trainer carries between steps (for checkpoints). */
export interface TrainerState {
  /** Steps taken so far. */
  readonly step: number;
  readonly parameters: Readonly<Record<string, FloatArray>>;
  readonly firstMoments: Readonly<Record<string, FloatArray>>;
  readonly secondMoments: Readonly<Record<string, FloatArray>>;
}

interface MutableTensor {
  dtype: HostTensor['dtype'];
  dims: readonly number[];
  data: FloatArray;
}

/**
 * Runs a {@link TrainingStep} on an {@link InferenceBackend} (for example `createNodeBackend()`
 * from `@dytrack/backend-node`). Parameters and Adam moments live in typed arrays fed to
 * every run; each step swaps in the arrays the run returns, so nothing is rebuilt or copied
 * per step. Not re-entrant: await each `step` before the next.
 */
export class Trainer {
  private readonly session: InferenceSession;
  private readonly definition: TrainingStep;
  private readonly feeds: Record<string, MutableTensor> = {};
  /** Adam moments of frozen parameters: not fed (the graph has none), kept so a checkpoint round-trips them. */
  private readonly frozenMoments = new Map<string, { m: FloatArray; v: FloatArray }>();
  private readonly lr: MutableTensor;
  private readonly stepInput: MutableTensor;
  private steps: number;
  private released = false;
  private busy = false;

  private constructor(session: InferenceSession, definition: TrainingStep, state: TrainerState) {
    this.session = session;
    this.definition = definition;
    this.steps = state.step;
    const Arr = definition.dtype === 'float64' ? Float64Array : Float32Array;
    for (const p of definition.parameters) {
      const check = (what: string, data: FloatArray | undefined): FloatArray => {
        if (!data) throw new InvalidArgumentError(`Trainer: missing ${what} for parameter ${p.name}`);
        if (!(data instanceof Arr)) throw new InvalidArgumentError(`Trainer: ${what} of ${p.name} must be a ${Arr.name}`);
        if (data.length !== elementCount(p.dims)) {
          throw new InvalidArgumentError(`Trainer: ${what} of ${p.name} has ${data.length} elements, expected ${elementCount(p.dims)} ([${p.dims.join(',')}])`);
        }
        return data;
      };
      this.feeds[p.name] = { dtype: definition.dtype, dims: p.dims, data: check('value', state.parameters[p.name]) };
      const m = check('first moment', state.firstMoments[p.name]);
      const v = check('second moment', state.secondMoments[p.name]);
      if (p.trainable === false) {
        this.frozenMoments.set(p.name, { m, v });
        continue;
      }
      this.feeds[N.firstMoment(p.name)] = { dtype: definition.dtype, dims: p.dims, data: m };
      this.feeds[N.secondMoment(p.name)] = { dtype: definition.dtype, dims: p.dims, data: v };
    }
    for (const name of Object.keys(state.parameters)) {
      if (!definition.parameters.some((p) => p.name === name)) throw new InvalidArgumentError(`Trainer: unknown parameter ${name}`);
    }
    this.lr = { dtype: definition.dtype, dims: [], data: new Arr(1) };
    this.stepInput = { dtype: definition.dtype, dims: [], data: new Arr(1) };
    this.feeds[N.learningRate] = this.lr;
    this.feeds[N.step] = this.stepInput;
  }

  /**
   * Loads the step graph and takes ownership of the initial parameter arrays. Adam moments
   * start at zero unless `state` (from {@link Trainer.state}) is given to resume.
   */
  static async create(
    backend: InferenceBackend,
    definition: TrainingStep,
    initial: Readonly<Record<string, FloatArray>> | TrainerState,
  ): Promise<Trainer> {
    const Arr = definition.dtype === 'float64' ? Float64Array : Float32Array;
    const state: TrainerState =
      'parameters' in initial && 'step' in initial && typeof initial.step === 'number'
        ? (initial as TrainerState)
        : {
            step: 0,
            parameters: initial as Readonly<Record<string, FloatArray>>,
            firstMoments: Object.fromEntries(definition.parameters.map((p) => [p.name, new Arr(elementCount(p.dims))])),
            secondMoments: Object.fromEntries(definition.parameters.map((p) => [p.name, new Arr(elementCount(p.dims))])),
          };
    const session = await backend.loadModel(definition.bytes, { name: 'training_step' });
    try {
      return new Trainer(session, definition, state);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** Current parameter arrays by name (replaced, not mutated, by each step). */
  get parameters(): Readonly<Record<string, FloatArray>> {
    return Object.fromEntries(this.definition.parameters.map((p) => [p.name, this.feeds[p.name].data]));
  }

  /**
   * A snapshot of parameters, moments and step count (the arrays themselves, not copies).
   * A frozen parameter's moments are the ones it came with, unchanged.
   */
  state(): TrainerState {
    const pick = (key: (n: string) => string, frozen: 'm' | 'v') =>
      Object.fromEntries(this.definition.parameters.map((p) => [p.name, this.frozenMoments.get(p.name)?.[frozen] ?? this.feeds[key(p.name)].data]));
    return { step: this.steps, parameters: this.parameters, firstMoments: pick(N.firstMoment, 'm'), secondMoments: pick(N.secondMoment, 'v') };
  }

  /** Runs one training step on `batch` (every data input by name) with learning rate `lr`. */
  async step(batch: Readonly<Record<string, TensorValue>>, lr: number): Promise<StepResult> {
    if (this.released) throw new DisposedError('Trainer');
    if (this.busy) throw new InvalidArgumentError('Trainer.step: the previous step has not finished');
    if (!Number.isFinite(lr) || lr < 0) throw new InvalidArgumentError(`Trainer.step: learning rate must be finite and non-negative, got ${lr}`);
    for (const i of this.definition.inputs) if (!batch[i.name]) throw new InvalidArgumentError(`Trainer.step: batch is missing input ${i.name}`);
    for (const name of Object.keys(batch)) {
      if (!this.definition.inputs.some((i) => i.name === name)) throw new InvalidArgumentError(`Trainer.step: unknown batch input ${name}`);
    }
    this.busy = true;
    try {
      this.lr.data[0] = lr;
      this.stepInput.data[0] = this.steps + 1;
      const outputs = await this.session.run({ ...(this.feeds as Record<string, HostTensor>), ...batch });
      const data = async (name: string): Promise<FloatArray> => {
        const t: BackendTensor | undefined = outputs[name];
        if (!t) throw new InvalidArgumentError(`Trainer.step: the backend returned no ${name}`);
        return (t.data ?? (await t.download())) as FloatArray;
      };
      for (const p of this.definition.parameters) {
        if (p.trainable === false) continue;
        for (const key of [p.name, N.firstMoment(p.name), N.secondMoment(p.name)]) this.feeds[key].data = await data(N.updated(key));
      }
      this.steps++;
      const metrics: Record<string, FloatArray> = {};
      for (const m of this.definition.metrics) metrics[m] = await data(N.metric(m));
      return { step: this.steps, loss: (await data(N.loss))[0], gradNorm: (await data(N.gradNorm))[0], metrics };
    } finally {
      this.busy = false;
    }
  }

  /** Releases the session. The parameter arrays stay valid. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}
