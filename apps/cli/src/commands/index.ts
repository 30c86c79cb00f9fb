import type { Command } from '../command.js';
import { benchCommand } from './bench.js';
import { trainCommand } from './train.js';
import { calibrateCommand } from './calibrate.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { trackCommand } from './track.js';

/** Every subcommand, in the order `dytrack --help` lists them. Add yours with one line. */
export const commands: readonly Command[] = [
  demoCommand,
  trackCommand,
  evalCommand,
  benchCommand,
  trainCommand,
  calibrateCommand,
  exportCommand,
];
