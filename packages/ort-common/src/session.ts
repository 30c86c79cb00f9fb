import { BackendError, DisposedError } from '@dytrack/core';
import type { BackendTensor, InferenceSession, RunOptions, TensorInfo, TensorValue } from '@dytrack/core';
import type { InferenceSession as OrtSession, OnnxValue, Tensor as OrtTensor } from 'onnxruntime-common';
import { isTensorDType } from './dtypes.js';
import { messageOf, prepareFeeds, tensorInfoFrom } from './feeds.js';
import type { OrtRuntime } from './runtime.js';
import { OrtBackendTensor } from './tensor.js';

/** How a backend wants its ORT sessions run. */
export interface SessionBehaviour {
  /**
   * True when the ORT session was created with device-resident outputs
   * (`preferredOutputLocation: 'gpu-buffer'`): outputs not named in
   * `keepOnDevice` are then downloaded before `run` resolves.
   */
  readonly onDevice: boolean;
  /**
   * Queue runs so that one ORT run is in flight at a time. onnxruntime-web runs
   * one model at a time anyway (wasm executes on the calling thread), and its
   * WebGPU path must not interleave runs of one session.
   */
  readonly serializeRuns: boolean;
  /** Hand ORT copies of host data (see `prepareFeeds`): needed when ORT transfers feed buffers to a worker. */
  readonly copyFeeds: boolean;
}

/**
 * An {@link InferenceSession} over an ORT session. Feeds are validated against the
 * model's declared inputs first; `release` waits for runs in flight, so that ORT
 * never frees a session under a running call.
 */
export class OrtInferenceSession implements InferenceSession {
  /** The model's name, for error messages. */
  readonly name: string;
  /** The model's declared inputs. */
  readonly inputs: readonly TensorInfo[];
  /** The model's declared outputs. */
  readonly outputs: readonly TensorInfo[];
  readonly #runtime: OrtRuntime;
  readonly #session: OrtSession;
  readonly #outputNames: readonly string[];
  readonly #behaviour: SessionBehaviour;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #onRelease: (session: OrtInferenceSession) => void;
  #released = false;
  /** Tail of the run queue when runs are serialised. */
  #queue: Promise<unknown> = Promise.resolve();
  #releasing: Promise<void> | undefined;

  /** Wraps `session`, made by `runtime`; throws a BackendError (after releasing it) when the model has non-tensor or unsupported inputs or outputs. */
  static async wrap(
    runtime: OrtRuntime,
    name: string,
    session: OrtSession,
    behaviour: SessionBehaviour,
    onRelease: (session: OrtInferenceSession) => void,
  ): Promise<OrtInferenceSession> {
    let inputs: TensorInfo[];
    let outputs: TensorInfo[];
    try {
      inputs = session.inputMetadata.map((m) => tensorInfoFrom(name, 'input', m));
      outputs = session.outputMetadata.map((m) => tensorInfoFrom(name, 'output', m));
    } catch (error) {
      await session.release().catch(() => undefined);
      throw error;
    }
    return new OrtInferenceSession(runtime, name, session, Object.freeze(inputs), Object.freeze(outputs), behaviour, onRelease);
  }

  private constructor(
    runtime: OrtRuntime,
    name: string,
    session: OrtSession,
    inputs: readonly TensorInfo[],
    outputs: readonly TensorInfo[],
    behaviour: SessionBehaviour,
    onRelease: (session: OrtInferenceSession) => void,
  ) {
    this.#runtime = runtime;
    this.name = name;
    this.#session = session;
    this.inputs = inputs;
    this.outputs = outputs;
    this.#outputNames = outputs.map((o) => o.name);
    this.#behaviour = behaviour;
    this.#onRelease = onRelease;
  }

  /** True once `release()` has been called. */
  get released(): boolean {
    return this.#released;
  }

