/**
 * End to end: builds the demo with Vite, serves the build with cross-origin
 * isolation headers and drives Debian's Chromium: draw the box on the built-in
 * sample, track, switch the exit policy twice mid-sequence, then check the
 * error messages for a non-video file and a denied camera.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWebBackend } from '@dytrack/backend-web';
import { iouInclusive } from '@dytrack/eval';
import { fixedDepthPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import { loadModelDirectory } from '@dytrack/model/node';
import { createTracker } from '@dytrack/tracker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoHooks, FrameRecord } from '../src/protocol.js';
import { DEFAULT_MODEL_DIR, DEFAULT_SAMPLE } from '../src/node/assets.js';
import { webDemoConfig } from '../src/node/vite-config.js';
import { serveStatic, type StaticServer } from './static-server.js';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = existsSync(CHROMIUM);
/** The trained model the demo ships (or the one `DYTRACK_MODEL_DIR` names). */
const MODEL_DIR = process.env.DYTRACK_MODEL_DIR ?? DEFAULT_MODEL_DIR;
const HAS_TRAINED_MODEL = existsSync(join(MODEL_DIR, 'dytrack.model.json'));
/**
 * The IoU acceptance check needs a model that tracks. A model's manifest records
 * its full-depth AUC on held-out generated sequences (training evaluates it);
 * below this bar (the static never-moves baseline scores about 16 there) the
 * check would only measure the model, not the demo, so it is skipped, saying so.
 */
const TRACKING_AUC_BAR = 50;
function heldOutFullDepthAuc(dir: string): number | undefined {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, 'dytrack.model.json'), 'utf8')) as {
      provenance?: { evaluation?: { data?: string; perExit?: { auc?: number }[] }[] };
    };
    const heldOut = manifest.provenance?.evaluation?.find((e) => e.data?.startsWith('synthetic'));
    return heldOut?.perExit?.at(-1)?.auc;
  } catch {
    return undefined;
  }
}
const MODEL_AUC = HAS_TRAINED_MODEL ? heldOutFullDepthAuc(MODEL_DIR) : undefined;
const MODEL_TRACKS = MODEL_AUC !== undefined && MODEL_AUC >= TRACKING_AUC_BAR;
/** Where the screenshots go (look at them). */
const SHOT_DIR = join(tmpdir(), 'dytrack-web-demo-e2e');
/**
 * Starting onnxruntime-web (compiling 28 MB of wasm) takes a few seconds on an
 * idle machine but far longer on a loaded 2-core CI runner: generous limits.
 */
const LOAD_TIMEOUT = 150_000;
const TEST_TIMEOUT = 300_000;

if (!HAS_CHROMIUM) {
  console.warn(`web-demo e2e skipped: ${CHROMIUM} is absent (install it with \`apt-get update && apt-get install -y chromium\`)`);
}
if (HAS_CHROMIUM && !HAS_TRAINED_MODEL) {
  console.warn(`web-demo e2e: ${MODEL_DIR} has no trained model; the demo is built with a random-init model and the IoU assertion is skipped`);
} else if (HAS_CHROMIUM && !MODEL_TRACKS) {
  console.warn(
    `web-demo e2e: the model in ${MODEL_DIR} records a held-out full-depth AUC of ${MODEL_AUC?.toFixed(1) ?? 'unknown'} (< ${TRACKING_AUC_BAR}): not trained to tracking quality yet, so the IoU assertion is skipped`,
  );
}

declare global {
  interface Window {
    __dytrack: DemoHooks;
  }
}

const hooks = (page: Page): Promise<DemoHooks> => page.evaluate(() => JSON.parse(JSON.stringify(window.__dytrack)) as DemoHooks);

function meanStages(records: readonly FrameRecord[]): number {
  return records.reduce((s, r) => s + r.stagesRun, 0) / records.length;
}

