import type { InputSource, ModelManifest } from '@dytrack/core';

/** How one input of a stage is fed. */
export interface PlannedInput {
  /** The stage's ONNX input name. */
  readonly name: string;
  /** Where its value comes from (as the manifest says). */
  readonly source: InputSource;
}

/** What happens around one stage. */
export interface StagePlan {
  /** The stage's inputs, in manifest order, with their sources. */
  readonly inputs: readonly PlannedInput[];
  /**
   * Outputs that later stages consume: kept after `collect` until their last
   * consumer has run (or the frame ends).
   */
  readonly keep: readonly string[];
  /** Outputs no later stage consumes: released as soon as they are collected. */
  readonly release: readonly string[];
  /** For each kept output, the index of the last stage that consumes it. */
  readonly lastUse: Readonly<Record<string, number>>;
}

/** The template encoder's part of the plan (template-cache models). */
export interface TemplatePlan {
  /** Encoder outputs some stage consumes: kept across frames. */
  readonly keep: readonly string[];
  /** Encoder outputs no stage consumes: released at `setTemplate`. */
  readonly release: readonly string[];
}

/**
 * What flows where (DESIGN 3.3), read from a manifest: each stage's feeds,
 * which outputs are recycled within the frame and until when, and which
 * template-encoder outputs are cached across frames.
 */
export interface RecyclingPlan {
  /** One entry per stage, in order. */
  readonly stages: readonly StagePlan[];
  /** Present when the manifest has a template encoder. */
  readonly template: TemplatePlan | undefined;
  /** True when some stage input is the template image itself (recomputed template tokens). */
  readonly usesTemplateImage: boolean;
}

/**
 * Builds the {@link RecyclingPlan} of a manifest. The manifest parser has
 * already checked that every recycled input names an output of an earlier
 * graph, so this cannot fail on a parsed manifest.
 */
export function planRecycling(manifest: ModelManifest): RecyclingPlan {
  const stageCount = manifest.stages.length;
  const lastUse: Record<string, number>[] = manifest.stages.map(() => ({}));
  const templateUsed = new Set<string>();
  let usesTemplateImage = false;
  manifest.stages.forEach((stage, k) => {
    for (const input of stage.inputs) {
      const src = input.source;
      if (src.kind === 'template-image') usesTemplateImage = true;
      if (src.kind !== 'output') continue;
      if (src.stage === 'template') {
        templateUsed.add(src.output);
      } else if (src.stage < stageCount) {
        const uses = lastUse[src.stage]!;
        uses[src.output] = Math.max(uses[src.output] ?? -1, k);
      }
    }
  });
  const stages = manifest.stages.map((stage, k): StagePlan => {
    const uses = lastUse[k]!;
    const keep = stage.outputs.map((o) => o.name).filter((n) => uses[n] !== undefined);
    const release = stage.outputs.map((o) => o.name).filter((n) => uses[n] === undefined);
    return { inputs: stage.inputs.map((i) => ({ name: i.name, source: i.source })), keep, release, lastUse: { ...uses } };
  });
  let template: TemplatePlan | undefined;
  if (manifest.templateEncoder) {
    const names = manifest.templateEncoder.outputs.map((o) => o.name);
    template = { keep: names.filter((n) => templateUsed.has(n)), release: names.filter((n) => !templateUsed.has(n)) };
  }
  return { stages, template, usesTemplateImage };
}