  /** Runs the model; see {@link @dytrack/core!InferenceSession.run}. */
  run(feeds: Readonly<Record<string, TensorValue>>, options?: RunOptions): Promise<Record<string, BackendTensor>> {
    if (this.#released) return Promise.reject(new DisposedError(`session "${this.name}"`));
    const pending = this.#run(feeds, options);
    const tracked = pending.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(tracked);
    void tracked.then(() => this.#inFlight.delete(tracked));
    return pending;
  }

  async #run(feeds: Readonly<Record<string, TensorValue>>, options: RunOptions | undefined): Promise<Record<string, BackendTensor>> {
    const ortFeeds = prepareFeeds(this.#runtime, this.name, this.inputs, feeds, this.#behaviour.copyFeeds);
    const fetches = this.#fetches(options);
    const keep = options?.keepOnDevice;
    let results: OrtSession.ReturnType;
    try {
      const start = (): Promise<OrtSession.ReturnType> =>
        fetches === undefined ? this.#session.run(ortFeeds) : this.#session.run(ortFeeds, fetches);
      if (this.#behaviour.serializeRuns) {
        const run = this.#queue.then(start);
        this.#queue = run.catch(() => undefined);
        results = await run;
      } else {
        results = await start();
      }
    } catch (cause) {
      throw new BackendError(`model "${this.name}": run failed: ${messageOf(cause)}`, { cause });
    }
    const names = fetches ?? this.#outputNames;
    const wrapped: Record<string, BackendTensor> = {};
    try {
      for (const name of names) wrapped[name] = await this.#wrapOutput(name, results[name], keep !== undefined && keep.includes(name));
    } catch (error) {
      for (const name of names) {
        const value = results[name];
        if (wrapped[name] !== undefined) wrapped[name].dispose();
        else if (value !== undefined) value.dispose?.();
      }
      throw error;
    }
    return wrapped;
  }

  #fetches(options: RunOptions | undefined): string[] | undefined {
    if (options == null || (options.outputs === undefined && options.keepOnDevice === undefined)) return undefined;
    const known = this.#outputNames;
    for (const [field, list] of [
      ['outputs', options?.outputs],
      ['keepOnDevice', options?.keepOnDevice],
    ] as const) {
      if (list === undefined) continue;
      if (!Array.isArray(list)) throw new BackendError(`model "${this.name}": options.${field} must be an array of output names`);
      const unknown = list.filter((n) => !known.includes(n));
      if (unknown.length > 0) {
        throw new BackendError(
          `model "${this.name}": options.${field} names unknown output${unknown.length > 1 ? 's' : ''} ` +
            `${unknown.map((n) => JSON.stringify(n)).join(', ')} (model outputs: ${known.map((n) => JSON.stringify(n)).join(', ')})`,
        );
      }
    }
    if (options?.outputs === undefined) return undefined;
    if (options.outputs.length === 0) throw new BackendError(`model "${this.name}": options.outputs is empty`);
    return [...new Set(options.outputs)];
  }

  async #wrapOutput(name: string, value: OnnxValue | undefined, keepOnDevice: boolean): Promise<BackendTensor> {
    if (!(value instanceof this.#runtime.Tensor)) {
      throw new BackendError(`model "${this.name}": output "${name}" is ${value === undefined ? 'missing' : 'not a tensor'}`);
    }
    let tensor: OrtTensor = value;
    const dtype = tensor.type;
    if (!isTensorDType(dtype)) {
      throw new BackendError(`model "${this.name}": output "${name}" has element type ${dtype}, which DyTrack does not support`);
    }
    if (this.#behaviour.onDevice && !keepOnDevice && tensor.location !== 'cpu' && tensor.location !== 'cpu-pinned') {
      const data = await tensor.getData(true);
      tensor = new this.#runtime.Tensor(dtype, data as OrtTensor.DataTypeMap[typeof dtype], tensor.dims);
    }
    return new OrtBackendTensor(this.#runtime, tensor, dtype);
  }

  /** Frees the ORT session once the runs in flight have finished; harmless when called twice. */
  release(): Promise<void> {
    if (this.#releasing !== undefined) return this.#releasing;
    this.#released = true;
    this.#releasing = (async () => {
      try {
        await Promise.all([...this.#inFlight]);
        await this.#session.release();
      } catch (cause) {
        throw new BackendError(`model "${this.name}": release failed: ${messageOf(cause)}`, { cause });
      } finally {
        this.#onRelease(this);
      }
    })();
    return this.#releasing;
  }
}
