#!/usr/bin/env node
/**
 * `dytrack-server`: starts a DyTrack server from the command line.
 *
 *   dytrack-server --model DIR [--model name=DIR ...] [--port 8080] [--host 127.0.0.1]
 *                  [--token TOKEN] [--threads 1] [--log-level info]
 *                  [--max-sessions 64] [--max-sessions-per-client 8] [--idle-ms 60000]
 *                  [--max-in-flight 2] [--max-body-bytes N]
 *
 * Environment: DYTRACK_TOKEN (a bearer token, so it stays out of `ps`).
 * SIGTERM and SIGINT shut it down gracefully.
 */
import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import type { ModelSource } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { loadModelDirectory } from '@dytrack/model/node';
import type { ServerLimits } from './limits.js';
import { createJsonLogger, type LogLevel } from './logger.js';
import { createServer } from './server.js';

const USAGE = `usage: dytrack-server --model DIR [--model name=DIR ...] [--port 8080] [--host 127.0.0.1]
       [--token TOKEN] [--threads N] [--log-level debug|info|warn|error]
       [--max-sessions N] [--max-sessions-per-client N] [--idle-ms N] [--max-in-flight N] [--max-body-bytes N]`;

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      token: { type: 'string', multiple: true },
      threads: { type: 'string', default: '1' },
      'log-level': { type: 'string', default: 'info' },
      'max-sessions': { type: 'string' },
      'max-sessions-per-client': { type: 'string' },
      'idle-ms': { type: 'string' },
      'max-in-flight': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (!values.model || values.model.length === 0) throw new Error(`--model is required\n${USAGE}`);
  const logger = createJsonLogger({ level: values['log-level'] as LogLevel, base: { service: 'dytrack-server' } });

  const models: Record<string, ModelSource> = {};
  for (const spec of values.model) {
    const eq = spec.indexOf('=');
    const dir = eq > 0 ? spec.slice(eq + 1) : spec;
    const source = await loadModelDirectory(dir);
    const name = eq > 0 ? spec.slice(0, eq) : source.manifest.name || basename(resolve(dir));
    models[name] = source;
  }
  const tokens = [...(values.token ?? []), ...(process.env.DYTRACK_TOKEN ? [process.env.DYTRACK_TOKEN] : [])];
  const limits: Partial<ServerLimits> = {};
  const set = (key: keyof ServerLimits, flag: string): void => {
    const v = intOption(values[flag as keyof typeof values] as string | undefined, flag);
    if (v !== undefined) (limits as Record<string, number>)[key] = v;
  };
  set('maxSessions', 'max-sessions');
  set('maxSessionsPerClient', 'max-sessions-per-client');
  set('sessionIdleMs', 'idle-ms');
  set('maxInFlightPerSession', 'max-in-flight');
  set('maxBodyBytes', 'max-body-bytes');

  const backend = createNodeBackend({ intraOpNumThreads: intOption(values.threads, 'threads') ?? 1 });
  const server = createServer({ models, backend, limits, logger, ...(tokens.length > 0 ? { auth: { tokens } } : {}) });
  await server.listen(intOption(values.port, 'port'), values.host);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('signal received', { signal });
    server
      .close()
      .then(() => backend.dispose())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error('shutdown failed', { error });
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`dytrack-server: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
