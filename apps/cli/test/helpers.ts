import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { modelConfig, initWeights, exportModel } from '@dytrack/model';
import { writeModelDirectory } from '@dytrack/model/node';
import { runCli, type CliIO } from '../src/index.js';

/** The repository root (where `tsx` and the workspace resolve). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** What a CLI subprocess did. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dytrack ARGS` as a real subprocess, as a user's shell would. */
export function dytrack(args: readonly string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=@dytrack/source', '--import', 'tsx', MAIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, INIT_CWD: options.cwd ?? REPO_ROOT, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/**
 * Exports a small randomly initialised DyTrack model (the tiny architecture,
 * shrunk) into `dir`: real ONNX stages and manifest, fast enough for tests.
 * Random weights track nothing, but they are deterministic, which is what
 * these tests compare.
 */
export async function exportSmallModel(dir: string): Promise<void> {
  const config = modelConfig('tiny', { name: 'cli-test', dim: 32, heads: 2, stageDepths: [1, 1, 1], headChannels: 16, decisionHidden: 16, templateSize: 64, searchSize: 128 });
  const exported = await exportModel(config, initWeights(config, { seed: 3, perturbAll: true }));
  await writeModelDirectory(dir, exported);
}

/** Runs the CLI in this process (faster than a subprocess) with captured output. */
export async function runInProcess(args: string[], cwd: string): Promise<CliRun> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const io: CliIO = { stdout, stderr, cwd, env: {} };
  const code = await runCli(args, io);
  return { code, stdout: out, stderr: err };
}
