import { DisposedError, InvalidArgumentError, InvalidStateError, ModelMismatchError } from '@dytrack/core';
import type { BackendTensor, FeatureRecycler, HostTensor, ModelManifest, TensorValue } from '@dytrack/core';
import type { RecyclingPlan } from './plan.js';
import { planRecycling } from './plan.js';

/** The default `FeatureRecycler`, with its plan exposed for inspection. */
export interface Recycler extends FeatureRecycler {
  /** The plan read from the attached manifest (undefined before `attach`). */
  readonly plan: RecyclingPlan | undefined;
  /** Number of backend tensors the recycler currently holds (template and frame). */
  readonly heldTensorCount: number;
}

/** How a stage input is filled, resolved once at `attach`. */
type Slot =
  | { readonly kind: 'template-image'; readonly name: string }
  | { readonly kind: 'search-image'; readonly name: string }
  | { readonly kind: 'template-output'; readonly name: string; readonly output: string }
  | { readonly kind: 'stage-output'; readonly name: string; readonly stage: number; readonly output: string };

/** Kept output of a stage within the current frame, released after its last use. */
interface Held {
  readonly stage: number;
  readonly output: string;
  readonly lastUse: number;
  tensor: BackendTensor | undefined;
}

function disposeQuietly(t: BackendTensor | undefined): void {
  if (t !== undefined && typeof t.dispose === 'function') t.dispose();
}

/**
 * Creates the default `FeatureRecycler` (DESIGN 3.3):
 *
 * - within a frame, each stage's feeds come from the plan (template image,
 *   search image, template-encoder outputs, earlier stages' tokens and head
 *   features), and recycled outputs are fed back as the backend returned them
 *   (on the device when the backend keeps them there);
 * - outputs no later stage consumes are released right after `collect`; kept
 *   outputs are released after their last consumer has run, and whatever is
 *   left at `endFrame` (the frame exited early) is released then;
 * - across frames, the template image and the template encoder's consumed
 *   outputs are held until `setTemplate` replaces them or `dispose`; encoder
 *   outputs no stage consumes are released at `setTemplate`.
 *
 * `collect` takes ownership of every tensor handed to it. `feedsFor(k)`
 * returns the same object for stage k on every frame (refilled in place), so
 * the hot path allocates nothing.
 *
 * @example
 * ```ts
 * const recycler = createRecycler();
 * recycler.attach(manifest);
 * recycler.setTemplate(templateTensor, await encoder.run({ template: templateTensor }));
 * recycler.beginFrame(searchTensor);
 * for (let k = 0; k < manifest.stages.length; k++) {
 *   const outputs = await stages[k].run(recycler.feedsFor(k));
 *   // ... read the maps ...
 *   recycler.collect(k, outputs);
 * }
 * recycler.endFrame();
 * ```
 */
