/**
 * The demo page: picks a source, lets the user draw the initial box, streams
 * frames to the tracker worker one at a time, and shows the box, the exit taken
 * on every frame, timings and the exit-policy controls. Test hooks are
 * published on `window.__dytrack` (see {@link DemoHooks}).
 */
import type { Box } from '@dytrack/core';
import { iouInclusive, type DemoHooks, type DemoManifest, type FrameRecord, type FrameReport, type FromWorker, type PolicySpec, type RuntimeInfo, type ToWorker } from './protocol.js';
import { SourceError, cameraSource, fileSource, sampleSource, type FrameSource } from './sources.js';

declare global {
  interface Window {
    /** Test hooks of the DyTrack web demo. */
    __dytrack: DemoHooks;
  }
}

/** Cells kept in the exit strip (older ones scroll out). */
const STRIP_CELLS = 220;

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const view = element<HTMLCanvasElement>('view');
const ctx = view.getContext('2d', { willReadFrequently: true })!;
const video = element<HTMLVideoElement>('video');
const messageBox = element<HTMLDivElement>('message');
const hint = element<HTMLParagraphElement>('hint');
const runtimeLine = element<HTMLParagraphElement>('runtime');
const strip = element<HTMLDivElement>('exit-strip');
const legend = element<HTMLSpanElement>('strip-legend');
const policyKind = element<HTMLSelectElement>('policy-kind');
const policyParams = element<HTMLDivElement>('policy-params');
const policyName = element<HTMLOutputElement>('policy-name');
const speedSelect = element<HTMLSelectElement>('speed');
const redrawButton = element<HTMLButtonElement>('redraw');
const footer = element<HTMLElement>('footer');
const stat = {
  frameMs: element('stat-frame-ms'),
  inferenceMs: element('stat-inference-ms'),
  fps: element('stat-fps'),
  stages: element('stat-stages'),
  exits: element('stat-exits'),
  confidence: element('stat-confidence'),
  iou: element('stat-iou'),
  iouLabel: element('stat-iou-label'),
};

const hooks: DemoHooks = {
  phase: 'loading',
  runtime: undefined,
  model: undefined,
  source: undefined,
  truth: undefined,
  initBox: undefined,
  results: [],
  meanStages: Number.NaN,
  policy: undefined,
  message: undefined,
};
window.__dytrack = hooks;

let demo: DemoManifest | undefined;
let sampleFrames: Uint8Array | undefined;
let runtime: RuntimeInfo | undefined;
let source: FrameSource | undefined;
/** Frame shown while the user draws the box (frozen). */
let initImage: ImageData | undefined;
/** The box being dragged, in frame pixels. */
let drag: { x0: number; y0: number; box: Box | undefined } | undefined;
let inFlight = false;
/** True between sending `init` and its answer: results arriving then belong to an earlier run. */
let awaitingInit = false;
let lastResultAt = 0;
let fpsEma = 0;
let segment = { stages: 0, frames: 0 };
const exitCounts: number[] = [];
let policyTimer: ReturnType<typeof setTimeout> | undefined;

// ---- messages --------------------------------------------------------------

function showMessage(text: string | undefined, kind: 'error' | 'info' = 'error'): void {
  hooks.message = text;
  messageBox.hidden = text === undefined;
  messageBox.className = kind;
  messageBox.textContent = text ?? '';
}

function setPhase(phase: DemoHooks['phase'], hintText?: string): void {
  hooks.phase = phase;
  document.body.dataset.phase = phase;
  if (hintText !== undefined) hint.textContent = hintText;
  redrawButton.disabled = !(source !== undefined && (phase === 'tracking' || phase === 'done'));
}

// ---- worker ----------------------------------------------------------------

const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });

function send(message: ToWorker, transfer: Transferable[] = []): void {
  worker.postMessage(message, transfer);
}

worker.addEventListener('error', (event) => {
  showMessage(`The tracker worker failed to start: ${event.message || 'unknown error'}`);
  setPhase('error');
});

