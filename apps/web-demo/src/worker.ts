/**
 * The tracker worker: onnxruntime-web, the model and the DyTrack tracker live
 * here so that inference never blocks the page. Messages are handled strictly
 * one after another (a promise chain), so a policy switch always lands between
 * two frames and every result names the policy that decided it.
 */
import { createWebBackend, type WebExecutionProvider } from '@dytrack/backend-web';
import type { InferenceBackend } from '@dytrack/core';
import { loadModelFromUrl } from '@dytrack/model';
import { createTracker, type DyTrackTracker } from '@dytrack/tracker';
import { createPolicy } from './policy.js';
import type { BackendChoice, FromWorker, RuntimeInfo, ToWorker } from './protocol.js';

/** The parts of `DedicatedWorkerGlobalScope` used here (the DOM lib does not declare it). */
interface WorkerScope {
  postMessage(message: FromWorker): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<ToWorker>) => void): void;
  readonly crossOriginIsolated: boolean;
  readonly navigator: Navigator & { readonly gpu?: { requestAdapter(): Promise<unknown> } };
}

const scope = self as unknown as WorkerScope;

let tracker: DyTrackTracker | undefined;

async function executionProviders(choice: BackendChoice): Promise<WebExecutionProvider[]> {
  if (choice === 'wasm') return ['wasm'];
  if (choice === 'webgpu') return ['webgpu'];
  // navigator.gpu exists in browsers that cannot give an adapter (no GPU, --disable-gpu): ask for one.
  const gpu = scope.navigator.gpu;
  if (gpu === undefined) return ['wasm'];
  try {
    return (await gpu.requestAdapter()) ? ['webgpu', 'wasm'] : ['wasm'];
  } catch {
    return ['wasm'];
  }
}

async function load(message: Extract<ToWorker, { type: 'load' }>): Promise<RuntimeInfo> {
  const started = performance.now();
  const providers = await executionProviders(message.backend);
  // Threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP/COEP headers).
  const threads = scope.crossOriginIsolated ? Math.max(1, Math.min(4, scope.navigator.hardwareConcurrency || 1)) : 1;
  const web = createWebBackend({ executionProviders: providers, numThreads: threads, wasmPaths: message.wasmPaths });
  const model = await loadModelFromUrl(message.modelUrl);
  const graphs = (model.manifest.templateEncoder ? 1 : 0) + model.manifest.stages.length;
  let loaded = 0;
  // The same backend, reporting each graph it loads (the first also starts the wasm runtime).
  const backend: InferenceBackend = {
    specificationVersion: 'v1',
    name: web.name,
    get capabilities() {
      return web.capabilities;
    },
    loadModel(source, options) {
      const what = loaded === 0 ? 'starting onnxruntime-web and loading' : 'loading';
      scope.postMessage({ type: 'progress', text: `${what} graph ${++loaded} of ${graphs} (${options?.name ?? 'model'})…` });
      return web.loadModel(source, options);
    },
    dispose: () => web.dispose(),
  };
  // createTracker needs an initial policy; the page sends its own with `init`.
  tracker = await createTracker({ backend, model, exitPolicy: createPolicy({ kind: 'fixed-depth', exit: model.manifest.stages.length - 1 }) });
  const manifest = model.manifest;
  return {
    executionProviders: providers,
    threads,
    crossOriginIsolated: scope.crossOriginIsolated,
    modelName: manifest.name,
    modelVariant: manifest.variant ?? 'custom',
    exitCount: manifest.stages.length,
    defaultThresholds: manifest.stages.map((s) => s.exit.defaultThreshold),
    loadMs: performance.now() - started,
  };
}

function requireTracker(): DyTrackTracker {
  if (tracker === undefined) throw new Error('the model is not loaded yet');
  return tracker;
}

async function handle(message: ToWorker): Promise<FromWorker> {
  switch (message.type) {
    case 'load':
      return { type: 'loaded', runtime: await load(message) };
    case 'init': {
      const t = requireTracker();
      const started = performance.now();
      t.setExitPolicy(createPolicy(message.policy));
      await t.init(message.frame, message.box);
      return { type: 'initialized', policy: t.exitPolicy.name, ms: performance.now() - started };
    }
    case 'track': {
      const t = requireTracker();
      // The policy in force when the frame starts is the one that decides it.
      const policy = t.exitPolicy.name;
      const r = await t.update(message.frame);
      return {
        type: 'result',
        report: {
          frameIndex: r.frameIndex,
          box: r.box,
          lost: r.lost,
          confidence: r.confidence,
          terminatingScore: r.terminatingScore,
          exitIndex: r.exitIndex,
          stagesRun: r.stagesRun,
          totalMs: r.timings.totalMs,
          inferenceMs: r.timings.inferenceMs,
          policy,
        },
      };
    }
    case 'policy': {
      const t = requireTracker();
      t.setExitPolicy(createPolicy(message.policy));
      return { type: 'policy-set', policy: t.exitPolicy.name };
    }
    default:
      throw new Error(`unknown message ${JSON.stringify((message as { type?: unknown }).type)}`);
  }
}

let queue: Promise<void> = Promise.resolve();

scope.addEventListener('message', (event) => {
  const message = event.data;
  queue = queue.then(async () => {
    try {
      scope.postMessage(await handle(message));
    } catch (e) {
      scope.postMessage({ type: 'error', during: message.type, message: e instanceof Error ? e.message : String(e) });
    }
  });
});
