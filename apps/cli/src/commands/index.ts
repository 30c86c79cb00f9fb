import type { Command } from '../command.js';

/** Every subcommand, in the order `dytrack --help` lists them. Add yours with one line. */
export const commands: readonly Command[] = [
];
