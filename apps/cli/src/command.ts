import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DyTrackError } from '@dytrack/core';

/** Where a command reads and writes; tests pass their own. */
export interface CliIO {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** One `dytrack` subcommand. Commands only parse, wire and print; logic lives in packages. */
export interface Command {
  /** The word after `dytrack`. */
  readonly name: string;
  /** One line for `dytrack --help`. */
  readonly summary: string;
  /** Full `--help` text: usage, options, examples. */
  readonly help: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(argv: readonly string[], io: CliIO): Promise<number>;
}

/** An error whose message is shown to the user as one line (exit code 2: usage). */
export class UsageError extends DyTrackError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'UsageError';
  }
}

/**
 * `node:util.parseArgs` with errors turned into one-line {@link UsageError}s.
 * Unknown options are errors.
 */
export function parseOptions<T extends OptionsConfig>(
  argv: readonly string[],
  options: T,
): ParsedOptions<T> {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    // A value that starts with '-' (a negative coordinate) reads as an option: say how to pass it.
    const dashed = /^Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(message);
    if (dashed) throw new UsageError(`${dashed[1]}: a value starting with '-' must be attached with '=', as in ${dashed[1]}=${dashed[1] === '--init' ? '-5,10,40,30' : '-1'}`);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, '').replace(/\s*\n\s*/g, ' '));
  }
}

/** Option declarations, as `node:util.parseArgs` takes them. */
export type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The result of {@link parseOptions}: option values by name and the positionals. */
export type ParsedOptions<T extends OptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
>;

/** Parses a number option, with a usage error naming the option when it is not one. */
export function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
}