worker.addEventListener('message', (event: MessageEvent<FromWorker>) => {
  const message = event.data;
  switch (message.type) {
    case 'progress':
      hint.textContent = `Loading the model: ${message.text}`;
      console.debug(`[dytrack] ${Math.round(performance.now())} ms: ${message.text}`);
      break;
    case 'loaded':
      onLoaded(message.runtime);
      break;
    case 'initialized':
      awaitingInit = false;
      policyApplied(message.policy);
      // Playback starts once the tracker has the target (a video would run ahead otherwise).
      source?.start(Number(speedSelect.value));
      setPhase('tracking', `Tracking${source?.truth ? ' (dashed white: the sample’s truth)' : ''}. Switch the exit policy on the right while it runs.`);
      scheduleNext();
      break;
    case 'result':
      onResult(message.report);
      break;
    case 'policy-set':
      policyApplied(message.policy);
      break;
    case 'error':
      inFlight = false;
      if (message.during === 'init') awaitingInit = false;
      if (message.during === 'load') {
        showMessage(`Could not start the tracker: ${message.message}`);
        setPhase('error', 'The tracker could not start.');
      } else if (message.during === 'policy') {
        showMessage(`Could not switch the exit policy: ${message.message}`);
      } else {
        showMessage(`Tracking stopped: ${message.message}`);
        setPhase('done', 'Tracking stopped. Draw a new box with “Redraw box”, or pick another source.');
      }
      break;
  }
});

function onLoaded(info: RuntimeInfo): void {
  runtime = info;
  hooks.runtime = info;
  const threads = info.threads > 1 ? `${info.threads} threads` : '1 thread';
  const isolation = info.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated';
  runtimeLine.textContent =
    `onnxruntime-web · ${info.executionProviders.join(' → ')} · ${threads} (${isolation}) · ` +
    `model ${info.modelName} (${info.modelVariant}, ${info.exitCount} exits) loaded in ${Math.round(info.loadMs)} ms`;
  exitCounts.length = info.exitCount;
  exitCounts.fill(0);
  legend.replaceChildren(
    ...Array.from({ length: info.exitCount }, (_, k) => {
      const span = document.createElement('span');
      const chip = document.createElement('i');
      chip.style.background = exitColor(k, info.exitCount);
      span.append(chip, `exit ${k + 1}`);
      return span;
    }),
  );
  renderPolicyControls();
  setPhase('ready', 'Pick a source.');
  void useSample();
}

// ---- exit policy controls --------------------------------------------------

/** A labelled slider. `step: 'any'` keeps a model's default threshold exact (a 0.01 step would round it). */
function range(id: string, label: string, value: number, min = 0, max = 1, step = 'any'): HTMLLabelElement {
  const wrap = document.createElement('label');
  const input = document.createElement('input');
  Object.assign(input, { type: 'range', id, min: String(min), max: String(max), step, value: String(value) });
  const out = document.createElement('output');
  out.textContent = value.toFixed(2);
  input.addEventListener('input', () => (out.textContent = Number(input.value).toFixed(2)));
  wrap.append(`${label} `, input, ' ', out);
  return wrap;
}

function renderPolicyControls(): void {
  if (!runtime) return;
  const K = runtime.exitCount;
  const kind = policyKind.value as PolicySpec['kind'];
  const children: HTMLElement[] = [];
  if (kind === 'threshold' || kind === 'latency-budget') {
    if (kind === 'latency-budget') {
      const wrap = document.createElement('label');
      const input = document.createElement('input');
      Object.assign(input, { type: 'number', id: 'target-ms', min: '0.5', step: '0.5', value: '10' });
      wrap.append('Target frame time (ms) ', input);
      children.push(wrap);
    }
    // The last exit always ends the frame: only the early exits have a threshold.
    for (let k = 0; k < K - 1; k++) children.push(range(`threshold-${k}`, `Exit ${k + 1} threshold`, runtime.defaultThresholds[k] ?? 0.5));
  } else if (kind === 'fixed-depth') {
    const wrap = document.createElement('label');
    const select = document.createElement('select');
    select.id = 'fixed-exit';
    for (let k = 0; k < K; k++) select.add(new Option(`exit ${k + 1} (${k + 1} stage${k ? 's' : ''})`, String(k), false, k === K - 1));
    wrap.append('Always stop at ', select);
    children.push(wrap);
  } else {
    children.push(range('confidence-threshold', 'Min. confidence', 0.5));
  }
  policyParams.replaceChildren(...children);
}

function numberOf(id: string): number {
  return Number((document.getElementById(id) as HTMLInputElement | HTMLSelectElement).value);
}

