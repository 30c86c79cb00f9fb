/** Severity of a log record. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Fields of a structured log record (JSON-serialisable values). */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * Where the server writes its logs: one method per level, a message and
 * structured fields. Any object with these methods will do (pino fits).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** Options of {@link createJsonLogger}. */
export interface JsonLoggerOptions {
  /** Lowest level written. Default `'info'`. */
  readonly level?: LogLevel;
  /** Where lines go. Default `process.stdout`. */
  readonly stream?: { write(line: string): unknown };
  /** Fields added to every record (`{ service: 'dytrack' }`). */
  readonly base?: LogFields;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

function serialise(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, ...('code' in value ? { code: (value as { code: unknown }).code } : {}) };
  return value;
}

/**
 * A logger writing JSON lines: `{"time":"...","level":"info","msg":"...",...fields}`.
 * Errors in fields are written as `{name, message, code}`.
 */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  if (min === undefined) throw new TypeError(`createJsonLogger: unknown level ${String(options.level)}`);
  const stream = options.stream ?? process.stdout;
  const base = options.base ?? {};
  const write = (level: LogLevel, message: string, fields: LogFields | undefined): void => {
    if (RANK[level] < min) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg: message, ...base };
    if (fields) for (const key of Object.keys(fields)) record[key] = serialise(fields[key]);
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ time: record.time, level, msg: message, note: 'fields were not serialisable' });
    }
    stream.write(line + '\n');
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = Object.freeze({
  debug(): void {},
  info(): void {},
  warn(): void {},
  error(): void {},
});
