import { DyTrackError } from '@dytrack/core';
import { UsageError, type CliIO } from './command.js';
import { commands } from './commands/index.js';

function topLevelHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  return [
    'dytrack: fast single-object tracking with a dynamic (early-exit) vision transformer',
    '',
    'Usage: dytrack <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options:',
    '  --help, -h     show help (also: dytrack <command> --help)',
    '  --verbose      print stack traces on errors',
    '',
    'Run `dytrack demo` for a self-contained first run.',
    '',
  ].join('\n');
}

/**
 * Runs the CLI with `argv` (without node and script). Errors are printed as one
 * line (stack traces with `--verbose`); resolves to the exit code.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  const verbose = argv.includes('--verbose');
  const args = argv.filter((a) => a !== '--verbose');
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topLevelHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout.write('0.1.0\n');
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`dytrack: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')}); see dytrack --help\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(command.help.endsWith('\n') ? command.help : command.help + '\n');
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`dytrack ${name}: ${message}\n`);
    if (verbose && error instanceof Error && error.stack) io.stderr.write(error.stack + '\n');
    else if (!(error instanceof DyTrackError) && !verbose) io.stderr.write('(run with --verbose for the stack trace)\n');
    return error instanceof UsageError ? 2 : 1;
  }
}
