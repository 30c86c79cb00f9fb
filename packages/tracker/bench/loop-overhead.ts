/**
 * The tracker loop's own cost per frame: everything `update` does except the
 * backend's `run` (crop + resize + normalise, recycling, map decoding, the
 * policy, bookkeeping). The model has 3 stages with realistic geometry (map
 * 16, search 256, template 128) but trivial graphs; the frames are 1280x720
 * RGBA. The backend is wrapped to time `run`, and the overhead is the update
 * time minus the time inside `run`. Prints medians.
 *
 *   node --conditions=@dytrack/source --import tsx packages/tracker/bench/loop-overhead.ts
 */
import { createNodeBackend } from '@dytrack/backend-node';
import type { ExitPolicy } from '@dytrack/core';
import { fixedDepthPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import { createTracker } from '@dytrack/tracker';
import { instrument } from '../test/instrument.js';
import { stagedModel } from '../test/models.js';
import type { ExitSpec } from '../test/models.js';

const WARMUP = 50;
const FRAMES = Number(process.env.FRAMES ?? 400);
const W = 1280;
const H = 720;

const exits: ExitSpec[] = [
  { ix: 8, iy: 7, peak: 0.9, offset: [0.5, 0.5], size: [0.12, 0.1], terminating: 0.3 },
  { ix: 7, iy: 8, peak: 0.85, offset: [0.5, 0.5], size: [0.12, 0.1], terminating: 0.6 },
  { ix: 8, iy: 8, peak: 0.8, offset: [0.5, 0.5], size: [0.12, 0.1], terminating: 0.9 },
];

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

// A textured frame, so the crop reads real pixel values.
function frame(seed: number) {
  const data = new Uint8Array(W * H * 4);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + seed * 7) & 255;
  return { data, width: W, height: H, format: 'rgba' as const };
}

async function run(label: string, policy: ExitPolicy): Promise<void> {
  const backend = createNodeBackend();
  const inst = instrument(backend);
  const model = await stagedModel(exits, { geometry: { n: 16, template: 128, search: 256 } });
  const tracker = await createTracker({ backend: inst.backend, model, exitPolicy: policy });
  const frames = [frame(1), frame(2)];
  await tracker.init(frames[0]!, { x: 600, y: 320, width: 80, height: 60 });
  const overhead: number[] = [];
  const overheadNoPre: number[] = [];
  const pre: number[] = [];
  const decision: number[] = [];
  const inference: number[] = [];
  const total: number[] = [];
  let stages = 0;
  for (let f = 0; f < WARMUP + FRAMES; f++) {
    const before = inst.runMs.length;
    const t0 = performance.now();
    const r = await tracker.update(frames[f & 1]!);
    const t = performance.now() - t0;
    let inRun = 0;
    for (let i = before; i < inst.runMs.length; i++) inRun += inst.runMs[i]!;
    if (f < WARMUP) continue;
    // Re-centre now and then so the state stays on the frame.
    if (f % 50 === 0) await tracker.init(frames[0]!, { x: 600, y: 320, width: 80, height: 60 });
    total.push(t);
    inference.push(inRun);
    overhead.push(t - inRun);
    overheadNoPre.push(t - inRun - r.timings.preprocessMs);
    pre.push(r.timings.preprocessMs);
    decision.push(r.timings.decisionMs);
    stages += r.stagesRun;
  }
  await tracker.dispose();
  await backend.dispose();
  const ms = (x: number) => `${x.toFixed(3)} ms`;
  console.log(`\n${label}: ${FRAMES} frames, ${(stages / FRAMES).toFixed(2)} stages/frame (medians)`);
  console.log(`  update total                         ${ms(median(total))}`);
  console.log(`  inside backend.run                   ${ms(median(inference))}`);
  console.log(`  loop overhead (all but run)          ${ms(median(overhead))}`);
  console.log(`    of which preprocessing (crop)      ${ms(median(pre))}`);
  console.log(`  loop overhead without preprocessing  ${ms(median(overheadNoPre))}   (target < 0.2 ms)`);
  console.log(`  decode + policy (timings.decisionMs) ${ms(median(decision))}`);
}

console.log(`tracker loop overhead: ${W}x${H} RGBA frames, 3 stages, map 16, search 256, template 128, node ${process.version}`);
await run('full depth (fixedDepthPolicy exit 2)', fixedDepthPolicy({ exit: 2 }));
await run('threshold policy (exits at 1)', thresholdPolicy({ thresholds: [0.5, 0.5] }));
