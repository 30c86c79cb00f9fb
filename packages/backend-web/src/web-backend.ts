import { InvalidArgumentError, InvalidStateError } from '@dytrack/core';
import type { BackendCapabilities, InferenceBackend, InferenceSession, LoadModelOptions, ModelSourceKind, TensorDType } from '@dytrack/core';
import { ALL_DTYPES } from '@dytrack/ort-common';
import { env } from 'onnxruntime-web';
import type { InferenceSession as OrtSession } from 'onnxruntime-web';
import { createLoader } from './runtime.js';

/** An onnxruntime-web execution provider: `'wasm'` (CPU), `'webgpu'`, or `'webnn'`. */
export type WebExecutionProvider = 'wasm' | 'webgpu' | 'webnn' | (string & {});

/**
 * Where the app serves onnxruntime-web's `.wasm` and `.mjs` files: a URL prefix
 * (ending in `/`) or explicit URLs of each. Never a CDN unless the app chooses one.
 */
export type WasmPaths = string | { readonly mjs?: string | URL; readonly wasm?: string | URL };

/** How much onnxruntime rewrites the graph before running it. */
export type WebGraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * Options of {@link createWebBackend}. `numThreads`, `wasmPaths` and `proxy`
 * configure onnxruntime-web's wasm runtime, which is one per page (or process):
 * the first backend to load a model fixes them, and a later backend that asks
 * for different values fails with an InvalidStateError instead of silently
 * running with the first one's.
 */
export interface WebBackendOptions {
  /**
   * Execution providers in order of preference. Default `['webgpu', 'wasm']` where
   * `navigator.gpu` exists, else `['wasm']`.
   */
  readonly executionProviders?: readonly WebExecutionProvider[];
  /**
   * wasm threads. More than 1 needs cross-origin isolation in browsers (ORT then
   * falls back to 1). ORT's default when omitted: about half the cores, at most 4.
   */
  readonly numThreads?: number;
  /** Where the wasm files are served from; ORT resolves them next to its own module when omitted. */
  readonly wasmPaths?: WasmPaths;
  /**
   * Run ORT in a web worker so the page's main thread stays free (browsers only; ignored by ORT under Node).
   * The backend then hands ORT copies of model bytes and feeds, and outputs stay on the CPU. Default false.
   */
  readonly proxy?: boolean;
  /** Graph optimisation level. Default `'all'`. */
  readonly graphOptimizationLevel?: WebGraphOptimizationLevel;
  /** ORT log severity: 0 verbose ... 4 fatal. Default 3, so ORT stays quiet unless it fails. */
  readonly logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

/**
 * The {@link BackendCapabilities} of a {@link WebBackend}; its `modelSources` are
 * `'bytes'` everywhere and `'path'` under Node or `'url'` in browsers (what a string source is).
 */
export type WebBackendCapabilities = BackendCapabilities;

/** The {@link InferenceBackend} returned by {@link createWebBackend}. */
export interface WebBackend extends InferenceBackend {
  /** Always `'onnxruntime-web'`. */
  readonly name: 'onnxruntime-web';
  /** What this backend does, including where it can load models from. */
  readonly capabilities: WebBackendCapabilities;
}

interface WasmConfig {
  readonly numThreads: number | undefined;
  readonly wasmPaths: WasmPaths | undefined;
  readonly proxy: boolean | undefined;
}

/** The wasm settings in force once the first model has been loaded in this realm. */
let appliedWasmConfig: WasmConfig | undefined;

function sameWasmPaths(a: WasmPaths | undefined, b: WasmPaths | undefined): boolean {
  if (a === undefined || b === undefined || typeof a === 'string' || typeof b === 'string') return a === b;
  return String(a.mjs) === String(b.mjs) && String(a.wasm) === String(b.wasm);
}

/** Throws when `wanted` asks for settings other than those already in force. */
function checkWasmConfig(wanted: WasmConfig): void {
  const applied = appliedWasmConfig;
  if (applied === undefined) return;
  const conflicts: string[] = [];
  // Compare with what was asked for: ORT may have lowered it (no cross-origin isolation).
  const threadsAsked = applied.numThreads ?? env.wasm.numThreads;
  if (wanted.numThreads !== undefined && wanted.numThreads !== threadsAsked) {
    conflicts.push(`numThreads ${wanted.numThreads} (in force: ${String(threadsAsked)})`);
  }
  if (wanted.wasmPaths !== undefined && !sameWasmPaths(wanted.wasmPaths, applied.wasmPaths)) conflicts.push('wasmPaths');
  if (wanted.proxy !== undefined && wanted.proxy !== (applied.proxy ?? false)) conflicts.push(`proxy ${wanted.proxy}`);
  if (conflicts.length > 0) {
    throw new InvalidStateError(
      `onnxruntime-web's wasm runtime is already initialised; it cannot change ${conflicts.join(', ')}. ` +
        'These settings are per page (or process): give every web backend the same ones.',
    );
  }
}

/** Applies `wanted` to ORT's global env before the first model loads. */
function applyWasmConfig(wanted: WasmConfig): void {
  checkWasmConfig(wanted);
  if (appliedWasmConfig !== undefined) return;
  if (wanted.numThreads !== undefined) env.wasm.numThreads = wanted.numThreads;
  if (wanted.wasmPaths !== undefined) env.wasm.wasmPaths = wanted.wasmPaths as typeof env.wasm.wasmPaths;
  if (wanted.proxy !== undefined) env.wasm.proxy = wanted.proxy;
  appliedWasmConfig = wanted;
}

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string';
}

