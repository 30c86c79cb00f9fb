import { BackendError, DisposedError, InvalidArgumentError } from '@dytrack/core';
import type { BackendCapabilities, InferenceBackend, InferenceSession, LoadModelOptions, TensorDType } from '@dytrack/core';
import { InferenceSession as OrtInferenceSessionFactory } from 'onnxruntime-node';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { ALL_DTYPES } from './dtypes.js';
import { messageOf } from './feeds.js';
import { OrtInferenceSession } from './session.js';

/**
 * An execution provider: its name (`'cpu'`, `'cuda'`, `'dml'`, `'coreml'`, ...), or
 * an object with the name and provider-specific options (`{ name: 'cuda', deviceId: 1 }`),
 * as onnxruntime-node takes them.
 */
export type NodeExecutionProvider = string | { readonly name: string; readonly [option: string]: unknown };

/** How much onnxruntime rewrites the graph before running it. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'layout' | 'all';

/** Options of {@link createNodeBackend}; each applies to every session the backend loads. */
export interface NodeBackendOptions {
  /** Threads used inside one operator (a MatMul, say). ORT's default (the physical core count) when omitted. */
  readonly intraOpNumThreads?: number;
  /** Threads used to run independent operators at once; matters only with `executionMode: 'parallel'`. */
  readonly interOpNumThreads?: number;
  /** Execution providers in order of preference. Default `['cpu']`. */
  readonly executionProviders?: readonly NodeExecutionProvider[];
  /** Graph optimisation level. Default `'all'`. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /** Use ORT's CPU memory arena (faster repeated runs, memory is kept). Default true. */
  readonly enableCpuMemArena?: boolean;
  /** Pre-plan memory from the first run's shapes. Default true. */
  readonly enableMemPattern?: boolean;
  /** Run operators one at a time or in parallel. Default `'sequential'`. */
  readonly executionMode?: 'sequential' | 'parallel';
  /** ORT log severity: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal. Default 3, so ORT stays quiet unless it fails. */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/** Where {@link NodeBackend.loadModel} can read a model from. */
export type ModelSourceKind = 'bytes' | 'path' | 'url';

/** {@link BackendCapabilities} plus the model sources this backend accepts. */
export interface NodeBackendCapabilities extends BackendCapabilities {
  /** `'bytes'` (a `Uint8Array`) and `'path'` (a file path string). */
  readonly modelSources: readonly ModelSourceKind[];
}

/** The {@link InferenceBackend} returned by {@link createNodeBackend}. */
export interface NodeBackend extends InferenceBackend {
  /** Always `'onnxruntime-node'`. */
  readonly name: 'onnxruntime-node';
  /** What this backend does, including where it can load models from. */
  readonly capabilities: NodeBackendCapabilities;
}

function checkThreads(field: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`createNodeBackend: ${field} must be a non-negative integer (0 = ORT's default), got ${String(value)}`);
  }
}

/** The last path segment, for a default model name. */
function baseName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/**
 * Creates an {@link InferenceBackend} on onnxruntime-node (native ORT: CPU by
 * default, CUDA/DirectML/CoreML where the installed build has them).
 *
 * @example
 * ```ts
 * const backend = createNodeBackend({ intraOpNumThreads: 2 });
 * const session = await backend.loadModel('model.onnx');
 * const { y } = await session.run({ x: { dtype: 'float32', dims: [1, 4], data: new Float32Array(4) } });
 * console.log(y.data);
 * await backend.dispose();
 * ```
 *
 * @throws InvalidArgumentError for a bad option (a negative thread count, say).
 */
export function createNodeBackend(options: NodeBackendOptions = {}): NodeBackend {
  checkThreads('intraOpNumThreads', options.intraOpNumThreads);
  checkThreads('interOpNumThreads', options.interOpNumThreads);
  const providers = options.executionProviders ?? ['cpu'];
  if (!Array.isArray(providers) || providers.length === 0) {
    throw new InvalidArgumentError('createNodeBackend: executionProviders must be a non-empty array');
  }
  const providerNames = providers.map((p) => (typeof p === 'string' ? p : p.name));
  const sessionOptions: OrtSession.SessionOptions = {
    executionProviders: providers as OrtSession.ExecutionProviderConfig[],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    enableCpuMemArena: options.enableCpuMemArena ?? true,
    enableMemPattern: options.enableMemPattern ?? true,
    executionMode: options.executionMode ?? 'sequential',
    logSeverityLevel: options.logSeverityLevel ?? 3,
    ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    ...(options.interOpNumThreads ? { interOpNumThreads: options.interOpNumThreads } : {}),
  };
  const capabilities: NodeBackendCapabilities = Object.freeze({
    executionProviders: Object.freeze(providerNames),
    deviceTensors: false,
    dtypes: ALL_DTYPES as readonly TensorDType[],
    threads: options.intraOpNumThreads ? options.intraOpNumThreads : undefined,
    modelSources: Object.freeze(['bytes', 'path'] as const),
  });
  const sessions = new Set<OrtInferenceSession>();
  let disposed: Promise<void> | undefined;

  return {
    specificationVersion: 'v1',
    name: 'onnxruntime-node',
    capabilities,

    async loadModel(source: Uint8Array | string, loadOptions?: LoadModelOptions): Promise<InferenceSession> {
      if (disposed !== undefined) throw new DisposedError('backend "onnxruntime-node"');
      if (typeof source === 'string') {
        if (source.length === 0) throw new InvalidArgumentError('loadModel: the model path is empty');
      } else if (!(source instanceof Uint8Array)) {
        throw new InvalidArgumentError('loadModel: source must be a Uint8Array of ONNX bytes or a file path');
      }
      const name = loadOptions?.name ?? (typeof source === 'string' ? baseName(source) : 'model');
      const from = typeof source === 'string' ? ` from ${source}` : ` (${source.byteLength} bytes)`;
      if (typeof source !== 'string' && source.byteLength === 0) {
        throw new BackendError(`failed to load model "${name}"${from}: the model is empty`);
      }
      let ortSession: OrtSession;
      try {
        ortSession =
          typeof source === 'string'
            ? await OrtInferenceSessionFactory.create(source, sessionOptions)
            : await OrtInferenceSessionFactory.create(source, sessionOptions);
      } catch (cause) {
        throw new BackendError(`failed to load model "${name}"${from}: ${messageOf(cause)}`, { cause });
      }
      const session = await OrtInferenceSession.wrap(name, ortSession, { onDevice: false, serializeRuns: false, copyFeeds: false }, (s) => sessions.delete(s));
      if (disposed !== undefined) {
        // The backend was disposed while this model loaded.
        await session.release();
        throw new DisposedError('backend "onnxruntime-node"');
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
