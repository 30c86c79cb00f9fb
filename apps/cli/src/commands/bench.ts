import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runSweep, svgToPng, sweepPlotSvg, type OperatingPoint, type SweepResult } from '@dytrack/eval';
import { numberOption, parseOptions, UsageError, type Command } from '../command.js';
import { openModel, threadCount, trackingHelp, sequenceOptions } from '../wiring.js';
import { createProgressBar, loadDyTrackEntries, loadSequences, EVAL_SEED_BASE } from './eval.js';

const HELP = `Usage: dytrack bench [--model DIR] (--dataset DIR | --synthetic N) [--sweep] [options]

Speed and accuracy of one DyTrack model on the same frames at several exit
policies. Without --sweep, measures the --policy operating points (default: the
model's thresholds). With --sweep, draws the DyTrack paper's speed/accuracy
curve: one shared terminating-score threshold per point (--thresholds), plus
each fixed-exit baseline (always exit k) on the same plot.

fps is the whole per-frame loop (preprocessing, inference, decision, decoding)
after warm-up, the median over --repeats runs; net fps is the network alone.

Options:
  --dataset DIR        sequences in the OTB, LaSOT or GOT-10k layout (--format, --sequences as in eval)
  --synthetic N        N procedural sequences (seeds ${EVAL_SEED_BASE}+k unless --seed; --size, --length)
  --sweep              sweep thresholds and add the fixed-exit baselines
  --thresholds LIST    sweep thresholds (default 0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9)
  --repeats N          runs per point; fps is their median (default 3)
${trackingHelp}
                      (--policy is repeatable here, one operating point each; not with --sweep)
  --out DIR            where to write sweep.json and sweep.svg/png (default bench-out)

Examples:
  dytrack bench --model runs/tiny/model --synthetic 5 --sweep
  dytrack bench --model runs/tiny/model --dataset ../shared/data/sequences --policy threshold --policy fixed:0
`;

function table(results: readonly SweepResult[]): string {
  const header = ['point', 'kind', 'AUC', 'P@20', 'fps', 'net fps', 'stages'];
  const f = (v: number | undefined, d = 1): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(d));
  const rows = results.map((r) => [r.label, r.group, f(r.auc), f(r.precision), f(r.fps), f(r.networkFps), f(r.meanStages, 2)]);
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (c: readonly string[]): string => c.map((v, k) => (k < 2 ? v.padEnd(widths[k]!) : v.padStart(widths[k]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** `dytrack bench`: a model's speed/accuracy operating points (logic in `@dytrack/eval`). */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'speed/accuracy of a model across exit thresholds and fixed exits (--sweep)',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      model: { type: 'string' },
      ...sequenceOptions,
      sweep: { type: 'boolean', default: false },
      thresholds: { type: 'string' },
      policy: { type: 'string', multiple: true },
      repeats: { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string', default: 'bench-out' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (see dytrack bench --help)`);
    if (values.sweep && values.policy !== undefined) throw new UsageError('--sweep chooses its own operating points; drop --policy (or drop --sweep)');
    if (!values.sweep && values.thresholds !== undefined) throw new UsageError('--thresholds needs --sweep');
    const repeats = numberOption(values.repeats, 'repeats', 3);
    if (!Number.isInteger(repeats) || repeats < 1) throw new UsageError(`--repeats must be a positive integer, got ${values.repeats}`);
    threadCount(values.threads); // checked before the sequences are read or generated
    const { sequences, description } = await loadSequences(values, io);
    io.stderr.write(`dataset: ${description}: ${sequences.length} sequences, ${sequences.reduce((s, q) => s + q.length, 0)} frames\n`);

    // Operating points as --policy specs; the model's exit count decides the fixed baselines.
    const modelDir = values.model === undefined ? undefined : path.resolve(io.cwd, values.model);
    const { manifest } = await openModel(modelDir);
    const exits = manifest.stages.length;
    let points: OperatingPoint<string>[];
    if (values.sweep) {
      const list = (values.thresholds ?? '0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9').split(',').map((v) => {
        const t = Number(v);
        if (v.trim() === '' || !(t >= 0 && t <= 1)) throw new UsageError(`--thresholds: "${v}" is not a number in [0, 1]`);
        return t;
      });
      points = [
        // One shared threshold at every exit but the last (which always ends the frame).
        ...list.map((t) => ({ label: `t=${t}`, group: 'dynamic' as const, config: `threshold:${Array.from({ length: Math.max(1, exits - 1) }, () => t).join(',')}` })),
        ...Array.from({ length: exits }, (_, k) => ({ label: `exit ${k}`, group: 'fixed' as const, config: `fixed:${k}` })),
      ];
    } else {
      points = (values.policy ?? ['threshold']).map((p) => ({ label: p, group: /^(fixed:\d+|full)$/.test(p) ? ('fixed' as const) : ('dynamic' as const), config: p }));
    }

    const loaded = await loadDyTrackEntries(modelDir, points.map((p) => p.config), { threads: values.threads, label: (s) => s });
    const progress = createProgressBar(io);
    const total = points.length * repeats;
    let results: SweepResult[];
    try {
      let done = 0;
      let current = '';
      results = await runSweep({
        sequences,
        points,
        repeats,
        makeTracker: (point) => loaded.entries[points.indexOf(point)]!,
        onProgress: (e) => {
          const key = `${e.point}/${e.run}`;
          if (key !== current) {
            current = key;
            done++;
          }
          progress.update({ ...e, framesDone: (done - 1) * (e.framesTotal) + e.framesDone, framesTotal: total * e.framesTotal }, `point ${done}/${total} `);
        },
      });
    } finally {
      progress.done();
      await loaded.dispose();
    }

    const out = path.resolve(io.cwd, values.out);
    await mkdir(out, { recursive: true });
    await writeFile(path.join(out, 'sweep.json'), JSON.stringify({ dataset: description, model: modelDir ?? 'default', repeats, threads: values.threads ?? null, points: results }, null, 2) + '\n');
    const svg = sweepPlotSvg(results, `${manifest.name}: speed vs. accuracy`);
    await writeFile(path.join(out, 'sweep.svg'), svg);
    let png = '';
    try {
      await writeFile(path.join(out, 'sweep.png'), await svgToPng(svg));
      png = `, ${path.join(out, 'sweep.png')}`;
    } catch (error) {
      io.stderr.write(`PNG plot skipped: ${(error as Error).message}\n`);
    }
    io.stdout.write(`${table(results)}\n\nwrote ${path.join(out, 'sweep.json')}, ${path.join(out, 'sweep.svg')}${png}\n`);
    return 0;
  },
};
