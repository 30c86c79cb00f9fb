import { InvalidArgumentError, type Box } from '@dytrack/core';

/**
 * A malformed input file (truth, results, flags or image). The message names the
 * file and, where one applies, the 1-based line.
 */
export class DatasetFormatError extends InvalidArgumentError {
  /** Path (or name) of the offending file. */
  readonly file: string;
  /** 1-based line number, when the problem is on one line. */
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, problem: string, options?: { cause?: unknown }) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${problem}`, options);
    this.name = 'DatasetFormatError';
    this.file = file;
    this.line = line;
  }
}

/** Options of {@link parseBoxFile}. */
export interface ParseBoxFileOptions {
  /**
   * Accept `NaN` fields (an unannotated frame in some truth files). Results files
   * must not contain them, so the default is false.
   */
  readonly allowNaN?: boolean;
}

const SEPARATORS = /[\s,;]+/;

/**
 * Parses a one-box-per-line file (`x,y,w,h`), as OTB, LaSOT and GOT-10k truth
 * and every tracker's results use. Fields may be separated by commas, tabs,
 * spaces (or a mix); blank trailing lines are ignored. Throws
 * {@link DatasetFormatError} naming the file and line on anything else.
 *
 * @param text - The file's contents.
 * @param file - The file's path, for error messages.
 */
export function parseBoxFile(text: string, file: string, options: ParseBoxFileOptions = {}): Box[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const boxes: Box[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') throw new DatasetFormatError(file, i + 1, 'empty line inside the box list');
    const fields = raw.split(SEPARATORS).filter((f) => f !== '');
    if (fields.length !== 4) {
      throw new DatasetFormatError(file, i + 1, `expected 4 fields x,y,w,h, found ${fields.length} in ${JSON.stringify(raw)}`);
    }
    const values = fields.map((field) => parseField(field, file, i + 1, options.allowNaN === true));
    boxes.push({ x: values[0]!, y: values[1]!, width: values[2]!, height: values[3]! });
  }
  return boxes;
}

function parseField(field: string, file: string, line: number, allowNaN: boolean): number {
  if (/^nan$/i.test(field)) {
    if (allowNaN) return Number.NaN;
    throw new DatasetFormatError(file, line, 'NaN is not a valid box value here');
  }
  // Number('') and Number('0x10') are accepted by JavaScript; a box file wants plain decimals.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(field)) {
    throw new DatasetFormatError(file, line, `non-numeric field ${JSON.stringify(field)}`);
  }
  return Number(field);
}

/**
 * Parses a per-frame flag file: LaSOT's `full_occlusion.txt` / `out_of_view.txt`
 * (one line of comma-separated 0/1) or GOT-10k's `absence.label` (one 0/1 per
 * line). Returns one boolean per frame.
 */
export function parseFlagFile(text: string, file: string): boolean[] {
  const flags: boolean[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    for (const field of raw.split(SEPARATORS)) {
      if (field === '') continue;
      if (field !== '0' && field !== '1') {
        throw new DatasetFormatError(file, i + 1, `expected a 0/1 flag, found ${JSON.stringify(field)}`);
      }
      flags.push(field === '1');
    }
  }
  return flags;
}

/**
 * Formats boxes one per line as `x,y,w,h` (the field's results format), with at
 * most `decimals` decimals and no trailing zeros.
 */
export function formatBoxFile(boxes: readonly Box[], decimals = 2): string {
  const f = (v: number): string => {
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`cannot write a non-finite box value ${String(v)}`);
    return String(Number(v.toFixed(decimals)));
  };
  let out = '';
  for (const b of boxes) out += `${f(b.x)},${f(b.y)},${f(b.width)},${f(b.height)}\n`;
  return out;
}