/** The policy the controls describe. */
function currentPolicy(): PolicySpec {
  const K = runtime?.exitCount ?? 1;
  const thresholds = () => Array.from({ length: K - 1 }, (_, k) => numberOf(`threshold-${k}`));
  switch (policyKind.value as PolicySpec['kind']) {
    case 'fixed-depth':
      return { kind: 'fixed-depth', exit: numberOf('fixed-exit') };
    case 'confidence':
      return { kind: 'confidence', threshold: numberOf('confidence-threshold') };
    case 'latency-budget':
      return { kind: 'latency-budget', targetMs: Math.max(0.5, numberOf('target-ms') || 10), thresholds: thresholds() };
    default:
      return { kind: 'threshold', thresholds: thresholds() };
  }
}

function policyChanged(): void {
  // While tracking, apply live (debounced: a dragged slider fires many events).
  if (hooks.phase !== 'tracking') return;
  clearTimeout(policyTimer);
  policyTimer = setTimeout(() => send({ type: 'policy', policy: currentPolicy() }), 60);
}

function policyApplied(name: string): void {
  hooks.policy = name;
  policyName.textContent = name;
  segment = { stages: 0, frames: 0 };
  hooks.meanStages = Number.NaN;
  strip.dataset.policyPending = name;
}

policyKind.addEventListener('change', () => {
  renderPolicyControls();
  policyChanged();
});
policyParams.addEventListener('input', policyChanged);
policyParams.addEventListener('change', policyChanged);

// ---- results ---------------------------------------------------------------

function exitColor(k: number, count: number): string {
  const hue = count > 1 ? 130 - (130 * k) / (count - 1) : 130;
  return `hsl(${hue} 75% 50%)`;
}

function drawBox(box: Box, color: string, dashed = false, width = Math.max(2, view.width / 240)): void {
  ctx.save();
  ctx.lineWidth = width;
  ctx.strokeStyle = color;
  if (dashed) ctx.setLineDash([6, 4]);
  ctx.strokeRect(box.x, box.y, box.width, box.height);
  ctx.restore();
}

function onResult(report: FrameReport): void {
  if (awaitingInit || hooks.phase !== 'tracking') return; // a frame of a run that was stopped
  inFlight = false;
  const truth = source?.truth?.[report.frameIndex];
  const record: FrameRecord = { ...report, iou: truth ? iouInclusive(report.box, truth) : undefined };
  hooks.results.push(record);
  const K = runtime?.exitCount ?? 1;
  exitCounts[record.exitIndex] = (exitCounts[record.exitIndex] ?? 0) + 1;
  segment.stages += record.stagesRun;
  segment.frames++;
  hooks.meanStages = segment.stages / segment.frames;

  // The box over the frame it was computed on; the sample's truth dashed.
  if (trackedImage) ctx.putImageData(trackedImage, 0, 0);
  if (truth) drawBox(truth, 'rgba(255, 255, 255, 0.8)', true, 1);
  lastBox = { box: record.box, color: record.lost ? '#ff6b6b' : exitColor(record.exitIndex, K), dashed: record.lost };
  drawBox(lastBox.box, lastBox.color, lastBox.dashed);

  const cell = document.createElement('i');
  cell.dataset.exit = String(record.exitIndex);
  cell.dataset.frame = String(record.frameIndex);
  cell.style.height = `${(100 * record.stagesRun) / K}%`;
  cell.style.background = exitColor(record.exitIndex, K);
  cell.title = `frame ${record.frameIndex}: exit ${record.exitIndex + 1} · ${record.totalMs.toFixed(1)} ms · ${record.policy}`;
  if (strip.dataset.policyPending) {
    cell.classList.add('policy-start');
    delete strip.dataset.policyPending;
  }
  strip.append(cell);
  while (strip.childElementCount > STRIP_CELLS) strip.firstElementChild!.remove();

  const now = performance.now();
  if (lastResultAt > 0) {
    const fps = 1000 / Math.max(1e-3, now - lastResultAt);
    fpsEma = fpsEma === 0 ? fps : 0.85 * fpsEma + 0.15 * fps;
  }
  lastResultAt = now;
  const total = hooks.results.length;
  stat.frameMs.textContent = `${record.totalMs.toFixed(1)} ms (up to ${Math.round(1000 / Math.max(record.totalMs, 1e-3))} fps)`;
  stat.inferenceMs.textContent = `${record.inferenceMs.toFixed(1)} ms`;
  stat.fps.textContent = fpsEma > 0 ? `${fpsEma.toFixed(1)} fps` : '–';
  stat.stages.textContent = `${hooks.meanStages.toFixed(2)} of ${K} (this policy, ${segment.frames} frames)`;
  stat.exits.textContent = exitCounts.map((c, k) => `${k + 1}: ${Math.round((100 * c) / total)}%`).join(' · ');
  stat.confidence.textContent = `${record.confidence.toFixed(2)}${record.lost ? ' (lost)' : ''} · term. ${record.terminatingScore.toFixed(2)}`;
  if (record.iou !== undefined) {
    const scored = hooks.results.filter((r) => r.iou !== undefined);
    const mean = scored.reduce((s, r) => s + r.iou!, 0) / scored.length;
    const over = scored.filter((r) => r.iou! > 0.5).length / scored.length;
    stat.iou.textContent = `${record.iou.toFixed(2)} (mean ${mean.toFixed(2)}, ${Math.round(100 * over)}% > 0.5)`;
  }
  scheduleNext();
}

