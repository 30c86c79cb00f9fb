/**
 * `@dytrack/cli`: the `dytrack` command. Programmatic entry for tests and
 * embedding: {@link runCli}.
 *
 * @packageDocumentation
 */
export { runCli } from './run.js';
export type { Command, CliIO } from './command.js';
export { UsageError, parseOptions, numberOption } from './command.js';
export type { ParsedOptions, OptionsConfig } from './command.js';
export { commands } from './commands/index.js';
