import { randomBytes } from 'node:crypto';
import type { Tracker } from '@dytrack/core';
import { HttpError } from './http-error.js';
import type { ServerLimits } from './limits.js';
import type { PolicySpec, SessionInfo, SessionState } from './protocol.js';

/** A queued frame skipped because its client went away before it ran. */
export class FrameCancelledError extends Error {
  constructor() {
    super('the client went away before the frame ran');
    this.name = 'FrameCancelledError';
  }
}

/** Why a session ended (a label of `dytrack_sessions_closed_total`). */
export type CloseReason = 'closed' | 'expired' | 'shutdown';

/** Something attached to a session that must end with it (a WebSocket stream). */
export interface SessionAttachment {
  /** Called once when the session closes. */
  onSessionClose(reason: CloseReason): void;
}

/**
 * One tracking session: a tracker and the queue that runs its frames one at a
 * time, in arrival order. At most `maxInFlight` frames are accepted and not
 * yet answered; {@link TrackingSession.acquire} refuses more (429), which is
 * the backpressure HTTP clients see.
 */
export class TrackingSession {
  readonly id: string;
  readonly clientKey: string;
  readonly model: string;
  readonly createdAt: Date;
  readonly idleTimeoutMs: number;
  readonly maxInFlight: number;
  policy: PolicySpec;
  state: SessionState = 'created';
  frames = 0;
  lastActivity: number;
  readonly attachments = new Set<SessionAttachment>();
  private readonly tracker: Tracker;
  private inFlightCount = 0;
  private tail: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private readonly slotListeners = new Set<() => void>();

  constructor(options: {
    id: string;
    clientKey: string;
    model: string;
    policy: PolicySpec;
    tracker: Tracker;
    idleTimeoutMs: number;
    maxInFlight: number;
    now: number;
  }) {
    this.id = options.id;
    this.clientKey = options.clientKey;
    this.model = options.model;
    this.policy = options.policy;
    this.tracker = options.tracker;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.maxInFlight = options.maxInFlight;
    this.createdAt = new Date(options.now);
    this.lastActivity = options.now;
  }

  /** Frames accepted and not yet answered. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /** True once {@link TrackingSession.close} was called. */
  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** The tracker's exit policy name. */
  get policyName(): string {
    return this.tracker.exitPolicy.name;
  }

  /** Marks activity now (resets the idle clock). */
  touch(now = Date.now()): void {
    this.lastActivity = now;
  }

  /** True when the session has been idle past its timeout and has no work. */
  isExpired(now: number): boolean {
    return this.inFlightCount === 0 && now - this.lastActivity >= this.idleTimeoutMs;
  }

  /**
   * Takes one in-flight slot for a frame, or throws 429 TOO_MANY_IN_FLIGHT
   * (410 once closed). With `force`, takes it even past the limit: a
   * WebSocket stream paces itself by pausing its socket instead, and a frame
   * already read must still be answered in order.
   */
  acquire(force = false): void {
    if (this.closing) throw new HttpError(410, 'SESSION_CLOSED', `session ${this.id} is closed`);
    if (!force && this.inFlightCount >= this.maxInFlight) {
      throw new HttpError(
        429,
        'TOO_MANY_IN_FLIGHT',
        `session ${this.id} already has ${this.inFlightCount} frames in flight (the limit); wait for a result before sending the next frame`,
        { headers: { 'Retry-After': '1' } },
      );
    }
    this.inFlightCount += 1;
  }

  /** Gives back a slot taken with {@link TrackingSession.acquire} for a frame that will not run. */
  releaseSlot(): void {
    this.inFlightCount -= 1;
    this.touch();
    for (const listener of this.slotListeners) listener();
  }

  /** Calls `listener` whenever a slot frees (a WebSocket stream resumes reading). */
  onSlotFree(listener: () => void): () => void {
    this.slotListeners.add(listener);
    return () => this.slotListeners.delete(listener);
  }