function hasWebGpu(): boolean {
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  return nav?.gpu !== undefined && nav.gpu !== null;
}

function baseName(path: string): string {
  const clean = path.split(/[?#]/)[0];
  const parts = clean.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/**
 * Creates an {@link InferenceBackend} on onnxruntime-web: WebAssembly under Node
 * and in browsers, WebGPU where the browser offers it. With WebGPU first in
 * `executionProviders`, outputs named in `RunOptions.keepOnDevice` stay in GPU
 * buffers (`location: 'device'`) and can be fed to the next run without a copy.
 *
 * @example
 * ```ts
 * const backend = createWebBackend({ wasmPaths: '/ort/' });
 * const session = await backend.loadModel(new Uint8Array(await (await fetch('/model.onnx')).arrayBuffer()));
 * const { y } = await session.run({ x: { dtype: 'float32', dims: [1, 4], data: new Float32Array(4) } });
 * console.log(await y.download());
 * await backend.dispose();
 * ```
 *
 * @throws InvalidArgumentError for a bad option; InvalidStateError when the wasm
 * runtime is already running with other `numThreads`/`wasmPaths`/`proxy`.
 */
export function createWebBackend(options: WebBackendOptions = {}): WebBackend {
  if (options.numThreads !== undefined && (!Number.isSafeInteger(options.numThreads) || options.numThreads < 0)) {
    throw new InvalidArgumentError(`createWebBackend: numThreads must be a non-negative integer (0 = ORT's default), got ${String(options.numThreads)}`);
  }
  const providers = options.executionProviders ?? (hasWebGpu() ? ['webgpu', 'wasm'] : ['wasm']);
  if (!Array.isArray(providers) || providers.length === 0 || !providers.every((p) => typeof p === 'string' && p.length > 0)) {
    throw new InvalidArgumentError('createWebBackend: executionProviders must be a non-empty array of provider names');
  }
  const wasmConfig: WasmConfig = {
    numThreads: options.numThreads || undefined,
    wasmPaths: options.wasmPaths,
    proxy: options.proxy,
  };
  checkWasmConfig(wasmConfig);
  // ORT's proxy worker cannot keep outputs on the GPU (it rejects preferredOutputLocation).
  const onDevice = providers[0] === 'webgpu' && hasWebGpu() && options.proxy !== true;
  const sessionOptions: OrtSession.SessionOptions = {
    executionProviders: [...providers],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    logSeverityLevel: options.logSeverityLevel ?? 3,
    // Device sessions keep every output on the GPU; run() downloads the ones not kept.
    ...(onDevice ? { preferredOutputLocation: 'gpu-buffer' as const } : {}),
  };
  const modelSources: readonly ModelSourceKind[] = Object.freeze(isNode() ? ['bytes', 'path'] : ['bytes', 'url']);
  const fixed = {
    executionProviders: Object.freeze([...providers]),
    deviceTensors: onDevice,
    dtypes: ALL_DTYPES as readonly TensorDType[],
    modelSources,
  };
  const loader = createLoader({
    backendName: 'onnxruntime-web',
    sessionOptions,
    strings: { noun: 'path or URL', accepted: 'a Uint8Array of ONNX bytes, a file path (Node) or a URL (browsers)', baseName },
    prepare: () => {
      applyWasmConfig(wasmConfig);
      // With the proxy worker, ORT transfers (detaches) the buffers it is given: hand it copies.
      const proxied = env.wasm.proxy === true;
      return { behaviour: { onDevice, serializeRuns: true, copyFeeds: proxied }, copyModelBytes: proxied };
    },
  });

  return {
    specificationVersion: 'v1',
    name: 'onnxruntime-web',

    get capabilities(): WebBackendCapabilities {
      // Threads are known once the wasm runtime has started (ORT may lower the request).
      const threads = appliedWasmConfig !== undefined ? env.wasm.numThreads : wasmConfig.numThreads;
      return { ...fixed, threads: threads !== undefined && threads > 0 ? threads : undefined };
    },

    loadModel: (source: Uint8Array | string, loadOptions?: LoadModelOptions): Promise<InferenceSession> => loader.load(source, loadOptions),
    dispose: (): Promise<void> => loader.dispose(),
  };
}
