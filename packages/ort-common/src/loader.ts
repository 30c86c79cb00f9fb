import { BackendError, DisposedError, InvalidArgumentError } from '@dytrack/core';
import type { InferenceSession, LoadModelOptions } from '@dytrack/core';
import type { InferenceSession as OrtSession } from 'onnxruntime-common';
import { messageOf } from './feeds.js';
import type { OrtRuntime } from './runtime.js';
import { OrtInferenceSession } from './session.js';
import type { SessionBehaviour } from './session.js';

/** How a backend names the string sources it takes, in error messages and default model names. */
export interface StringSourceRules {
  /** What a string source is called in the "is empty" error: `'path'`, `'path or URL'`. */
  readonly noun: string;
  /** Every form a source may take, in the "wrong type" error: `'a Uint8Array of ONNX bytes or a file path'`. */
  readonly accepted: string;
  /** The default model name of a string source (its last path segment, typically). */
  readonly baseName: (source: string) => string;
}

/** What one model load needs, decided by the backend just before ORT creates the session. */
export interface LoadPlan {
  /** How the session runs. */
  readonly behaviour: SessionBehaviour;
  /** Hand ORT a copy of model bytes (ORT's proxy worker detaches the buffers it is given). */
  readonly copyModelBytes: boolean;
}

/** Options of {@link createOrtLoader}. */
export interface OrtLoaderOptions {
  /** The backend's name, for errors (`'onnxruntime-node'`). */
  readonly backendName: string;
  /** ORT options every session is created with. */
  readonly sessionOptions: OrtSession.SessionOptions;
  /** How string sources are described. */
  readonly strings: StringSourceRules;
  /**
   * Called once the source is known to be valid, right before ORT creates the session:
   * the place for environment setup that must precede the first session.
   */
  readonly prepare: () => LoadPlan;
}

/** The model loading and bookkeeping half of a backend: `loadModel` and `dispose`. */
export interface OrtLoader {
  /** Validates `source`, creates an ORT session from it and tracks it until released. */
  load(source: Uint8Array | string, options?: LoadModelOptions): Promise<InferenceSession>;
  /** Releases every session still open; later loads reject with a DisposedError. */
  dispose(): Promise<void>;
}

/**
 * Creates an ORT session from model bytes or a path/URL with `runtime` and wraps it
 * as an {@link OrtInferenceSession}. `from` describes the source in error messages.
 *
 * @throws BackendError when ORT cannot load the model, or the model has inputs or outputs DyTrack cannot run.
 */
export async function createOrtSession(
  runtime: OrtRuntime,
  source: Uint8Array | string,
  name: string,
  from: string,
  sessionOptions: OrtSession.SessionOptions,
  behaviour: SessionBehaviour,
  onRelease: (session: OrtInferenceSession) => void,
): Promise<OrtInferenceSession> {
  let ortSession: OrtSession;
  try {
    // Two calls: ORT's `create` overloads take a string or bytes, not their union.
    ortSession =
      typeof source === 'string'
        ? await runtime.InferenceSession.create(source, sessionOptions)
        : await runtime.InferenceSession.create(source, sessionOptions);
  } catch (cause) {
    throw new BackendError(`failed to load model "${name}"${from}: ${messageOf(cause)}`, { cause });
  }
  return OrtInferenceSession.wrap(runtime, name, ortSession, behaviour, onRelease);
}

/**
 * The shared `loadModel`/`dispose` of the ORT backends: checks the source (empty or
 * wrongly typed sources fail before ORT sees them), loads it with `runtime`, and
 * keeps the open sessions so that `dispose` can release them.
 */
export function createOrtLoader(runtime: OrtRuntime, options: OrtLoaderOptions): OrtLoader {
  const { backendName, sessionOptions, strings } = options;
  const sessions = new Set<OrtInferenceSession>();
  let disposed: Promise<void> | undefined;

  return {
    async load(source: Uint8Array | string, loadOptions?: LoadModelOptions): Promise<InferenceSession> {
      if (disposed !== undefined) throw new DisposedError(`backend "${backendName}"`);
      if (typeof source === 'string') {
        if (source.length === 0) throw new InvalidArgumentError(`loadModel: the model ${strings.noun} is empty`);
      } else if (!(source instanceof Uint8Array)) {
        throw new InvalidArgumentError(`loadModel: source must be ${strings.accepted}`);
      }
      const name = loadOptions?.name ?? (typeof source === 'string' ? strings.baseName(source) : 'model');
      const from = typeof source === 'string' ? ` from ${source}` : ` (${source.byteLength} bytes)`;
      if (typeof source !== 'string' && source.byteLength === 0) {
        throw new BackendError(`failed to load model "${name}"${from}: the model is empty`);
      }
      const plan = options.prepare();
      const bytesOrPath = typeof source !== 'string' && plan.copyModelBytes ? source.slice() : source;
      const session = await createOrtSession(runtime, bytesOrPath, name, from, sessionOptions, plan.behaviour, (s) => sessions.delete(s));
      if (disposed !== undefined) {
        // The backend was disposed while this model loaded.
        await session.release();
        throw new DisposedError(`backend "${backendName}"`);
      }
      sessions.add(session);
      return session;
    },

    dispose(): Promise<void> {
      disposed ??= Promise.allSettled([...sessions].map((s) => s.release())).then(() => undefined);
      return disposed;
    },
  };
}
