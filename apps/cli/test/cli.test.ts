import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSyntheticSequence, writeOtbSequence } from '@dytrack/eval';
import { dytrack, exportSmallModel } from './helpers.js';
import { defaultOutputName } from '../src/commands/track.js';

const hasFfmpeg = spawnSync('ffmpeg', ['-version']).status === 0;
let dir: string;
let model: string;
let seq: string;
const FRAMES = 10;
const lines = (file: string) => readFileSync(file, 'utf8').trim().split('\n');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dytrack-cli-'));
  model = join(dir, 'model');
  await exportSmallModel(model);
  seq = join(dir, 'seq');
  await writeOtbSequence(createSyntheticSequence({ seed: 11, length: FRAMES, width: 160, height: 120 }), seq, { imageFormat: 'png' });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const initArg = () => lines(join(seq, 'groundtruth_rect.txt'))[0]!;

describe('dytrack --help', () => {
  it('lists the commands and exits 0', async () => {
    const run = await dytrack(['--help']);
    expect(run.code).toBe(0);
    for (const name of ['demo', 'track', 'eval', 'bench', 'train', 'calibrate', 'export']) expect(run.stdout).toContain(name);
  });

  it.each(['demo', 'track', 'eval', 'bench', 'train', 'calibrate', 'export'])('%s --help shows usage and examples', async (name) => {
    const run = await dytrack([name, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: dytrack/);
    expect(run.stdout).toMatch(/Examples:/);
  });

  it('an unknown command is one line and exit 2', async () => {
    const run = await dytrack(['trak']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/unknown command "trak"/);
  });
});

describe('dytrack track', () => {
  it('tracks a sequence folder and writes boxes, per-frame JSON and a summary', async () => {
    const out = join(dir, 'out-folder');
    const run = await dytrack(['track', seq, '--init', initArg(), '--model', model, '--out', out, '--annotate']);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/mean stages/);
    // Frame 0 initialises; the exit counts cover the other frames and say so.
    expect(run.stdout).toMatch(new RegExp(`exits +exit 0: .* of ${FRAMES - 1} frames after the first`));
    expect(lines(join(out, 'boxes.txt'))).toHaveLength(FRAMES);
    const frames = lines(join(out, 'frames.jsonl')).map((l) => JSON.parse(l));
    expect(frames).toHaveLength(FRAMES);
    expect(frames[0].init).toBe(true);
    expect(frames[3]).toMatchObject({ frame: 3, exit: expect.any(Number), stagesRun: expect.any(Number), timings: { totalMs: expect.any(Number) } });
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.frames).toBe(FRAMES);
    expect(summary.exitHistogram.reduce((a: number, b: number) => a + b, 0)).toBe(FRAMES - 1);
    expect(readdirSync(join(out, 'annotated'))).toHaveLength(FRAMES);
    expect(existsSync(join(out, 'strip.png'))).toBe(true);
  });

  it('prints the summary as JSON with --json', async () => {
    const run = await dytrack(['track', join(seq, 'img'), '--init', initArg(), '--model', model, '--out', join(dir, 'out-json'), '--json', '--policy', 'fixed:0']);
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.meanStages).toBe(1);
    expect(summary.exitHistogram[0]).toBe(FRAMES - 1);
  });

  it('boxes written by track score the same with eval --results as the in-process evaluation', async () => {
    const dataset = join(dir, 'dataset');
    mkdirSync(dataset);
    const copy = join(dataset, 'seq');
    mkdirSync(join(copy, 'img'), { recursive: true });
    for (const f of readdirSync(join(seq, 'img'))) copyFileSync(join(seq, 'img', f), join(copy, 'img', f));
    copyFileSync(join(seq, 'groundtruth_rect.txt'), join(copy, 'groundtruth_rect.txt'));
    const out = join(dir, 'out-eval-track');
    expect((await dytrack(['track', copy, '--init', initArg(), '--model', model, '--out', out, '--json'])).code).toBe(0);
    const results = join(dir, 'results');
    mkdirSync(results);
    copyFileSync(join(out, 'boxes.txt'), join(results, 'seq.txt'));
    const scored = await dytrack(['eval', '--results', results, '--dataset', dataset, '--out', join(dir, 'eval-results')]);
    expect(scored.code).toBe(0);
    const inProcess = await dytrack(['eval', '--dataset', dataset, '--model', model, '--out', join(dir, 'eval-inproc')]);
    expect(inProcess.code).toBe(0);
    const auc = (text: string) => text.match(/\n\S+\s+(\d+\.\d)/)?.[1];
    expect(auc(scored.stdout)).toBeDefined();
    expect(auc(scored.stdout)).toBe(auc(inProcess.stdout));
  }, 180_000);

  it.skipIf(!hasFfmpeg)('tracks a (lossless) video made from the frames with the same boxes as the folder', async () => {
    const video = join(dir, 'seq.mkv');
    const made = spawnSync('ffmpeg', ['-y', '-v', 'error', '-framerate', '10', '-i', join(seq, 'img', '%04d.png'), '-c:v', 'ffv1', '-pix_fmt', 'bgr0', video]);
    expect(made.status, made.stderr?.toString()).toBe(0);
    const fromVideo = join(dir, 'out-video');
    const fromFolder = join(dir, 'out-folder-2');
    expect((await dytrack(['track', video, '--init', initArg(), '--model', model, '--out', fromVideo])).code).toBe(0);
    expect((await dytrack(['track', seq, '--init', initArg(), '--model', model, '--out', fromFolder])).code).toBe(0);
    expect(lines(join(fromVideo, 'boxes.txt'))).toEqual(lines(join(fromFolder, 'boxes.txt')));
  });
});