describe.skipIf(!HAS_CHROMIUM)('web demo in Chromium', () => {
  let outDir: string;
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  /** Filled by the tracking test, read by the ones after it. */
  let run: { hooks: DemoHooks; meanBeforeLastSwitch: number; exitsInStrip: number; uninterrupted: DemoHooks } | undefined;

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'dytrack-web-demo-build-'));
    await build({ ...webDemoConfig({ outDir, ...(HAS_TRAINED_MODEL ? { modelDir: MODEL_DIR } : {}) }), configFile: false, logLevel: 'warn' });
    server = await serveStatic(outDir);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync', '--use-fake-device-for-media-stream'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await mkdir(SHOT_DIR, { recursive: true });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('draws the box on the sample, tracks every frame and switches the policy live', async () => {
    await page.goto(server.url);
    await page.waitForFunction(() => window.__dytrack?.phase === 'awaiting-box' && window.__dytrack.source === 'sample', undefined, { timeout: LOAD_TIMEOUT });
    const ready = await hooks(page);
    // Served with COOP/COEP, so onnxruntime-web may use wasm threads.
    expect(ready.runtime?.crossOriginIsolated).toBe(true);
    expect(ready.runtime?.executionProviders).toContain('wasm');
    const K = ready.runtime!.exitCount;
    expect(K).toBeGreaterThanOrEqual(3);
    const truth = ready.truth!;
    expect(truth.length).toBeGreaterThan(60);

    // Drag the truth box of frame 0 on the canvas, in page coordinates.
    const canvas = page.locator('#view');
    const rect = (await canvas.boundingBox())!;
    const size = await canvas.evaluate((c: HTMLCanvasElement) => ({ width: c.width, height: c.height }));
    const toPage = (x: number, y: number) => ({ x: rect.x + (x * rect.width) / size.width, y: rect.y + (y * rect.height) / size.height });
    const b = truth[0]!;
    const drawTruthBox = async () => {
      const from = toPage(b.x, b.y);
      const to = toPage(b.x + b.width, b.y + b.height);
      await page.mouse.move(from.x, from.y);
      await page.mouse.down();
      await page.mouse.move(to.x, to.y, { steps: 8 });
      await page.mouse.up();
    };

    // First the whole sample under the model's default policy, untouched: what the overlap
    // check reads (a run with switches mixes policies at moments set by the machine's speed).
    await drawTruthBox();
    await page.waitForFunction(() => window.__dytrack.phase === 'done', undefined, { timeout: 120_000 });
    const uninterrupted = await hooks(page);

    // Then again, switching the policy mid-sequence.
    await page.click('#use-sample');
    await page.waitForFunction(() => window.__dytrack?.phase === 'awaiting-box' && window.__dytrack.source === 'sample', undefined, { timeout: 30_000 });
    await drawTruthBox();
    await page.waitForFunction(() => window.__dytrack.phase === 'tracking' && window.__dytrack.results.length >= 25, undefined, { timeout: 60_000 });

    // Mid-sequence switches through the controls (each applies from the next frame):
    // fixed depth at the last exit (the select's default), at once the first exit
    // for a stretch, then the last exit again to the end.
    await page.selectOption('#policy-kind', 'fixed-depth');
    await page.waitForFunction((k) => window.__dytrack.policy === `fixedDepth(${k - 1})`, K, { timeout: 15_000 });
    await page.selectOption('#fixed-exit', '0');
    await page.waitForFunction(() => window.__dytrack.policy === 'fixedDepth(0)', undefined, { timeout: 15_000 });
    const shallowFrom = (await hooks(page)).results.length;
    await page.waitForFunction((n) => window.__dytrack.results.length >= n + 10, shallowFrom, { timeout: 60_000 });
    const meanBeforeLastSwitch = (await hooks(page)).meanStages;
    await page.selectOption('#fixed-exit', String(K - 1));
    await page.waitForFunction((k) => window.__dytrack.policy === `fixedDepth(${k - 1})`, K, { timeout: 15_000 });
    await page.waitForFunction(() => window.__dytrack.phase === 'done', undefined, { timeout: 120_000 });

    const done = await hooks(page);
    const exitsInStrip = await page.$$eval('#exit-strip i', (cells) => new Set(cells.map((c) => (c as HTMLElement).dataset.exit)).size);
    await page.screenshot({ path: join(SHOT_DIR, 'tracking.png') });
    run = { hooks: done, meanBeforeLastSwitch, exitsInStrip, uninterrupted };

    // Every frame after the first was tracked, in order, and drawn into the strip.
    expect(done.results.map((r) => r.frameIndex)).toEqual(Array.from({ length: truth.length - 1 }, (_, i) => i + 1));
    expect(await page.locator('#exit-strip i').count()).toBe(truth.length - 1);
    for (const r of done.results) {
      expect(r.stagesRun).toBe(r.exitIndex + 1);
      expect(r.totalMs).toBeGreaterThan(0);
      expect(Number.isFinite(r.box.x + r.box.y + r.box.width + r.box.height)).toBe(true);
    }
    expect(exitsInStrip).toBeGreaterThan(1);
    expect(await page.locator('#stat-fps').textContent()).toMatch(/fps/);
    expect(await page.locator('#stat-frame-ms').textContent()).toMatch(/ms/);
    expect(consoleErrors).toEqual([]);
  }, TEST_TIMEOUT);

  it('shows the mean stages per frame change when the policy is switched mid-sequence', () => {
    expect(run, 'the tracking test did not finish').toBeDefined();
    const { hooks: done, meanBeforeLastSwitch } = run!;
    const K = done.runtime!.exitCount;
    const byPolicy = new Map<string, FrameRecord[]>();
    for (const r of done.results) byPolicy.set(r.policy, [...(byPolicy.get(r.policy) ?? []), r]);
    const dytrack = [...byPolicy.keys()].find((name) => name.startsWith('threshold'));
    expect(dytrack, `policies seen: ${[...byPolicy.keys()].join(', ')}`).toBeDefined();
    // The controls start at the model's default thresholds, exactly.
    expect(dytrack).toBe(thresholdPolicy({ thresholds: done.runtime!.defaultThresholds.slice(0, K - 1) }).name);
    const full = byPolicy.get(`fixedDepth(${K - 1})`)!;
    const shallow = byPolicy.get('fixedDepth(0)')!;
    expect(full.length).toBeGreaterThanOrEqual(10);
    expect(shallow.length).toBeGreaterThanOrEqual(10);
    expect(meanStages(full)).toBe(K);
    expect(meanStages(shallow)).toBe(1);
    // The page's own figure (mean stages under the policy in force) followed the switches.
    expect(meanBeforeLastSwitch).toBe(1);
    expect(done.meanStages).toBe(K);
    // The DyTrack segment came first, then the switches in the order made.
    const order = done.results.map((r) => r.policy).filter((p, i, all) => i === 0 || all[i - 1] !== p);
    expect(order).toEqual([dytrack, `fixedDepth(${K - 1})`, 'fixedDepth(0)', `fixedDepth(${K - 1})`]);
    console.info(`web-demo e2e: mean stages ${[...byPolicy].map(([name, rs]) => `${name} ${meanStages(rs).toFixed(2)} over ${rs.length}`).join('; ')}`);
  });

  it('reports the boxes the tracker library computes on the same frames (replayed under Node)', async () => {
    expect(run, 'the tracking test did not finish').toBeDefined();
    const { hooks: done } = run!;
    // The shipped build's model and frames, the box the user drew, and on every frame
    // the exit the page took: the library must then produce the boxes the page showed.
    const model = await loadModelDirectory(join(outDir, 'model'));
    const frames = new Uint8Array(await readFile(join(outDir, 'sample', 'frames.rgb')));
    const { width, height } = DEFAULT_SAMPLE;
    const frameBytes = width * height * 3;
    const frame = (i: number) => ({ data: frames.subarray(i * frameBytes, (i + 1) * frameBytes), width, height, format: 'rgb' as const });
    const backend = createWebBackend({ executionProviders: ['wasm'] });
    const tracker = await createTracker({ backend, model, exitPolicy: fixedDepthPolicy({ exit: 0 }) });
    try {
      await tracker.init(frame(0), done.initBox!);
      let worst = 0;
      for (const r of done.results) {
        tracker.setExitPolicy(fixedDepthPolicy({ exit: r.exitIndex }));
        const mine = await tracker.update(frame(r.frameIndex));
        expect(mine.exitIndex).toBe(r.exitIndex);
        worst = Math.max(worst, Math.abs(mine.box.x - r.box.x), Math.abs(mine.box.y - r.box.y), Math.abs(mine.box.width - r.box.width), Math.abs(mine.box.height - r.box.height));
      }
      console.info(`web-demo e2e: page vs library boxes differ by at most ${worst.toExponential(2)} px over ${done.results.length} frames`);
      // Same wasm kernels; only the thread count (summation order) differs.
      expect(worst).toBeLessThan(0.05);
    } finally {
      await tracker.dispose();
      await backend.dispose();
    }
  }, TEST_TIMEOUT);

  const iouTitle = 'reports boxes that overlap the sample truth (IoU > 0.5 on at least 70% of frames)';
  it.skipIf(!MODEL_TRACKS)(MODEL_TRACKS ? iouTitle : `${iouTitle}: skipped, the model in ${MODEL_DIR} does not track yet (held-out AUC ${MODEL_AUC?.toFixed(1) ?? 'unknown'} < ${TRACKING_AUC_BAR})`, () => {
    expect(run, 'the tracking test did not finish').toBeDefined();
    const { uninterrupted: done } = run!;
    expect(done.model?.trained).toBe(true);
    // The first play: every frame under the model's default thresholds.
    const K = done.runtime!.exitCount;
    const policy = thresholdPolicy({ thresholds: done.runtime!.defaultThresholds.slice(0, K - 1) }).name;
    expect(new Set(done.results.map((r) => r.policy))).toEqual(new Set([policy]));
    const truth = done.truth!;
    const ious = done.results.map((r) => iouInclusive(r.box, truth[r.frameIndex]!));
    // The page's own IoU agrees with @dytrack/eval's.
    done.results.forEach((r, i) => expect(r.iou).toBeCloseTo(ious[i]!, 9));
    const good = ious.filter((v) => v > 0.5).length / ious.length;
    console.info(`web-demo e2e: IoU > 0.5 on ${(100 * good).toFixed(1)}% of ${ious.length} frames, mean IoU ${(ious.reduce((a, v) => a + v, 0) / ious.length).toFixed(3)}`);
    // One 90-frame sequence: the share above 0.5 moves by several points between neighbouring
    // thresholds (the session-8 model under Node: 0.6 86%, 0.7 92%, 0.75 77%, 0.8 83%), so the bar
    // leaves room for that; a page that maps boxes or pixels wrongly overlaps on almost no frame,
    // and the replay test checks every box exactly.
    expect(good).toBeGreaterThanOrEqual(0.7);
  });

  it('tracks a video file the user picks (a WebM recorded in the page)', async () => {
    // A 2 s WebM of a square moving on a textured background, recorded by Chromium itself.
    const webm = await page.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 320;
      canvas.height = 240;
      const c = canvas.getContext('2d')!;
      const recorder = new MediaRecorder(canvas.captureStream(20), { mimeType: 'video/webm;codecs=vp8' });
      const chunks: Blob[] = [];
      recorder.ondataavailable = (e) => chunks.push(e.data);
      const stopped = new Promise((ok) => (recorder.onstop = ok));
      const draw = (t: number) => {
        for (let y = 0; y < 240; y += 20) for (let x = 0; x < 320; x += 20) {
          c.fillStyle = (x + y) % 40 === 0 ? '#6a7b8c' : '#8c7b6a';
          c.fillRect(x, y, 20, 20);
        }
        c.fillStyle = '#e0302a';
        c.fillRect(100 + 60 * t, 90, 50, 50);
      };
      draw(0);
      recorder.start();
      const start = performance.now();
      await new Promise<void>((done) => {
        const tick = () => {
          const t = (performance.now() - start) / 2000;
          draw(Math.min(t, 1));
          if (t < 1) requestAnimationFrame(tick);
          else done();
        };
        requestAnimationFrame(tick);
      });
      recorder.stop();
      await stopped;
      const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
      let binary = '';
      for (const b of bytes) binary += String.fromCharCode(b);
      return btoa(binary);
    });
    await page.setInputFiles('#video-file', { name: 'square.webm', mimeType: 'video/webm', buffer: Buffer.from(webm, 'base64') });
    await page.waitForFunction(() => window.__dytrack.source === 'file' && window.__dytrack.phase === 'awaiting-box', undefined, { timeout: 20_000 });
    expect((await hooks(page)).message).toBeUndefined();
    const canvas = page.locator('#view');
    const rect = (await canvas.boundingBox())!;
    const size = await canvas.evaluate((c: HTMLCanvasElement) => ({ width: c.width, height: c.height }));
    expect(size).toEqual({ width: 320, height: 240 });
    const at = (x: number, y: number) => ({ x: rect.x + (x * rect.width) / 320, y: rect.y + (y * rect.height) / 240 });
    await page.mouse.move(at(100, 90).x, at(100, 90).y);
    await page.mouse.down();
    await page.mouse.move(at(150, 140).x, at(150, 140).y, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => window.__dytrack.phase === 'done', undefined, { timeout: 60_000 });
    const played = await hooks(page);
    // The drawn box, in frame pixels (the canvas is shown scaled).
    expect(Math.abs(played.initBox!.width - 50)).toBeLessThan(1.5);
    expect(Math.abs(played.initBox!.height - 50)).toBeLessThan(1.5);
    expect(played.results.length).toBeGreaterThanOrEqual(2);
    expect(played.results.map((r) => r.frameIndex)).toEqual(played.results.map((_, i) => i + 1));
    expect(await page.locator('#hint').textContent()).toContain('The video has ended');
    await page.screenshot({ path: join(SHOT_DIR, 'video-file.png') });
  }, TEST_TIMEOUT);

  it('shows a message, not a blank page, for a file that is not a video', async () => {
    await page.setInputFiles('#video-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a video') });
    await page.waitForFunction(() => window.__dytrack.message !== undefined, undefined, { timeout: 10_000 });
    const alert = page.locator('#message');
    await expect.poll(() => alert.isVisible()).toBe(true);
    expect(await alert.textContent()).toContain('“notes.txt” is not a video file');
    // A file that says it is a video but is not one fails to decode: a message too.
    await page.setInputFiles('#video-file', { name: 'broken.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(4096, 7) });
    await page.waitForFunction(() => window.__dytrack.message?.includes('broken.mp4') === true, undefined, { timeout: 15_000 });
    expect(await alert.textContent()).toContain('could not be decoded');
    // The page is still usable: the sample is back, waiting for a box.
    expect((await hooks(page)).phase).toBe('awaiting-box');
    expect(await page.locator('#view').isVisible()).toBe(true);
  });

  it('shows a message when the camera is denied', async () => {
    // Playwright's browser contexts refuse permissions they were not granted: the camera prompt is denied.
    await page.click('#use-camera');
    await page.waitForFunction(() => window.__dytrack.message?.includes('amera') === true, undefined, { timeout: 15_000 });
    const alert = page.locator('#message');
    expect(await alert.textContent()).toMatch(/Camera access was denied/);
    expect(await alert.isVisible()).toBe(true);
    // Still a usable page: the previous source waits for a box.
    expect((await hooks(page)).phase).toBe('awaiting-box');
    await page.screenshot({ path: join(SHOT_DIR, 'camera-denied.png') });
  });

  it('tracks the camera once it is allowed (Chromium\'s fake camera)', async () => {
    await page.context().grantPermissions(['camera'], { origin: new URL(server.url).origin });
    await page.click('#use-camera');
    await page.waitForFunction(() => window.__dytrack.source === 'camera' && window.__dytrack.phase === 'awaiting-box', undefined, { timeout: 20_000 });
    expect((await hooks(page)).message).toBeUndefined();
    const canvas = page.locator('#view');
    const rect = (await canvas.boundingBox())!;
    await page.mouse.move(rect.x + rect.width * 0.35, rect.y + rect.height * 0.3);
    await page.mouse.down();
    await page.mouse.move(rect.x + rect.width * 0.65, rect.y + rect.height * 0.7, { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction(() => window.__dytrack.phase === 'tracking' && window.__dytrack.results.length >= 5, undefined, { timeout: 60_000 });
    const live = await hooks(page);
    expect(live.truth).toBeUndefined();
    expect(live.results.slice(0, 5).map((r) => r.frameIndex)).toEqual([1, 2, 3, 4, 5]);
    await page.screenshot({ path: join(SHOT_DIR, 'camera.png') });
    await page.click('#use-sample'); // stops the camera
  }, TEST_TIMEOUT);
});

if (!HAS_CHROMIUM) {
  describe('web demo in Chromium', () => {
    it.skip(`skipped: ${CHROMIUM} is absent (apt-get update && apt-get install -y chromium)`, () => {});
  });
}
