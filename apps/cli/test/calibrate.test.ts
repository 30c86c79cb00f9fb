import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_DIRECTORY } from '@dytrack/model/node';
import { exportSmallModel, runInProcess } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dytrack-cli-calibrate-'));
  await exportSmallModel(join(dir, 'model'));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const run = (args: string[]) => runInProcess(args, dir);
const thresholds = async () => (JSON.parse(await readFile(join(dir, 'model', 'dytrack.model.json'), 'utf8')) as { stages: { exit: { defaultThreshold: number } }[] }).stages.map((s) => s.exit.defaultThreshold);

describe('dytrack calibrate', () => {
  it('measures every candidate, prints the choice, and with --dry-run writes nothing', async () => {
    const before = await thresholds();
    const r = await run(['calibrate', 'model', '--sequences', '2', '--candidates', '0,1', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/full depth .*AUC .*mean stages 3\.00/);
    expect(r.stderr).toMatch(/thresholds 0\.00,0\.00,0\.00 .*mean stages 1\.00/);
    expect(r.stderr).toMatch(/thresholds 1\.00,1\.00,0\.00 .*mean stages 3\.00/);
    expect(r.stdout).toMatch(/^chosen: thresholds/);
    expect(r.stdout).toMatch(/^keeps \d+\.\d% of full depth \(95% interval \d+\.\d% to \d+\.\d% over the 2 validation sequences, paired\)$/m);
    expect(await thresholds()).toEqual(before);
  }, 120_000);

  it('writes the chosen thresholds into the manifest', async () => {
    // retain 1e-9: any AUC qualifies, so the cheapest candidate (exit at stage 0) wins.
    const r = await run(['calibrate', 'model', '--sequences', '1', '--candidates', '0,1', '--retain', '1e-9', '--eval-sequences', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/of full depth \(95% interval/); // one sequence: no interval
    expect(await thresholds()).toEqual([0, 0, 0]);
    // No candidate fits a budget of a third of the stages when 1 (never exit early) is the only one: the cheapest is kept.
    const none = await run(['calibrate', 'model', '--sequences', '1', '--candidates', '1', '--max-stages', '0.34', '--eval-sequences', '0']);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/no candidate met the rule \(at most 0\.34 of the stages\).*chose the cheapest candidate/);
    expect(await thresholds()).toEqual([1, 1, 0]);
    // With 0 (exit at stage 0 on every frame) among the candidates, it is the one within budget.
    const budget = await run(['calibrate', 'model', '--sequences', '1', '--candidates', '1,0', '--max-stages', '0.34', '--eval-sequences', '0']);
    expect(budget.code).toBe(0);
    expect(budget.stdout).toMatch(/at most 0\.34 of the stages/);
    expect(budget.stdout).not.toMatch(/no candidate met the rule/);
    expect(await thresholds()).toEqual([0, 0, 0]);
  }, 120_000);

  it('rejects bad options with one line and exit 2', async () => {
    for (const [args, message] of [
      [['calibrate'], /one MODEL_DIR/],
      [['calibrate', 'model', '--retain', '2'], /--retain must be in \(0, 1\]/],
      [['calibrate', 'model', '--max-stages', '0'], /--max-stages must be a share of the stages in \(0, 1\]/],
      [['calibrate', 'model', '--max-stages', '0.6', '--retain', '0.9'], /--retain or --max-stages, not both/],
      [['calibrate', 'model', '--candidates', '0.5,x'], /--candidates/],
      [['calibrate', 'model', '--sequences', '0'], /--sequences must be a positive integer/],
      [['calibrate', 'model', '--workers', '0'], /--workers must be a positive integer, got 0/],
    ] as const) {
      const r = await run([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const missing = await run(['calibrate', 'no-such-model', '--dry-run']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no-such-model/);
  });
});

describe('dytrack train options', () => {
  it('rejects a malformed --search-jitter before any work', async () => {
    for (const value of ['1', '1,x', '-1,0.25']) {
      const r = await run(['train', '--data', 'synthetic', '--steps', '1', '--out', 'run', `--search-jitter=${value}`]);
      expect(r.code, value).toBe(2);
      expect(r.stderr).toMatch(/--search-jitter must be two non-negative numbers/);
    }
  });

  it('names an --init-from file it cannot read', async () => {
    const r = await run(['train', '--data', 'synthetic', '--steps', '1', '--out', 'run', '--init-from', 'no-such-weights.safetensors']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--init-from: cannot read no-such-weights\.safetensors \(ENOENT\)/);
  });

  it('refuses --exit-weights that are not one non-negative number per exit', async () => {
    for (const value of ['2,1', '1,1,-1', '1,x,1', '1,1,1,1']) {
      const r = await run(['train', '--data', 'procedural', '--steps', '5', `--exit-weights=${value}`, '--out', 'run']);
      expect(r.code, value).toBe(2);
      expect(r.stderr).toMatch(/--exit-weights must be 3 non-negative numbers, one per exit \(for example 2,1,1\)/);
    }
  });

  it('refuses a malformed --stage-depths, and sizes the per-exit options by the stages it gives', async () => {
    for (const value of ['2,2', '2,0,2', '2,x,2', '2,2.5,2']) {
      const r = await run(['train', '--data', 'procedural', '--steps', '5', `--stage-depths=${value}`, '--out', 'run']);
      expect(r.code, value).toBe(2);
      expect(r.stderr).toMatch(/--stage-depths must be at least 3 positive integers, blocks per stage \(for example 2,2,3\)/);
    }
    const four = await run(['train', '--data', 'procedural', '--steps', '5', '--stage-depths', '1,1,2,2', '--exit-weights', '1,1,1', '--out', 'run']);
    expect(four.code).toBe(2);
    expect(four.stderr).toMatch(/--exit-weights must be 4 non-negative numbers/);
  });

  it('names an --init-from directory that is not a model directory', async () => {
    const r = await run(['train', '--data', 'synthetic', '--steps', '1', '--out', 'run', '--init-from', '.']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--init-from: .*cannot read .*dytrack\.model\.json \(ENOENT\)/);
  });

  it('refuses a --min-visibility outside 0..1', async () => {
    const r = await run(['train', '--data', 'procedural', '--steps', '5', '--min-visibility', '1.5', '--out', 'run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--min-visibility must be a number from 0 to 1, got 1\.5/);
  });

  it('refuses a --first-frame-templates or --hidden-negatives that is not a probability', async () => {
    for (const [flag, value, message] of [
      ['--first-frame-templates', '1.5', /--first-frame-templates must be a probability from 0 to 1, got 1\.5/],
      ['--hidden-negatives', '-0.2', /--hidden-negatives must be a probability from 0 to 1, got -0\.2/],
      ['--hidden-negatives', 'some', /--hidden-negatives must be a number, got "some"/],
    ] as const) {
      const r = await run(['train', '--data', 'procedural', '--steps', '5', `${flag}=${value}`, '--out', 'run']);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('refuses --train-only patterns that name no parameter and bad decision-branch options', async () => {
    for (const [flag, value, message] of [
      ['--train-only', 'decsion', /--train-only: parameter pattern "decsion" names no parameter of dytrack-tiny/],
      ['--train-only', 'decision,', /--train-only needs comma-separated parameter name patterns/],
      ['--decision-loss', 'l2', /--decision-loss must be l1 or bce, got "l2"/],
      ['--decision-target', 'relative', /--decision-target must be iou or as-good-as-last, got "relative"/],
      ['--decision-margin', '0.1', /--decision-margin applies to --decision-target as-good-as-last only/],
    ] as const) {
      const r = await run(['train', '--data', 'procedural', '--steps', '5', `${flag}=${value}`, '--out', 'run']);
      expect(r.code, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    for (const [margin, message] of [
      ['1.5', /--decision-margin must be an IoU difference from 0 to 1, got 1.5/],
      ['abc', /--decision-margin must be a number, got "abc"/],
    ] as const) {
      const r = await run(['train', '--data', 'procedural', '--steps', '5', '--decision-target', 'as-good-as-last', `--decision-margin=${margin}`, '--out', 'run']);
      expect(r.code, margin).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });

  it('refuses --train-only from weights of another architecture instead of dropping their extra block', async () => {
    // The shipped model has stages 2,2,3; tiny's default is 2,2,2, so block 6 would be dropped.
    const r = await run(['train', '--variant', 'tiny', '--data', 'procedural', '--steps', '5', '--init-from', DEFAULT_MODEL_DIRECTORY, '--train-only', 'decision', '--out', 'run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--train-only: .* has 12 tensors this architecture lacks \(backbone\.blocks\.6\./);
    expect(r.stderr).toMatch(/--stage-depths 2,2,3/);
  });

  it('refuses crop sizes that are not multiples of the patch size, or a search crop no larger than the template', async () => {
    const odd = await run(['train', '--data', 'procedural', '--steps', '5', '--search-size', '100', '--out', 'run']);
    expect(odd.code).toBe(2);
    expect(odd.stderr).toMatch(/--search-size must be a multiple of the patch size 16, got 100/);
    const zero = await run(['train', '--data', 'procedural', '--steps', '5', '--template-size', '0', '--out', 'run']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--template-size/);
    const small = await run(['train', '--data', 'procedural', '--steps', '5', '--template-size', '128', '--search-size', '128', '--out', 'run']);
    expect(small.code).toBe(2);
    expect(small.stderr).toMatch(/--search-size \(128\) must be larger than --template-size \(128\)/);
  });

  it('refuses a warm-up or --stop-after beyond --steps, naming the flags', async () => {
    const warm = await run(['train', '--data', 'procedural', '--steps', '5', '--warmup', '50', '--out', 'run']);
    expect(warm.code).toBe(2);
    expect(warm.stderr).toMatch(/--warmup \(50\) must not exceed --steps \(5\)/);
    const stop = await run(['train', '--data', 'procedural', '--steps', '5', '--stop-after', '9', '--out', 'run']);
    expect(stop.code).toBe(2);
    expect(stop.stderr).toMatch(/--stop-after \(9\) must not exceed --steps \(5\)/);
  });
});
