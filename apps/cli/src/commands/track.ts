import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { DyTrackError, type Box, type FrameResult } from '@dytrack/core';
import { createTracker } from '@dytrack/tracker';
import { composeStrip, createVideoWriter, drawBox, drawText, openFrameSource, toRgbImage, type RgbImage, type VideoWriter } from '@dytrack/media';
import { encodePng } from '@dytrack/image';
import { parseOptions, UsageError, type Command } from '../command.js';
import { openBackend, openModel, openPolicy, parseBoxArgument, trackingHelp, trackingOptions } from '../wiring.js';
import { createProgress, formatBoxLine, formatSummary, summarizeRun } from '../summary.js';

/** Colours of the reported box per exit (shallow = cyan ... deep = magenta), and of the truth. */
export const EXIT_COLORS: readonly (readonly [number, number, number])[] = [[0, 220, 255], [255, 200, 0], [255, 60, 200], [255, 255, 255]];

function writeLine(stream: WriteStream, line: string): Promise<void> {
  return new Promise((ok, fail) => stream.write(line + '\n', (e) => (e ? fail(e) : ok())));
}

function closeStream(stream: WriteStream): Promise<void> {
  return new Promise((ok) => stream.end(ok));
}

/** Draws the reported box (coloured by exit) and a label onto a copy of the frame. */
export function annotateFrame(image: RgbImage, index: number, box: Box, result: FrameResult | undefined, truth?: Box): RgbImage {
  if (truth) drawBox(image, truth, [0, 255, 0], 1);
  const color = result ? EXIT_COLORS[Math.min(result.exitIndex, EXIT_COLORS.length - 1)]! : EXIT_COLORS[EXIT_COLORS.length - 1]!;
  drawBox(image, box, result?.lost ? [255, 0, 0] : color, 2);
  const label = result ? `#${index} EXIT ${result.exitIndex}${result.lost ? ' LOST' : ''}` : `#${index} INIT`;
  drawText(image, 4, 4, label, [255, 255, 255], Math.max(1, Math.round(image.width / 320)), [0, 0, 0]);
  return image;
}

