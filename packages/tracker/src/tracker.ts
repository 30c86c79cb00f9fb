import {
  DisposedError,
  DyTrackError,
  InvalidArgumentError,
  InvalidFrameError,
  InvalidStateError,
  ModelMismatchError,
  assertBoxInFrame,
  assertValidFrame,
  describeValue,
} from '@dytrack/core';
import type {
  BackendTensor,
  Box,
  ExitContext,
  ExitPolicy,
  ExitTrace,
  FeatureRecycler,
  FrameResult,
  GraphSpec,
  HostTensor,
  ImageFrame,
  InferenceBackend,
  InferenceSession,
  ModelManifest,
  ModelSource,
  RunOptions,
  StageSpec,
  Tracker,
} from '@dytrack/core';
import { createRecycler, planRecycling } from '@dytrack/recycling';
import { clipBox, createBox, createCropWindow, createCropper, createDecodedBox, decodeCenterHead, hannWindow2d, mapBoxBack } from '@dytrack/tensor';
import type { Cropper, CropWindow, DecodedBox, MutableBox, ResampleMode } from '@dytrack/tensor';

/** Options of {@link createTracker}. */
export interface TrackerOptions {
  /** The runtime that loads and runs the model's ONNX files (not disposed by the tracker). */
  readonly backend: InferenceBackend;
  /** The model: its manifest and files (`@dytrack/model`'s loaders or `inMemoryModel`). */
  readonly model: ModelSource;
  /** Decides after each exit whether to stop the frame; swappable with `setExitPolicy`. */
  readonly exitPolicy: ExitPolicy;
  /**
   * What flows between stages and frames; `createRecycler()` from
   * `@dytrack/recycling` when omitted. The tracker owns it from here on
   * (attaches it to the model, disposes it with itself).
   */
  readonly recycler?: FeatureRecycler;
  /**
   * Confidence (score-map peak) below which the target is reported lost: the
   * last good box is kept as the reported box and as the state. Default 0.2
   * (OpenCV's TrackerVit).
   */
  readonly lostThreshold?: number;
  /** Resize arithmetic of the crops (see `@dytrack/tensor`'s `ResampleMode`). Default `'float'`. */
  readonly resample?: ResampleMode;
}

/** A DyTrack `Tracker` with a few read-only views of its state. */
export interface DyTrackTracker extends Tracker {
  /** The model's manifest. */
  readonly manifest: ModelManifest;
  /** Frames tracked since `init` (0 right after `init`). */
  readonly frameIndex: number;
  /** The current state (the last good box), or undefined before `init`. */
  readonly state: Box | undefined;
  /** The lost threshold in use. */
  readonly lostThreshold: number;
}

/** What the tracker needs of one stage, resolved at creation. */
interface StageRuntime {
  readonly spec: StageSpec;
  readonly session: InferenceSession;
  readonly scoreName: string;
  readonly sizeName: string;
  readonly offsetName: string;
  readonly terminatingName: string;
  readonly runOptions: RunOptions | undefined;
  /** The box this stage's exit reports on the current frame (reused). */
  readonly box: MutableBox;
  /** Name for error messages. */
  readonly label: string;
}

/** The ExitContext the tracker reuses for every question it asks. */
interface MutableExitContext {
  exitIndex: number;
  exitCount: number;
  terminatingScore: number;
  confidence: number;
  box: Box;
  elapsedMs: number;
  frameIndex: number;
  previous: FrameResult | undefined;
}

const now: () => number = () => performance.now();

function checkPolicy(policy: unknown, what: string): ExitPolicy {
  const p = policy as ExitPolicy;
  if (p === null || typeof p !== 'object' || p.specificationVersion !== 'v1' || typeof p.shouldExit !== 'function') {
    throw new InvalidArgumentError(`${what} must be an ExitPolicy (an object with specificationVersion 'v1' and shouldExit), got ${describeValue(policy)}`);
  }
  return p;
}

function graphLabel(spec: GraphSpec, stageName?: string): string {
  return stageName === undefined ? `template encoder (${spec.file})` : `stage "${stageName}" (${spec.file})`;
}

