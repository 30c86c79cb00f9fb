import { Worker } from 'node:worker_threads';

/**
 * Starts one of this package's worker modules (`name` without extension) with
 * `workerData`. From the build it is plain JavaScript; running from source (tests,
 * `--conditions=@dytrack/source`) it is TypeScript, and Node 20 does not hand the parent's
 * `--import tsx` hooks to workers, so a small bootstrap registers tsx in the worker before
 * importing it.
 * @internal
 */
export function startWorker(name: string, workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  const target = new URL(`./${name}.ts`, import.meta.url).href;
  let api = 'tsx/esm/api';
  try {
    api = import.meta.resolve(api);
  } catch {
    // Resolved from the working directory instead.
  }
  const boot = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(boot, { eval: true, workerData, execArgv: ['--conditions=@dytrack/source'] });
}
