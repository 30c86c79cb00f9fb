import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DisposedError, DyTrackError } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { createSyntheticSequence, runTrackerOnSequence } from '@dytrack/eval';
import { fixedDepthPolicy } from '@dytrack/exit-policies';
import { exportModel, initWeights } from '@dytrack/model';
import { loadModelDirectory, writeModelDirectory } from '@dytrack/model/node';
import { createTracker } from '@dytrack/tracker';
import { createTrackingPool } from '../src/tracking-pool.js';
import { small } from './helpers.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('createTrackingPool', () => {
  it('tracks on worker threads exactly as in this thread, in the order asked, and fails clearly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dytrack-pool-test-'));
    dirs.push(dir);
    await writeModelDirectory(dir, await exportModel(small, initWeights(small, { seed: 4, perturbAll: true, std: 0.3 })));
    const model = await loadModelDirectory(dir);
    const seeds = [850_000_100, 850_000_101, 850_000_102];

    // The reference: the same runs in this thread.
    const backend = createNodeBackend({ intraOpNumThreads: 1 });
    const tracker = await createTracker({ backend, model, exitPolicy: fixedDepthPolicy({ exit: 1 }) });
    const expected = [];
    for (const seed of seeds) expected.push(await runTrackerOnSequence(tracker, createSyntheticSequence({ seed, length: 9 })));
    await tracker.dispose();
    await backend.dispose();

    const pool = await createTrackingPool(model, { workers: 2 });
    try {
      const runs = await pool.track({ exit: 1 }, seeds.map((seed) => ({ synthetic: { seed, length: 9 } })));
      expect(runs.map((r) => r.sequence)).toEqual(expected.map((r) => r.sequence));
      expect(runs.map((r) => r.boxes)).toEqual(expected.map((r) => r.boxes));
      expect(runs.map((r) => [...r.stagesRun!])).toEqual(expected.map((r) => [...r.stagesRun!]));
      expect(runs[0]!.stagesRun![1]).toBe(2);

      const missing = join(dir, 'no-such-dataset');
      const failed = pool.track({ exit: 0 }, [{ dataset: missing, name: 'x' }]);
      await expect(failed).rejects.toThrow(/^tracking .*no-such-dataset: x \(always exit 0\) failed: .*no-such-dataset.*does not exist/);
      // The worker's own error, with its stack, is the cause.
      await expect(failed.catch((e: Error) => (e.cause as Error).stack)).resolves.toMatch(/at openDataset/);
      // A DyTrack error on the worker is one here too, with its class name and code.
      await expect(failed).rejects.toBeInstanceOf(DyTrackError);
      await expect(failed.catch((e: DyTrackError) => [e.name, e.code])).resolves.toEqual(['DatasetFormatError', 'INVALID_ARGUMENT']);
      // A failed run leaves the pool working.
      const [again] = await pool.track({ exit: 1 }, [{ synthetic: { seed: seeds[0]!, length: 9 } }]);
      expect(again!.boxes).toEqual(expected[0]!.boxes);
      // Closing with runs queued and running rejects them all, and ends every worker.
      const inFlight = pool.track({ exit: 1 }, seeds.map((seed) => ({ synthetic: { seed, length: 40 } })));
      const closing = pool.close();
      await expect(inFlight).rejects.toThrow(DisposedError);
      await closing;
    } finally {
      await pool.close();
    }
    await expect(pool.track({ exit: 0 }, [])).rejects.toThrow(DisposedError);
    await expect(createTrackingPool(model, { workers: 1.5 })).rejects.toThrow(/workers must be a positive integer/);
  }, 120_000);
});