describe('dytrack track: bad input', () => {
  it('a missing folder is one clear line and exit 1', async () => {
    const run = await dytrack(['track', join(dir, 'nope'), '--init', '1,1,5,5', '--model', model]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/no such file or folder: .*nope/);
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace without --verbose
  });

  it('an empty folder says it has no frames', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    const run = await dytrack(['track', empty, '--init', '1,1,5,5', '--model', model]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/has no frames/);
  });

  it.each([
    ['1,2,3', /four numbers x,y,w,h, got "1,2,3"/],
    ['1,2,0,4', /positive width and height/],
    ['a,b,c,d', /four numbers/],
  ])('--init %s is a usage error (exit 2)', async (init, message) => {
    const run = await dytrack(['track', seq, '--init', init, '--model', model]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('a box outside the frame is rejected, naming the frame size', async () => {
    const run = await dytrack(['track', seq, '--init', '500,500,10,10', '--model', model, '--out', join(dir, 'out-outside')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/outside the 160x120 frame/);
  });

  it('shows the stack trace only with --verbose', async () => {
    const run = await dytrack(['track', seq, '--init', '500,500,10,10', '--model', model, '--out', join(dir, 'out-verbose'), '--verbose']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/\n\s+at /);
  });

  describe('a corrupt image in the middle of the sequence', () => {
    let broken: string;
    beforeAll(() => {
      broken = join(dir, 'broken');
      mkdirSync(broken);
      for (const f of readdirSync(join(seq, 'img'))) copyFileSync(join(seq, 'img', f), join(broken, f));
      writeFileSync(join(broken, '0005.png'), 'this is not a png');
    });

    it('stops by default, names the file, and keeps the boxes tracked before it', async () => {
      const out = join(dir, 'out-broken-stop');
      const run = await dytrack(['track', broken, '--init', initArg(), '--model', model, '--out', out]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/0005\.png/);
      expect(run.stderr).toMatch(/--on-error skip/);
      expect(lines(join(out, 'boxes.txt'))).toHaveLength(4);
      expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).error).toMatch(/0005\.png/);
    });

    it('skips it with --on-error skip, keeping one box per frame', async () => {
      const out = join(dir, 'out-broken-skip');
      const run = await dytrack(['track', broken, '--init', initArg(), '--model', model, '--out', out, '--on-error', 'skip']);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/skipping 0005\.png/);
      expect(lines(join(out, 'boxes.txt'))).toHaveLength(FRAMES);
      const skipped = lines(join(out, 'frames.jsonl')).map((l) => JSON.parse(l)).filter((f) => f.skipped);
      expect(skipped.map((f) => f.name)).toEqual(['0005.png']);
    });

    it('a corrupt first frame stops even with --on-error skip, and says why instead of suggesting it', async () => {
      const first = join(dir, 'broken-first');
      mkdirSync(first);
      for (const f of readdirSync(join(seq, 'img'))) copyFileSync(join(seq, 'img', f), join(first, f));
      writeFileSync(join(first, '0001.png'), 'this is not a png');
      const run = await dytrack(['track', first, '--init', initArg(), '--model', model, '--out', join(dir, 'out-broken-first'), '--on-error', 'skip']);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/0001\.png/);
      expect(run.stderr).toMatch(/the first frame cannot be skipped/);
      expect(run.stderr).not.toMatch(/use --on-error skip/);
    });
  });
});

