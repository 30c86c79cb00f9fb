/**
 * A small Prometheus metrics registry (text exposition format 0.0.4): labelled
 * counters, gauges read at scrape time, and histograms with fixed buckets.
 * Enough for the server; no dependency.
 */

type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',');
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Metric {
  render(out: string[]): void;
}

/** A monotonically increasing count, optionally split by labels. */
export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Adds `by` (default 1) to the series with `labels`. */
  inc(labels?: Labels, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  /** Current value of a series (0 when never incremented). */
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    if (this.values.size === 0) out.push(`${this.name} 0`);
    for (const [key, v] of this.values) out.push(`${this.name}${key ? `{${key}}` : ''} ${formatNumber(v)}`);
  }
}

/** A value read when the metrics are scraped. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => number,
  ) {}

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, `${this.name} ${formatNumber(this.read())}`);
  }
}

/** A histogram with fixed upper bounds (cumulative buckets, sum and count). */
export class Histogram implements Metric {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;
  readonly bounds: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    bounds: readonly number[],
  ) {
    this.bounds = [...bounds].sort((a, b) => a - b);
    this.counts = new Float64Array(this.bounds.length);
  }

  /** Records one observation. */
  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]!) {
        this.counts[i]! += 1;
        return;
      }
    }
  }

  /** Number of observations so far. */
  get observations(): number {
    return this.count;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      out.push(`${this.name}_bucket{le="${formatNumber(this.bounds[i]!)}"} ${cumulative}`);
    }
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`, `${this.name}_sum ${formatNumber(this.sum)}`, `${this.name}_count ${this.count}`);
  }
}

/** The server's metrics, rendered in Prometheus text format by {@link ServerMetrics.render}. */
export class ServerMetrics {
  readonly sessionsCreated = new Counter('dytrack_sessions_created_total', 'Tracking sessions created.');
  readonly sessionsClosed = new Counter('dytrack_sessions_closed_total', 'Tracking sessions closed, by reason (closed, expired, shutdown).');
  readonly frames = new Counter('dytrack_frames_total', 'Frames tracked (updates that returned a result).');
  readonly frameErrors = new Counter('dytrack_frame_errors_total', 'Frames that failed, by error code.');
  readonly rejected = new Counter('dytrack_rejected_total', 'Requests refused by a limit, by limit (sessions, sessions_per_client, in_flight, body, frame_size).');
  readonly httpRequests = new Counter('dytrack_http_requests_total', 'HTTP requests answered, by route and status.');
  readonly wsMessages = new Counter('dytrack_websocket_frames_total', 'Frames received on WebSocket streams.');
  readonly frameLatency = new Histogram(
    'dytrack_frame_latency_seconds',
    'Server time per frame: decoding, waiting for the session and tracking.',
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  readonly trackerLatency = new Histogram(
    'dytrack_tracker_update_seconds',
    "The tracker's own time per update (preprocessing, inference, decisions).",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  );
  /** Exit taken per frame; one bucket per exit of the deepest model served. */
  readonly exitIndex: Histogram;
  private readonly gauges: Gauge[];

  /** `exitCount`: exits of the deepest model served (sizes the exit histogram). */
  constructor(read: { sessions: () => number; inFlight: () => number; websockets: () => number }, exitCount = 12) {
    this.exitIndex = new Histogram(
      'dytrack_frame_exit_index',
      'Exit taken per frame (0-based): how deep frames ran.',
      Array.from({ length: Math.max(1, exitCount) }, (_, k) => k),
    );
    this.gauges = [
      new Gauge('dytrack_sessions_active', 'Open tracking sessions.', read.sessions),
      new Gauge('dytrack_frames_in_flight', 'Frames accepted and not yet answered, over all sessions.', read.inFlight),
      new Gauge('dytrack_websocket_streams_active', 'Open WebSocket streams.', read.websockets),
      new Gauge('dytrack_process_resident_memory_bytes', 'Resident set size of the server process.', () => process.memoryUsage.rss()),
      new Gauge('dytrack_process_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed),
    ];
  }

  /** All metrics in Prometheus text exposition format. */
  render(): string {
    const out: string[] = [];
    for (const m of [
      this.sessionsCreated,
      this.sessionsClosed,
      this.frames,
      this.frameErrors,
      this.rejected,
      this.httpRequests,
      this.wsMessages,
      this.frameLatency,
      this.trackerLatency,
      this.exitIndex,
      ...this.gauges,
    ]) {
      m.render(out);
    }
    return out.join('\n') + '\n';
  }
}