/** Throws `ModelMismatchError` naming the first difference between a session and its manifest entry. */
function checkSession(session: InferenceSession, spec: GraphSpec, label: string, imageSizes: { template: number; search: number }): void {
  const modelInputs = session.inputs.map((i) => i.name);
  const modelOutputs = session.outputs.map((o) => o.name);
  for (const input of spec.inputs) {
    const info = session.inputs.find((i) => i.name === input.name);
    if (!info) {
      throw new ModelMismatchError(`${label}: the manifest names input "${input.name}" but the model has no such input (model inputs: ${modelInputs.join(', ')})`);
    }
    if (input.source.kind === 'template-image' || input.source.kind === 'search-image') {
      const side = input.source.kind === 'template-image' ? imageSizes.template : imageSizes.search;
      if (input.dtype !== 'float32' || info.dtype !== 'float32') {
        throw new DyTrackError('UNSUPPORTED', `${label}: image input "${input.name}" must be float32 (the tracker feeds float32 NCHW), got ${info.dtype}`);
      }
      const expected = [1, 3, side, side];
      if (info.shape && info.shape.some((d, i) => typeof d === 'number' && d !== expected[i])) {
        throw new ModelMismatchError(`${label}: image input "${input.name}" has shape [${info.shape.join(', ')}] but the manifest's crop size needs [${expected.join(', ')}]`);
      }
    }
  }
  for (const name of modelInputs) {
    if (!spec.inputs.some((i) => i.name === name)) {
      throw new ModelMismatchError(`${label}: the model has input "${name}" that the manifest does not name (manifest inputs: ${spec.inputs.map((i) => i.name).join(', ')})`);
    }
  }
  for (const output of spec.outputs) {
    if (!modelOutputs.includes(output.name)) {
      throw new ModelMismatchError(`${label}: the manifest names output "${output.name}" but the model has no such output (model outputs: ${modelOutputs.join(', ')})`);
    }
  }
  for (const name of modelOutputs) {
    if (!spec.outputs.some((o) => o.name === name)) {
      throw new ModelMismatchError(`${label}: the model has output "${name}" that the manifest does not name (manifest outputs: ${spec.outputs.map((o) => o.name).join(', ')})`);
    }
  }
}

function roleOutput(stage: StageSpec, role: 'score-map' | 'size-map' | 'offset-map' | 'terminating-score'): string {
  const out = stage.outputs.find((o) => o.role === role)!;
  if (out.dtype !== 'float32') {
    throw new DyTrackError('UNSUPPORTED', `stage "${stage.name}": output "${out.name}" (${role}) is ${out.dtype}; the tracker decodes float32 maps`);
  }
  return out.name;
}

/**
 * Host data of a float32 output: synchronous for CPU tensors (the common
 * case, no await on the hot path), undefined when it must be downloaded.
 */
function hostDataSync(tensor: BackendTensor | undefined, name: string, label: string): Float32Array | undefined {
  if (tensor === undefined) throw new ModelMismatchError(`${label}: the run returned no output "${name}"`);
  if (tensor.dtype !== 'float32') throw new ModelMismatchError(`${label}: output "${name}" is ${tensor.dtype}, expected float32`);
  return tensor.location === 'cpu' && tensor.data !== undefined ? (tensor.data as Float32Array) : undefined;
}

/**
 * Creates a DyTrack tracker (DESIGN 3-5): loads the model's template encoder
 * (if any) and stages through `backend.loadModel`, checks every session's
 * input and output names against the manifest (a difference is a
 * `ModelMismatchError` naming it), and returns an OpenCV-style tracker.
 *
 * Per frame, `update` crops the search region around the current state,
 * runs the stages in order and, after each, decodes its maps (Hann-windowed
 * argmax), maps the box back to the frame, clips it with a 10-pixel margin and
 * asks the exit policy whether to stop (never at the last exit). The frame's
 * result carries the box, confidence, terminating score, whether the target is
 * lost, the exit taken, every exit's trace and the time spent in
 * preprocessing, inference and decision. The hot path reuses its input
 * tensors, decode outputs and policy context; only the returned result is new.
 *
 * @example
 * ```ts
 * import { createNodeBackend } from '@dytrack/backend-node';
 * import { thresholdPolicy } from '@dytrack/exit-policies';
 * import { createTracker } from '@dytrack/tracker';
 *
 * const tracker = await createTracker({ backend: createNodeBackend(), model, exitPolicy: thresholdPolicy({ manifest: model.manifest }) });
 * await tracker.init(firstFrame, { x: 120, y: 80, width: 64, height: 48 });
 * for (const frame of frames) {
 *   const { box, lost, exitIndex } = await tracker.update(frame);
 * }
 * await tracker.dispose();
 * ```
 */