// ---- the tracking loop -----------------------------------------------------

function scheduleNext(): void {
  if (hooks.phase !== 'tracking' || !source) return;
  const wait = source.frameIntervalMs - (performance.now() - lastSentAt);
  if (wait > 1) setTimeout(step, wait);
  else if (source.kind === 'sample') setTimeout(step, 0);
  else requestAnimationFrame(step);
}

let lastSentAt = 0;

/** The frame being tracked (kept to redraw it under its box) and the last box shown. */
let trackedImage: ImageData | undefined;
let lastBox: { box: Box; color: string; dashed: boolean } | undefined;

function step(): void {
  if (hooks.phase !== 'tracking' || !source || inFlight) return;
  const image = source.nextFrame(ctx);
  if (!image) {
    setPhase('done', source.kind === 'sample' ? 'The sample has ended. Play it again with “Built-in sample”.' : 'The video has ended.');
    return;
  }
  // Until this frame's box arrives, show the latest estimate on it (no flicker on live video).
  if (lastBox) drawBox(lastBox.box, lastBox.color, lastBox.dashed);
  trackedImage = image;
  inFlight = true;
  lastSentAt = performance.now();
  // Cloned, not transferred: the page keeps the pixels to redraw the frame under its box.
  send({ type: 'track', frame: { data: image.data, width: image.width, height: image.height, format: 'rgba' } });
}

// ---- drawing the initial box ----------------------------------------------

function framePoint(event: PointerEvent): { x: number; y: number } {
  const rect = view.getBoundingClientRect();
  const x = ((event.clientX - rect.left) / rect.width) * view.width;
  const y = ((event.clientY - rect.top) / rect.height) * view.height;
  return { x: Math.min(Math.max(x, 0), view.width), y: Math.min(Math.max(y, 0), view.height) };
}

view.addEventListener('pointerdown', (event) => {
  if (hooks.phase !== 'awaiting-box' || !source) return;
  // Freeze the frame under the box (a live camera keeps moving otherwise).
  initImage ??= source.firstFrame(ctx);
  const p = framePoint(event);
  drag = { x0: p.x, y0: p.y, box: undefined };
  view.setPointerCapture(event.pointerId);
});

view.addEventListener('pointermove', (event) => {
  if (!drag || !initImage) return;
  const p = framePoint(event);
  drag.box = { x: Math.min(drag.x0, p.x), y: Math.min(drag.y0, p.y), width: Math.abs(p.x - drag.x0), height: Math.abs(p.y - drag.y0) };
  ctx.putImageData(initImage, 0, 0);
  drawBox(drag.box, '#ffffff', true);
});

view.addEventListener('pointerup', () => {
  const box = drag?.box;
  drag = undefined;
  if (!box || !initImage || !source || hooks.phase !== 'awaiting-box') return;
  if (box.width < 4 || box.height < 4) {
    ctx.putImageData(initImage, 0, 0);
    hint.textContent = 'That box is too small: drag a box around the target.';
    return;
  }
  ctx.putImageData(initImage, 0, 0);
  drawBox(box, '#ffffff');
  startTracking(initImage, box);
  initImage = undefined;
});

function startTracking(image: ImageData, box: Box): void {
  if (!source) return;
  hooks.results = [];
  hooks.initBox = box;
  lastBox = undefined;
  trackedImage = undefined;
  exitCounts.fill(0);
  strip.replaceChildren();
  fpsEma = 0;
  lastResultAt = 0;
  inFlight = false;
  awaitingInit = true;
  setPhase('tracking', 'Starting the tracker…');
  send({ type: 'init', frame: { data: image.data, width: image.width, height: image.height, format: 'rgba' }, box, policy: currentPolicy() }, [image.data.buffer]);
}