describe('dytrack track: frames of another size, negative --init values, output names', () => {
  let mixed: string;
  beforeAll(async () => {
    // The same sequence, with frame 0006 from a sequence of another size.
    mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    for (const f of readdirSync(join(seq, 'img'))) copyFileSync(join(seq, 'img', f), join(mixed, f));
    const small = join(dir, 'small');
    await writeOtbSequence(createSyntheticSequence({ seed: 12, length: 7, width: 80, height: 60 }), small, { imageFormat: 'png' });
    copyFileSync(join(small, 'img', '0006.png'), join(mixed, '0006.png'));
  });

  it('a frame of another size stops the run, naming the file and both sizes; --on-error skip goes on', async () => {
    const stop = await dytrack(['track', mixed, '--init', initArg(), '--model', model, '--out', join(dir, 'out-mixed-stop')]);
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(/0006\.png: 80x60, but the first frame is 160x120/);
    expect(lines(join(dir, 'out-mixed-stop', 'boxes.txt'))).toHaveLength(5);
    const skip = await dytrack(['track', mixed, '--init', initArg(), '--model', model, '--out', join(dir, 'out-mixed-skip'), '--on-error', 'skip']);
    expect(skip.code).toBe(0);
    expect(skip.stderr).toMatch(/skipping 0006\.png/);
    expect(lines(join(dir, 'out-mixed-skip', 'boxes.txt'))).toHaveLength(FRAMES);
  });

  it('a negative --init value says to attach it with =', async () => {
    const run = await dytrack(['track', seq, '--init', '-5,10,40,30', '--model', model]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--init: a value starting with '-' must be attached with '='/);
  });

  it('names the output folder after the video or the sequence', () => {
    expect(defaultOutputName('/data/clip.mp4')).toBe('clip');
    expect(defaultOutputName('/data/OTB/Crossing/img/')).toBe('Crossing');
    expect(defaultOutputName('/data/frames')).toBe('frames');
    expect(defaultOutputName('notes.v2')).toBe('notes.v2');
  });
});

describe('dytrack demo', () => {
  it('generates a sequence, tracks it, prints accuracy and writes a strip', async () => {
    const out = join(dir, 'demo');
    const run = await dytrack(['demo', '--model', model, '--frames', '12', '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/accuracy\s+AUC \d+\.\d/);
    const strip = readFileSync(join(out, 'strip.png'));
    expect(strip.subarray(1, 4).toString()).toBe('PNG');
    expect(lines(join(out, 'boxes.txt'))).toHaveLength(12);
  });
});