export async function createTracker(options: TrackerOptions): Promise<DyTrackTracker> {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('createTracker needs an options object { backend, model, exitPolicy }');
  const { backend, model } = options;
  if (backend === null || typeof backend !== 'object' || backend.specificationVersion !== 'v1' || typeof backend.loadModel !== 'function') {
    throw new InvalidArgumentError(`createTracker: backend must be an InferenceBackend (specificationVersion 'v1'), got ${describeValue(backend)}`);
  }
  if (model === null || typeof model !== 'object' || typeof model.readFile !== 'function' || model.manifest === undefined) {
    throw new InvalidArgumentError('createTracker: model must be a ModelSource { manifest, readFile }');
  }
  let policy = checkPolicy(options.exitPolicy, 'createTracker: exitPolicy');
  const lostThreshold = options.lostThreshold ?? 0.2;
  if (typeof lostThreshold !== 'number' || !(lostThreshold >= 0 && lostThreshold <= 1)) {
    throw new InvalidArgumentError(`createTracker: lostThreshold must be a number in [0, 1], got ${describeValue(lostThreshold)}`);
  }
  const recycler = options.recycler ?? createRecycler();
  if (recycler === null || typeof recycler !== 'object' || recycler.specificationVersion !== 'v1') {
    throw new InvalidArgumentError(`createTracker: recycler must be a FeatureRecycler (specificationVersion 'v1'), got ${describeValue(recycler)}`);
  }
  const manifest = model.manifest;
  const { template: templateCrop, search: searchCrop, normalization } = manifest.input;
  const n = manifest.head.mapSize;
  const imageSizes = { template: templateCrop.size, search: searchCrop.size };
  const plan = planRecycling(manifest);
  const keepOnDevice = backend.capabilities?.deviceTensors === true;

  // Load every graph; on any failure release what was loaded.
  const loaded: InferenceSession[] = [];
  let encoder: InferenceSession | undefined;
  const stages: StageRuntime[] = [];
  try {
    if (manifest.templateEncoder) {
      const spec = manifest.templateEncoder;
      const bytes = await model.readFile(spec.file);
      encoder = await backend.loadModel(bytes, { name: spec.file });
      loaded.push(encoder);
      checkSession(encoder, spec, graphLabel(spec), imageSizes);
    }
    for (let k = 0; k < manifest.stages.length; k++) {
      const spec = manifest.stages[k]!;
      const bytes = await model.readFile(spec.file);
      const session = await backend.loadModel(bytes, { name: spec.file });
      loaded.push(session);
      checkSession(session, spec, graphLabel(spec, spec.name), imageSizes);
      const keep = plan.stages[k]!.keep;
      stages.push({
        spec,
        session,
        scoreName: roleOutput(spec, 'score-map'),
        sizeName: roleOutput(spec, 'size-map'),
        offsetName: roleOutput(spec, 'offset-map'),
        terminatingName: roleOutput(spec, 'terminating-score'),
        runOptions: keepOnDevice && keep.length > 0 ? { keepOnDevice: keep } : undefined,
        box: createBox(),
        label: graphLabel(spec, spec.name),
      });
    }
    recycler.attach(manifest);
  } catch (e) {
    await Promise.allSettled(loaded.map((s) => s.release()));
    throw e;
  }
  const encoderRunOptions: RunOptions | undefined =
    keepOnDevice && plan.template && plan.template.keep.length > 0 ? { keepOnDevice: plan.template.keep } : undefined;

  // Preallocated per-frame buffers.
  const exitCount = stages.length;
  const templateData = new Float32Array(3 * templateCrop.size * templateCrop.size);
  const searchData = new Float32Array(3 * searchCrop.size * searchCrop.size);
  const templateTensor: HostTensor<'float32'> = { dtype: 'float32', dims: [1, 3, templateCrop.size, templateCrop.size], data: templateData };
  const searchTensor: HostTensor<'float32'> = { dtype: 'float32', dims: [1, 3, searchCrop.size, searchCrop.size], data: searchData };
  const resample = options.resample ?? 'float';
  const templateCropper: Cropper = createCropper(templateCrop.size, { resample });
  const searchCropper: Cropper = createCropper(searchCrop.size, { resample });
  const cropWindow: CropWindow = createCropWindow();
  const hann = hannWindow2d(n);
  const decoded: DecodedBox = createDecodedBox();
  const mapped: MutableBox = createBox();
  const state: MutableBox = createBox();
  // Per exit of the current frame: confidence and terminating score.
  const exitScores = new Float64Array(2 * exitCount);
  const ctx: MutableExitContext = {
    exitIndex: 0, exitCount, terminatingScore: 0.5, confidence: 0.5, box: stages[0]!.box, elapsedMs: 0.5, frameIndex: 0, previous: undefined,
  };

  let initialized = false;
  let disposed = false;
  let busy = false;
  let frameWidth = 0;
  let frameHeight = 0;
  let frameIndex = 0;
  let previous: FrameResult | undefined;

  function checkUsable(what: string): void {
    if (disposed) throw new DisposedError('tracker');
    if (busy) throw new InvalidStateError(`tracker.${what} called while another init or update is in progress; await it first`);
  }

  /** Host copies of device-resident maps (WebGPU), fetched only when needed. */
  async function download(k: number, outputs: Readonly<Record<string, BackendTensor>>): Promise<Float32Array[]> {
    const st = stages[k]!;
    const names = [st.scoreName, st.sizeName, st.offsetName, st.terminatingName];
    return Promise.all(names.map(async (name) => {
      const data = await outputs[name]!.download();
      if (!(data instanceof Float32Array)) throw new ModelMismatchError(`${st.label}: output "${name}" is not float32`);
      return data;
    }));
  }

  /**
   * Decodes stage k's maps into stages[k].box and exitScores (NaN box and
   * confidence when the maps hold nothing decodable). Synchronous: the hot path
   * awaits only the backend.
   */
  function decodeExit(k: number, score: Float32Array, size: Float32Array, offset: Float32Array, terminating: Float32Array): void {
    const stage = stages[k]!;
    const label = stage.label;
    if (score.length !== n * n || size.length !== 2 * n * n || offset.length !== 2 * n * n || terminating.length < 1) {
      throw new ModelMismatchError(
        `${label}: map sizes do not match head.mapSize ${n} (score ${score.length}, size ${size.length}, offset ${offset.length} values; terminating score ${terminating.length})`,
      );
    }
    const box = stage.box;
    let confidence = NaN;
    try {
      decodeCenterHead(score, size, offset, n, hann, decoded);
      mapBoxBack(decoded, state, cropWindow.cropSize, mapped);
      if (Number.isFinite(mapped.x) && Number.isFinite(mapped.y) && Number.isFinite(mapped.width) && Number.isFinite(mapped.height)) {
        clipBox(mapped, frameWidth, frameHeight, 10, box);
        confidence = decoded.score;
      }
    } catch {
      // All-NaN score map: nothing to decode. Reported below as NaN (lost).
    }
    if (Number.isNaN(confidence)) {
      box.x = NaN;
      box.y = NaN;
      box.width = NaN;
      box.height = NaN;
    }
    exitScores[2 * k] = confidence;
    exitScores[2 * k + 1] = terminating[0]!;
  }

  const tracker: DyTrackTracker = {
    manifest,
    lostThreshold,
    get frameIndex(): number {
      return frameIndex;
    },
    get state(): Box | undefined {
      return initialized ? { x: state.x, y: state.y, width: state.width, height: state.height } : undefined;
    },
    get exitPolicy(): ExitPolicy {
      return policy;
    },

    setExitPolicy(next: ExitPolicy): void {
      if (disposed) throw new DisposedError('tracker');
      policy = checkPolicy(next, 'setExitPolicy');
    },

    async init(frame: ImageFrame, box: Box): Promise<void> {
      checkUsable('init');
      assertValidFrame(frame);
      assertBoxInFrame(box, frame.width, frame.height, 'init box');
      busy = true;
      initialized = false;
      try {
        templateCropper.cropResizeNormalize(frame, box, templateCrop.contextFactor, normalization, templateData, cropWindow);
        if (encoder) {
          const feeds: Record<string, HostTensor> = {};
          for (const input of manifest.templateEncoder!.inputs) feeds[input.name] = templateTensor;
          const outputs = await encoder.run(feeds, encoderRunOptions);
          if (disposed) {
            for (const t of Object.values(outputs)) t.dispose();
            throw new DisposedError('tracker');
          }
          recycler.setTemplate(templateTensor, outputs);
        } else {
          recycler.setTemplate(templateTensor);
        }
        state.x = box.x;
        state.y = box.y;
        state.width = box.width;
        state.height = box.height;
        frameWidth = frame.width;
        frameHeight = frame.height;
        frameIndex = 0;
        previous = undefined;
        policy.reset?.();
        initialized = true;
      } finally {
        busy = false;
      }
    },

    async update(frame: ImageFrame): Promise<FrameResult> {
      checkUsable('update');
      if (!initialized) throw new InvalidStateError('tracker.update called before init(frame, box)');
      assertValidFrame(frame);
      if (frame.width !== frameWidth || frame.height !== frameHeight) {
        throw new InvalidFrameError(`frame is ${frame.width}x${frame.height} but the tracker was initialised on ${frameWidth}x${frameHeight} frames; call init again for a new size`);
      }
      busy = true;
      // The policy of this frame: a swap during the frame takes effect on the next one.
      const framePolicy = policy;
      const t0 = now();
      let inferenceMs = 0;
      let decisionMs = 0;
      let taken = exitCount - 1;
      try {
        searchCropper.cropResizeNormalize(frame, state, searchCrop.contextFactor, normalization, searchData, cropWindow);
        const t1 = now();
        recycler.beginFrame(searchTensor);
        ctx.frameIndex = frameIndex + 1;
        ctx.previous = previous;
        for (let k = 0; k < exitCount; k++) {
          const stage = stages[k]!;
          const feeds = recycler.feedsFor(k);
          const r0 = now();
          const outputs = await stage.session.run(feeds, stage.runOptions);
          const r1 = now();
          inferenceMs += r1 - r0;
          try {
            if (disposed) throw new DisposedError('tracker');
            const score = hostDataSync(outputs[stage.scoreName], stage.scoreName, stage.label);
            const size = hostDataSync(outputs[stage.sizeName], stage.sizeName, stage.label);
            const offset = hostDataSync(outputs[stage.offsetName], stage.offsetName, stage.label);
            const terminating = hostDataSync(outputs[stage.terminatingName], stage.terminatingName, stage.label);
            if (score && size && offset && terminating) {
              decodeExit(k, score, size, offset, terminating);
            } else {
              const [s0, s1, s2, s3] = await download(k, outputs);
              decodeExit(k, s0!, s1!, s2!, s3!);
            }
          } finally {
            // The recycler owns the outputs from here: keeps recycled ones, releases the rest.
            recycler.collect(k, outputs);
          }
          if (k === exitCount - 1) {
            decisionMs += now() - r1;
            break;
          }
          ctx.exitIndex = k;
          ctx.terminatingScore = exitScores[2 * k + 1]!;
          ctx.confidence = exitScores[2 * k]!;
          ctx.box = stage.box;
          ctx.elapsedMs = now() - t0;
          const stop = framePolicy.shouldExit(ctx) === true;
          decisionMs += now() - r1;
          if (stop) {
            taken = k;
            break;
          }
        }
        recycler.endFrame();
        const preprocessMs = t1 - t0;
        const exits: ExitTrace[] = [];
        for (let k = 0; k <= taken; k++) {
          const b = stages[k]!.box;
          exits.push({ exitIndex: k, box: { x: b.x, y: b.y, width: b.width, height: b.height }, confidence: exitScores[2 * k]!, terminatingScore: exitScores[2 * k + 1]! });
        }
        const chosen = exits[taken]!;
        const confidence = chosen.confidence;
        const lost = !(confidence >= lostThreshold);
        if (!lost) {
          state.x = chosen.box.x;
          state.y = chosen.box.y;
          state.width = chosen.box.width;
          state.height = chosen.box.height;
        }
        frameIndex++;
        const result: FrameResult = {
          frameIndex,
          box: { x: state.x, y: state.y, width: state.width, height: state.height },
          rawBox: chosen.box,
          confidence,
          terminatingScore: chosen.terminatingScore,
          lost,
          exitIndex: taken,
          stagesRun: taken + 1,
          timings: { preprocessMs, inferenceMs, decisionMs, totalMs: now() - t0 },
          exits,
        };
        previous = result;
        framePolicy.onFrameEnd?.(result);
        return result;
      } catch (e) {
        if (!disposed) recycler.endFrame();
        throw e;
      } finally {
        busy = false;
      }
    },

    reset(): void {
      if (disposed) throw new DisposedError('tracker');
      if (busy) throw new InvalidStateError('tracker.reset called while an init or update is in progress; await it first');
      initialized = false;
      frameIndex = 0;
      previous = undefined;
      recycler.clearTemplate();
      policy.reset?.();
    },

    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      initialized = false;
      recycler.dispose();
      await Promise.allSettled(loaded.map((s) => s.release()));
    },
  };
  return tracker;
}