export function createRecycler(): Recycler {
  let manifest: ModelManifest | undefined;
  let plan: RecyclingPlan | undefined;
  let slots: Slot[][] = [];
  let feeds: Record<string, TensorValue>[] = [];
  /** held[k][j]: the j-th kept output of stage k. */
  let held: Held[][] = [];
  let collected: boolean[] = [];
  let templateImage: HostTensor | undefined;
  let templateOutputs: Map<string, BackendTensor> = new Map();
  let searchImage: HostTensor | undefined;
  let templateSet = false;
  let inFrame = false;
  let disposed = false;

  function check(what: string): void {
    if (disposed) throw new DisposedError('recycler');
    if (!manifest) throw new InvalidStateError(`recycler.${what} called before attach(manifest)`);
  }

  function releaseTemplate(): void {
    for (const t of templateOutputs.values()) disposeQuietly(t);
    templateOutputs = new Map();
    templateImage = undefined;
    templateSet = false;
  }

  function releaseFrame(): void {
    for (const stage of held) {
      for (const h of stage) {
        disposeQuietly(h.tensor);
        h.tensor = undefined;
      }
    }
    collected.fill(false);
    searchImage = undefined;
    inFrame = false;
  }

  return {
    specificationVersion: 'v1',
    name: 'dytrack-recycler',
    get plan(): RecyclingPlan | undefined {
      return plan;
    },
    get heldTensorCount(): number {
      let n = templateOutputs.size;
      for (const stage of held) for (const h of stage) if (h.tensor !== undefined) n++;
      return n;
    },

    attach(m: ModelManifest): void {
      if (disposed) throw new DisposedError('recycler');
      if (m === null || typeof m !== 'object' || !Array.isArray(m.stages)) {
        throw new InvalidArgumentError('recycler.attach needs a parsed ModelManifest (see parseManifest)');
      }
      releaseFrame();
      releaseTemplate();
      manifest = m;
      plan = planRecycling(m);
      slots = plan.stages.map((s) =>
        s.inputs.map((i): Slot => {
          const src = i.source;
          if (src.kind === 'template-image') return { kind: 'template-image', name: i.name };
          if (src.kind === 'search-image') return { kind: 'search-image', name: i.name };
          if (src.stage === 'template') return { kind: 'template-output', name: i.name, output: src.output };
          return { kind: 'stage-output', name: i.name, stage: src.stage, output: src.output };
        }),
      );
      feeds = plan.stages.map(() => ({}));
      held = plan.stages.map((s, k) => s.keep.map((output): Held => ({ stage: k, output, lastUse: s.lastUse[output]!, tensor: undefined })));
      collected = plan.stages.map(() => false);
    },

    clearTemplate(): void {
      check('clearTemplate');
      releaseTemplate();
    },

    setTemplate(image: HostTensor, encoderOutputs?: Readonly<Record<string, BackendTensor>>): void {
      check('setTemplate');
      const keep = plan!.template?.keep ?? [];
      if (keep.length > 0 && encoderOutputs === undefined) {
        throw new InvalidArgumentError(`recycler.setTemplate: this model caches the template encoder's outputs (${keep.join(', ')}); pass them`);
      }
      for (const name of keep) {
        if (encoderOutputs![name] === undefined) {
          // Release what we were handed before failing: ownership came with the call.
          for (const t of Object.values(encoderOutputs!)) disposeQuietly(t);
          throw new ModelMismatchError(`template encoder did not produce "${name}", which the stages consume`);
        }
      }
      const next = new Map<string, BackendTensor>();
      if (encoderOutputs !== undefined) {
        for (const [name, tensor] of Object.entries(encoderOutputs)) {
          if (keep.includes(name)) next.set(name, tensor);
          else disposeQuietly(tensor);
        }
      }
      releaseTemplate();
      templateImage = image;
      templateOutputs = next;
      templateSet = true;
    },

    beginFrame(image: HostTensor): void {
      check('beginFrame');
      if (!templateSet) {
        throw new InvalidStateError('recycler.beginFrame called before setTemplate');
      }
      if (inFrame) releaseFrame();
      searchImage = image;
      inFrame = true;
    },

    feedsFor(stageIndex: number): Record<string, TensorValue> {
      check('feedsFor');
      if (!inFrame) throw new InvalidStateError('recycler.feedsFor called outside a frame (call beginFrame first)');
      const list = slots[stageIndex];
      if (list === undefined) throw new InvalidArgumentError(`recycler.feedsFor: no stage ${stageIndex} (the model has ${slots.length})`);
      const out = feeds[stageIndex]!;
      for (let i = 0; i < list.length; i++) {
        const slot = list[i]!;
        let value: TensorValue | undefined;
        switch (slot.kind) {
          case 'template-image':
            value = templateImage;
            break;
          case 'search-image':
            value = searchImage;
            break;
          case 'template-output':
            value = templateOutputs.get(slot.output);
            break;
          case 'stage-output': {
            const hs = held[slot.stage]!;
            for (let j = 0; j < hs.length; j++) if (hs[j]!.output === slot.output) value = hs[j]!.tensor;
            if (value === undefined) {
              throw new InvalidStateError(`stage ${stageIndex} input "${slot.name}" needs output "${slot.output}" of stage ${slot.stage}, which has not run on this frame`);
            }
            break;
          }
        }
        if (value === undefined) throw new InvalidStateError(`stage ${stageIndex} input "${slot.name}" needs the template; call setTemplate first`);
        out[slot.name] = value;
      }
      return out;
    },

    collect(stageIndex: number, outputs: Readonly<Record<string, BackendTensor>>): void {
      if (disposed || !manifest || !inFrame || collected[stageIndex] !== false) {
        // Ownership came with the call: release before failing.
        for (const t of Object.values(outputs)) disposeQuietly(t);
        check('collect');
        if (!inFrame) throw new InvalidStateError('recycler.collect called outside a frame');
        if (collected[stageIndex] === undefined) throw new InvalidArgumentError(`recycler.collect: no stage ${stageIndex} (the model has ${collected.length})`);
        throw new InvalidStateError(`recycler.collect: stage ${stageIndex} was already collected on this frame`);
      }
      collected[stageIndex] = true;
      const hs = held[stageIndex]!;
      const stagePlan = plan!.stages[stageIndex]!;
      // Keep what later stages consume.
      for (let j = 0; j < hs.length; j++) {
        const h = hs[j]!;
        const t = outputs[h.output];
        if (t === undefined) {
          for (const v of Object.values(outputs)) disposeQuietly(v);
          throw new ModelMismatchError(`stage ${stageIndex} did not produce "${h.output}", which stage ${h.lastUse} consumes`);
        }
        h.tensor = t;
      }
      // Release what nobody consumes.
      for (let j = 0; j < stagePlan.release.length; j++) disposeQuietly(outputs[stagePlan.release[j]!]);
      // Release earlier outputs whose last consumer was this stage.
      for (let s = 0; s < stageIndex; s++) {
        const earlier = held[s]!;
        for (let j = 0; j < earlier.length; j++) {
          const h = earlier[j]!;
          if (h.lastUse === stageIndex && h.tensor !== undefined) {
            disposeQuietly(h.tensor);
            h.tensor = undefined;
          }
        }
      }
    },

    endFrame(): void {
      if (disposed) throw new DisposedError('recycler');
      releaseFrame();
    },

    dispose(): void {
      if (disposed) return;
      releaseFrame();
      releaseTemplate();
      for (const f of feeds) for (const key of Object.keys(f)) delete f[key];
      disposed = true;
    },
  };
}