function awaitBox(): void {
  if (!source) return;
  view.width = source.width;
  view.height = source.height;
  initImage = source.kind === 'camera' ? undefined : source.firstFrame(ctx);
  setPhase('awaiting-box', source.kind === 'camera' ? 'Drag a box around the target (the frame freezes while you draw).' : 'Drag a box around the target on the first frame.');
  if (source.kind === 'camera') previewLoop(source);
}

function previewLoop(live: FrameSource): void {
  if (source !== live || hooks.phase !== 'awaiting-box') return;
  if (!initImage) live.preview(ctx);
  requestAnimationFrame(() => previewLoop(live));
}

// ---- sources ---------------------------------------------------------------

function switchSource(next: FrameSource): void {
  source?.close();
  source = next;
  hooks.source = next.kind;
  hooks.truth = next.truth;
  stat.iouLabel.hidden = stat.iou.hidden = next.truth === undefined;
  showMessage(undefined);
  awaitBox();
}

function ready(): boolean {
  if (runtime) return true;
  showMessage(hooks.phase === 'error' ? 'The tracker is not available (see above).' : 'The model is still loading; try again in a moment.', 'info');
  return false;
}

async function useSample(): Promise<void> {
  if (!ready() || !demo) return;
  try {
    if (!sampleFrames) {
      const response = await fetch(new URL(demo.sample.frames, document.baseURI));
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      sampleFrames = new Uint8Array(await response.arrayBuffer());
    }
    switchSource(sampleSource(demo.sample, sampleFrames));
  } catch (e) {
    showMessage(`The built-in sample could not be loaded: ${(e as Error).message}`);
  }
}

async function useSource(open: () => Promise<FrameSource>): Promise<void> {
  if (!ready()) return;
  // Stop what runs, but keep showing the current frame until the new source is up.
  if (hooks.phase === 'tracking') setPhase('ready');
  try {
    switchSource(await open());
  } catch (e) {
    showMessage(e instanceof SourceError ? e.message : `That source could not be opened: ${(e as Error).message}`);
    if (source) awaitBox();
    else setPhase('ready', 'Pick a source.');
  }
}

element('use-sample').addEventListener('click', () => void useSample());
element('use-camera').addEventListener('click', () => void useSource(() => cameraSource(video)));
const fileInput = element<HTMLInputElement>('video-file');
fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  fileInput.value = '';
  if (file) void useSource(() => fileSource(file, video));
});
redrawButton.addEventListener('click', () => {
  if (!source) return;
  // The sample restarts from frame 0 (its truth is per frame); a video or camera
  // freezes the frame on screen when the drag starts.
  if (source.kind === 'sample') return awaitBox();
  if (source.kind === 'file') video.pause();
  initImage = undefined;
  setPhase('awaiting-box', 'Drag a box around the target.');
  if (source.kind === 'camera') previewLoop(source);
});

// ---- start -----------------------------------------------------------------

async function start(): Promise<void> {
  try {
    const response = await fetch(new URL('demo.json', document.baseURI));
    if (!response.ok) throw new Error(`demo.json: HTTP ${response.status}`);
    demo = (await response.json()) as DemoManifest;
  } catch (e) {
    showMessage(`The demo's assets are missing (${(e as Error).message}). Build it with \`pnpm build\` or run \`pnpm dev\`.`);
    setPhase('error');
    return;
  }
  hooks.model = demo.model;
  footer.textContent = `Model: ${demo.model.origin}. Sample: procedural sequence (seed ${demo.sample.seed}, ${demo.sample.length} frames) from @dytrack/eval. Everything runs on this page; no data leaves the browser.`;
  if (!demo.model.trained) {
    const warning = element('model-warning');
    warning.textContent = 'This build serves an untrained (random-init) development model: its boxes are meaningless. Train the default model (packages/model/default) and rebuild.';
    warning.hidden = false;
  }
  const backendParam = new URLSearchParams(location.search).get('backend');
  const backend = backendParam === 'wasm' || backendParam === 'webgpu' ? backendParam : 'auto';
  send({
    type: 'load',
    modelUrl: new URL(demo.model.path, document.baseURI).href,
    wasmPaths: new URL(demo.ortPath, document.baseURI).href,
    backend,
  });
}

void start();