  /**
   * Runs `task` with the tracker after every earlier task, then frees the slot
   * taken for it. The caller must have called {@link TrackingSession.acquire}.
   * `cancelled` is asked just before the task starts: a frame whose client
   * has gone is skipped, not computed.
   */
  enqueue<T>(task: (tracker: Tracker) => Promise<T>, cancelled?: () => boolean): Promise<T> {
    const run = async (): Promise<T> => {
      try {
        if (cancelled?.()) throw new FrameCancelledError();
        return await task(this.tracker);
      } finally {
        this.releaseSlot();
      }
    };
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** The session as the API describes it. */
  info(): SessionInfo {
    return {
      id: this.id,
      model: this.model,
      policy: this.policy,
      policyName: this.policyName,
      state: this.state,
      frames: this.frames,
      inFlight: this.inFlightCount,
      createdAt: this.createdAt.toISOString(),
      idleTimeoutMs: this.idleTimeoutMs,
    };
  }

  /** Swaps the exit policy (from the next frame on). */
  setPolicy(spec: PolicySpec, policy: Tracker['exitPolicy']): void {
    this.tracker.setExitPolicy(policy);
    this.policy = spec;
  }

  /**
   * Closes the session: no new frames are accepted, frames in flight finish
   * (their clients get their answers), then the tracker is disposed, which
   * frees its memory. Idempotent; resolves when the tracker is disposed.
   */
  close(reason: CloseReason): Promise<void> {
    if (this.closing) return this.closing;
    for (const attachment of this.attachments) attachment.onSessionClose(reason);
    this.attachments.clear();
    this.closing = this.tail.then(() => this.tracker.dispose());
    return this.closing;
  }
}

/** Checks and counts sessions: the limits in total and per client, lookup, expiry. */
export class SessionRegistry {
  private readonly sessions = new Map<string, TrackingSession>();
  private readonly perClient = new Map<string, number>();
  private reserved = 0;

  constructor(private readonly limits: Pick<ServerLimits, 'maxSessions' | 'maxSessionsPerClient'>) {}

  /** Open sessions. */
  get size(): number {
    return this.sessions.size;
  }

  /** Frames in flight over all sessions. */
  get inFlight(): number {
    let n = 0;
    for (const s of this.sessions.values()) n += s.inFlight;
    return n;
  }

  /** Every open session. */
  all(): TrackingSession[] {
    return [...this.sessions.values()];
  }

  /**
   * Reserves room for a new session of `clientKey` (creating a tracker takes
   * time; the reservation keeps concurrent creations within the limits), or
   * throws 429 TOO_MANY_SESSIONS. Returns a function that cancels the
   * reservation when creation fails.
   */
  reserve(clientKey: string): () => void {
    const total = this.sessions.size + this.reserved;
    if (total >= this.limits.maxSessions) {
      throw new HttpError(429, 'TOO_MANY_SESSIONS', `the server has ${this.limits.maxSessions} open sessions (its limit); close one or wait for idle sessions to expire`);
    }
    const mine = this.perClient.get(clientKey) ?? 0;
    if (mine >= this.limits.maxSessionsPerClient) {
      throw new HttpError(429, 'TOO_MANY_SESSIONS', `this client has ${mine} open sessions (the per-client limit is ${this.limits.maxSessionsPerClient}); close one with DELETE /v1/sessions/{id}`);
    }
    this.reserved += 1;
    this.perClient.set(clientKey, mine + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.reserved -= 1;
      this.decrementClient(clientKey);
    };
  }

  /** Adds a session created under a reservation (which it takes over). */
  add(session: TrackingSession): void {
    this.reserved -= 1;
    this.sessions.set(session.id, session);
  }

  /** The open session `id`, or a 404 SESSION_NOT_FOUND. */
  get(id: string): TrackingSession {
    const session = this.sessions.get(id);
    if (!session) {
      throw new HttpError(404, 'SESSION_NOT_FOUND', `no open session ${JSON.stringify(id)}; it was closed, expired, or never existed (create one with POST /v1/sessions)`);
    }
    return session;
  }

  /** Removes a session and closes it; resolves when its tracker is disposed. */
  close(session: TrackingSession, reason: CloseReason): Promise<void> {
    if (this.sessions.get(session.id) === session) {
      this.sessions.delete(session.id);
      this.decrementClient(session.clientKey);
    }
    return session.close(reason);
  }

  /** Sessions idle past their timeout at `now`. */
  expired(now: number): TrackingSession[] {
    return this.all().filter((s) => s.isExpired(now));
  }

  private decrementClient(clientKey: string): void {
    const n = (this.perClient.get(clientKey) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(clientKey);
    else this.perClient.set(clientKey, n);
  }
}

/** A new unguessable session id (128 random bits, base64url). */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}
