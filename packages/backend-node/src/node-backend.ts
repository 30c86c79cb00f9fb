import { InvalidArgumentError } from '@dytrack/core';
import type { BackendCapabilities, InferenceBackend, InferenceSession, LoadModelOptions, TensorDType } from '@dytrack/core';
import { ALL_DTYPES } from '@dytrack/ort-common';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { createLoader } from './runtime.js';

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
  /**
   * Whether an operator's worker threads spin-wait for the next work after they finish (ORT's
   * `session.intra_op.allow_spinning`). Default false, unlike ORT's own default: every session
   * has its own pool of `intraOpNumThreads - 1` workers, and a DyTrack model's stages are
   * sessions run one after another, so one stage's spinning workers hold cores the next stage
   * needs. On 2 cores with 2 threads the shipped model's full depth runs at 30–32 fps spinning
   * and 51–60 fps not (docs/benchmarks.md). Irrelevant with one thread (no workers).
   */
  readonly allowSpinning?: boolean;
  /** ORT log severity: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal. Default 3, so ORT stays quiet unless it fails. */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/**
 * The {@link BackendCapabilities} of a {@link NodeBackend}; its `modelSources` are
 * `'bytes'` (a `Uint8Array`) and `'path'` (a file path string).
 */
export type NodeBackendCapabilities = BackendCapabilities;

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
  if (options.allowSpinning !== undefined && typeof options.allowSpinning !== 'boolean') {
    throw new InvalidArgumentError(`createNodeBackend: allowSpinning must be a boolean, got ${String(options.allowSpinning)}`);
  }
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
    extra: { session: { intra_op: { allow_spinning: options.allowSpinning === true ? '1' : '0' } } },
  };
  const capabilities: NodeBackendCapabilities = Object.freeze({
    executionProviders: Object.freeze(providerNames),
    deviceTensors: false,
    dtypes: ALL_DTYPES as readonly TensorDType[],
    threads: options.intraOpNumThreads ? options.intraOpNumThreads : undefined,
    modelSources: Object.freeze(['bytes', 'path'] as const),
  });
  const loader = createLoader({
    backendName: 'onnxruntime-node',
    sessionOptions,
    strings: { noun: 'path', accepted: 'a Uint8Array of ONNX bytes or a file path', baseName },
    prepare: () => ({ behaviour: { onDevice: false, serializeRuns: false, copyFeeds: false }, copyModelBytes: false }),
  });

  return {
    specificationVersion: 'v1',
    name: 'onnxruntime-node',
    capabilities,
    loadModel: (source: Uint8Array | string, loadOptions?: LoadModelOptions): Promise<InferenceSession> => loader.load(source, loadOptions),
    dispose: (): Promise<void> => loader.dispose(),
  };
}