export const trackCommand: Command = {
  name: 'track',
  summary: 'track a target through a folder of frames, a video file or a dataset sequence',
  help: `Usage: dytrack track INPUT --init x,y,w,h [options]

Tracks the target given by --init (its box in the first frame) through INPUT: a folder of
JPEG/PNG frames, a dataset sequence folder (frames in img/), or a video file (needs ffmpeg).
Writes OUT/boxes.txt (one x,y,w,h per frame), OUT/frames.jsonl (score, exit and timings per
frame, written as it goes, so a stopped run keeps what it did) and OUT/summary.json.

Options:
  --init x,y,w,h      the target's box in the first frame, in pixels (required)
  --out DIR           where results go (default: ./dytrack-track/<input name>: a video's name
                      without its extension; for an OTB img/ folder, the sequence's name)
${trackingHelp}
  --annotate          also write OUT/annotated/NNNNN.png and OUT/strip.png
  --video FILE        also write an annotated video (needs ffmpeg)
  --on-error MODE     a frame that cannot be read: stop (default) or skip (keep the last box)
  --json              print the summary as JSON

Examples:
  dytrack track ../shared/data/sequences/Crossing --init 205,151,17,50
  dytrack track clip.mp4 --init 120,80,40,60 --policy fixed:0 --video tracked.mp4
  dytrack track frames/ --init 10,10,30,30 --policy threshold:0.8,0.7 --on-error skip --json`,

  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      ...trackingOptions,
      init: { type: 'string' },
      out: { type: 'string' },
      annotate: { type: 'boolean' },
      video: { type: 'string' },
      'on-error': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError(`track needs exactly one INPUT (a frames folder, a sequence folder or a video file), got ${positionals.length}`);
    const input = resolve(io.cwd, positionals[0]!);
    const initBox = parseBoxArgument(values.init, '--init');
    const onError = values['on-error'] ?? 'stop';
    if (onError !== 'stop' && onError !== 'skip') throw new UsageError(`--on-error must be stop or skip, got "${onError}"`);

    const source = await openFrameSource(input);
    const model = await openModel(values.model);
    const exitPolicy = openPolicy(values.policy, model);
    const backend = openBackend(values.threads);
    const tracker = await createTracker({ backend, model, exitPolicy });

    const out = resolve(io.cwd, values.out ?? join('dytrack-track', defaultOutputName(input)));
    mkdirSync(out, { recursive: true });
    if (values.annotate) mkdirSync(join(out, 'annotated'), { recursive: true });
    const boxesFile = createWriteStream(join(out, 'boxes.txt'));
    const framesFile = createWriteStream(join(out, 'frames.jsonl'));
    let video: VideoWriter | undefined;
    const stripImages: RgbImage[] = [];
    const stripEvery = source.length ? Math.max(1, Math.floor(source.length / 8)) : 10;

    const results: FrameResult[] = [];
    let frames = 0;
    let skipped = 0;
    let lastBox: Box = initBox;
    let failure: Error | undefined;
    const progress = values.json ? undefined : createProgress(io.stderr, 'tracking', source.length);
    try {
      let firstSize: { width: number; height: number } | undefined;
      for await (const entry of source.entries()) {
        frames += 1;
        // A frame of another size than the first is as unusable as a corrupt one: the crops
        // are in the first frame's coordinates.
        const error = entry.error ?? sizeMismatch(entry.name, entry.frame, firstSize);
        if (error || !entry.frame) {
          const reason = error ?? new Error(`${entry.name}: no frame`);
          if (entry.index === 0 || onError === 'stop') {
            failure = reason;
            break;
          }
          skipped += 1;
          io.stderr.write(`\nskipping ${entry.name}: ${reason.message}\n`);
          await writeLine(boxesFile, formatBoxLine(lastBox));
          await writeLine(framesFile, JSON.stringify({ frame: entry.index, name: entry.name, skipped: true, error: reason.message, box: lastBox }));
          continue;
        }
        firstSize ??= { width: entry.frame.width, height: entry.frame.height };
        let result: FrameResult | undefined;
        if (entry.index === 0) {
          await tracker.init(entry.frame, initBox);
          await writeLine(framesFile, JSON.stringify({ frame: 0, name: entry.name, init: true, box: initBox }));
        } else {
          result = await tracker.update(entry.frame);
          results.push(result);
          lastBox = result.box;
          await writeLine(framesFile, JSON.stringify({
            frame: entry.index, name: entry.name, box: result.box, confidence: result.confidence, terminatingScore: result.terminatingScore,
            lost: result.lost, exit: result.exitIndex, stagesRun: result.stagesRun, timings: result.timings,
          }));
        }
        await writeLine(boxesFile, formatBoxLine(lastBox));
        if (values.annotate || values.video) {
          const image = annotateFrame(toRgbImage(entry.frame), entry.index, lastBox, result);
          if (values.annotate) {
            writeFileSync(join(out, 'annotated', `${String(entry.index).padStart(5, '0')}.png`), encodePng(image));
            if (entry.index % stripEvery === 0 && stripImages.length < 8) stripImages.push(image);
          }
          if (values.video) {
            video ??= createVideoWriter(resolve(io.cwd, values.video), image.width, image.height, 30);
            await video.write(image);
          }
        }
        progress?.update(frames);
      }
    } finally {
      await Promise.all([closeStream(boxesFile), closeStream(framesFile)]);
      await video?.close();
      await tracker.dispose();
      await backend.dispose();
    }
    progress?.finish(frames);
    if (stripImages.length > 0) writeFileSync(join(out, 'strip.png'), encodePng(composeStrip(stripImages, { columns: 4 })));

    const summary = summarizeRun(results, frames - (failure ? 1 : 0), skipped, model.manifest.stages.length);
    const record = { input, model: model.manifest.name, policy: exitPolicy.name, out, ...summary, ...(failure ? { error: failure.message } : {}) };
    writeFileSync(join(out, 'summary.json'), JSON.stringify(record, null, 2) + '\n');
    if (failure) {
      // --on-error skip cannot skip the first frame: the target is given on it.
      const advice = onError === 'skip' ? 'the first frame cannot be skipped: it holds the initial box' : 'use --on-error skip to go on';
      throw new DyTrackError('INVALID_FRAME', `${failure.message} (stopped; ${frames - 1} frames tracked before it are in ${join(out, 'boxes.txt')}; ${advice})`);
    }
    if (values.json) io.stdout.write(JSON.stringify(record) + '\n');
    else io.stdout.write(`${formatSummary(summary)}\nresults       ${out}\n`);
    return 0;
  },
};

/**
 * The default output folder name for an input: a video's base name without its extension
 * (`clip.mp4` -> `clip`), the sequence's folder for an OTB `img/` frames folder
 * (`Crossing/img` -> `Crossing`), otherwise the input's base name.
 */
export function defaultOutputName(input: string): string {
  const trimmed = input.replace(/[\\/]+$/, '');
  const name = basename(trimmed);
  if (name === 'img' || name === 'imgs') return basename(dirname(trimmed)) || name;
  const ext = extname(name);
  return ext.length > 1 && VIDEO_EXTENSIONS.has(ext.toLowerCase()) ? name.slice(0, -ext.length) : name;
}

function sizeMismatch(name: string, frame: { width: number; height: number } | undefined, first: { width: number; height: number } | undefined): Error | undefined {
  if (!frame || !first || (frame.width === first.width && frame.height === first.height)) return undefined;
  return new Error(`${name}: ${frame.width}x${frame.height}, but the first frame is ${first.width}x${first.height}; every frame must have one size`);
}

const VIDEO_EXTENSIONS = new Set(['.mp4', '.mkv', '.webm', '.avi', '.mov', '.m4v', '.mpg', '.mpeg', '.ogv']);
