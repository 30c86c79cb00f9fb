import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { assertBoxInFrame, InvalidArgumentError, type Box, type FrameResult, type ImageFrame, type InferenceBackend, type ModelSource } from '@dytrack/core';
import { createTracker } from '@dytrack/tracker';
import { decodeFrame } from './frame-codec.js';
import { HttpError, toHttpError } from './http-error.js';
import { resolveLimits, type ServerLimits } from './limits.js';
import { silentLogger, type Logger } from './logger.js';
import { ServerMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import {
  bearerToken,
  matchRoute,
  parseBoxParam,
  parseCreateSessionRequest,
  parseFrameEncoding,
  parseJsonObject,
  parsePolicySpec,
  readBody,
  ROUTE_METHODS,
  type Route,
} from './parse.js';
import { POLICY_CATALOG, policyFromJson } from '@dytrack/exit-policies';
import type { HealthBody, InitResultBody, ModelInfo, PolicySpec } from './protocol.js';
import { FrameCancelledError, newSessionId, SessionRegistry, TrackingSession, type CloseReason } from './sessions.js';
import { createSharedSessionBackend } from './shared-backend.js';
import { CLOSE_CODES, serveStream } from './stream.js';

/** Bearer-token authentication. */
export interface ServerAuth {
  /**
   * Accepted tokens (`Authorization: Bearer TOKEN`). Every route but
   * `GET /v1/health` requires one. Sessions are counted per token.
   */
  readonly tokens: readonly string[];
}

/** Options of {@link createServer}. */
export interface CreateServerOptions {
  /**
   * The models sessions can use, by name. The first is the default of a
   * session that names none. Each is read once; sessions running the same
   * model share its loaded ONNX sessions.
   */
  readonly models: Readonly<Record<string, ModelSource>>;
  /** The inference backend trackers run on (`createNodeBackend()`); the server does not dispose it. */
  readonly backend: InferenceBackend;
  /** Resource limits; defaults for the fields left out (see {@link DEFAULT_LIMITS}). */
  readonly limits?: Partial<ServerLimits>;
  /** Bearer-token authentication; none when omitted. */
  readonly auth?: ServerAuth;
  /** Structured logger; silent when omitted. */
  readonly logger?: Logger;
}

/** Where a listening server is. */
export interface ServerAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port`, the base URL clients use. */
  readonly url: string;
}

/** A DyTrack server created by {@link createServer}. */
export interface DyTrackServer {
  /** Starts listening (port 0 picks a free port). Resolves with the address. */
  listen(port?: number, host?: string): Promise<ServerAddress>;
  /** The address once listening. */
  readonly address: ServerAddress | undefined;
  /**
   * Graceful shutdown: stops accepting connections and requests (503), lets
   * frames in flight finish (up to `limits.shutdownGraceMs`), closes streams
   * and disposes every session's tracker. Idempotent.
   */
  close(): Promise<void>;
  /** Open sessions. */
  readonly sessionCount: number;
  /** ONNX models loaded and shared by the sessions (0 once all sessions are gone). */
  readonly loadedModels: number;
  /** The underlying Node HTTP server (for tests and custom wiring). */
  readonly httpServer: Server;
  /** The limits in force, with defaults applied. */
  readonly limits: ServerLimits;
}

/** Runs init and update on a session's queue, with the checks and metrics both HTTP and WebSocket need. */
export interface FrameRunner {
  init(session: TrackingSession, frame: ImageFrame, box: Box, cancelled?: () => boolean): Promise<InitResultBody>;
  update(session: TrackingSession, frame: ImageFrame, cancelled?: () => boolean): Promise<FrameResult>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function cachedModelSource(source: ModelSource): ModelSource {
  const files = new Map<string, Promise<Uint8Array>>();
  return {
    manifest: source.manifest,
    readFile(file: string): Promise<Uint8Array> {
      let bytes = files.get(file);
      if (!bytes) {
        bytes = source.readFile(file);
        files.set(file, bytes);
        bytes.catch(() => files.delete(file));
      }
      return bytes;
    },
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * Creates a DyTrack tracking server: the v1 HTTP API (sessions, frames,
 * models, policies, health, Prometheus metrics, OpenAPI) and WebSocket
 * streams, on `node:http` and `ws`. The server is only wiring: parsing lives
 * in `parse.ts`, decoding in `frame-codec.ts`, sessions in `sessions.ts`.
 *
 * @example
 * ```ts
 * import { createNodeBackend } from '@dytrack/backend-node';
 * import { loadModelDirectory } from '@dytrack/model/node';
 * import { createServer } from '@dytrack/server';
 *
 * const server = createServer({
 *   models: { tiny: await loadModelDirectory('models/tiny') },
 *   backend: createNodeBackend({ intraOpNumThreads: 1 }),
 *   limits: { maxSessions: 32 },
 * });
 * const { url } = await server.listen(8080, '127.0.0.1');
 * process.on('SIGTERM', () => void server.close());
 * ```
 *
 * @throws InvalidArgumentError when there is no model or a limit is not a positive integer.
 */
export function createServer(options: CreateServerOptions): DyTrackServer {
  const limits = resolveLimits(options.limits);
  const logger = options.logger ?? silentLogger;
  const modelNames = Object.keys(options.models ?? {});
  if (modelNames.length === 0) throw new InvalidArgumentError('createServer: models must name at least one model');
  if (!options.backend || options.backend.specificationVersion !== 'v1') {
    throw new InvalidArgumentError("createServer: backend must be an InferenceBackend (specificationVersion 'v1')");
  }
  const authDigests = options.auth ? options.auth.tokens.map(digest) : undefined;
  if (authDigests && authDigests.length === 0) throw new InvalidArgumentError('createServer: auth.tokens must hold at least one token');

  const models = new Map<string, ModelSource>(modelNames.map((name) => [name, cachedModelSource(options.models[name]!)]));
  const backend = createSharedSessionBackend(options.backend);
  const registry = new SessionRegistry(limits);
  let websockets = 0;
  const maxExits = Math.max(...modelNames.map((name) => options.models[name]!.manifest.stages.length));
  const metrics = new ServerMetrics({ sessions: () => registry.size, inFlight: () => registry.inFlight, websockets: () => websockets }, maxExits);
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxBodyBytes });
  const startedAt = Date.now();
  let shuttingDown = false;
  let closing: Promise<void> | undefined;
  let address: ServerAddress | undefined;
  let openApi: string | undefined;

  const modelInfos: ModelInfo[] = modelNames.map((name) => {
    const m = options.models[name]!.manifest;
    return {
      name,
      variant: m.variant,
      exits: m.stages.length,
      defaultThresholds: m.stages.map((s) => s.exit.defaultThreshold),
      templateSize: m.input.template.size,
      searchSize: m.input.search.size,
    };
  });

  // ---- sessions -------------------------------------------------------------------------------

  const closeSession = async (session: TrackingSession, reason: CloseReason): Promise<void> => {
    const wasOpen = !session.closed;
    await registry.close(session, reason);
    if (wasOpen) {
      metrics.sessionsClosed.inc({ reason });
      logger.info('session closed', { session: session.id, reason, frames: session.frames });
    }
  };

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const session of registry.expired(now)) {
        closeSession(session, 'expired').catch((error: unknown) => logger.error('disposing an expired session failed', { session: session.id, error }));
      }
    },
    Math.max(50, Math.min(1000, Math.floor(limits.sessionIdleMs / 4))),
  );
  sweep.unref();

  const createSession = async (clientKey: string, body: Record<string, unknown>): Promise<TrackingSession> => {
    const request = parseCreateSessionRequest(body);
    const modelName = request.model ?? modelNames[0]!;
    const model = models.get(modelName);
    if (!model) throw new HttpError(400, 'UNKNOWN_MODEL', `unknown model ${JSON.stringify(modelName)}; this server has ${modelNames.join(', ')}`);
    const spec: PolicySpec = request.policy ?? { type: 'threshold' };
    const exitPolicy = policyFromJson(spec, model.manifest);
    const cancel = registry.reserve(clientKey);
    try {
      const tracker = await createTracker({
        backend,
        model,
        exitPolicy,
        ...(request.lostThreshold !== undefined ? { lostThreshold: request.lostThreshold } : {}),
      });
      if (shuttingDown) {
        // Shutdown began while the tracker loaded: it would outlive the sessions shutdown disposes.
        await tracker.dispose();
        throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down');
      }
      const session = new TrackingSession({
        id: newSessionId(),
        clientKey,
        model: modelName,
        policy: spec,
        tracker,
        idleTimeoutMs: limits.sessionIdleMs,
        maxInFlight: limits.maxInFlightPerSession,
        now: Date.now(),
      });
      registry.add(session);
      metrics.sessionsCreated.inc();
      logger.info('session created', { session: session.id, model: modelName, policy: session.policyName });
      return session;
    } catch (error) {
      cancel();
      throw error;
    }
  };

  const runner: FrameRunner = {
    init(session, frame, box, cancelled) {
      const started = performance.now();
      return session.enqueue(async (tracker) => {
        assertBoxInFrame(box, frame.width, frame.height);
        await tracker.init(frame, box);
        session.state = 'tracking';
        session.frames = 0;
        metrics.frameLatency.observe((performance.now() - started) / 1000);
        return { id: session.id, state: 'tracking', box, width: frame.width, height: frame.height };
      }, cancelled);
    },
    update(session, frame, cancelled) {
      const started = performance.now();
      return session
        .enqueue(async (tracker) => {
          if (session.state !== 'tracking') {
            throw new HttpError(
              409,
              'SESSION_NOT_INITIALIZED',
              `session ${session.id} has no target yet: initialise it first with POST /v1/sessions/${session.id}/init?box=x,y,width,height (or an init message on the stream)`,
            );
          }
          const result = await tracker.update(frame);
          session.frames += 1;
          metrics.frames.inc();
          metrics.trackerLatency.observe(result.timings.totalMs / 1000);
          metrics.exitIndex.observe(result.exitIndex);
          metrics.frameLatency.observe((performance.now() - started) / 1000);
          return result;
        }, cancelled)
        .catch((error: unknown) => {
          if (!(error instanceof FrameCancelledError)) metrics.frameErrors.inc({ code: toHttpError(error).code });
          throw error;
        });
    },
  };

  // ---- HTTP -----------------------------------------------------------------------------------

  const clientKeyOf = (req: IncomingMessage): string => {
    const token = bearerToken(req.headers);
    if (authDigests && token) return `token:${digest(token).toString('hex').slice(0, 16)}`;
    return `addr:${req.socket.remoteAddress ?? 'unknown'}`;
  };

  const checkAuth = (req: IncomingMessage, route: Route): void => {
    if (!authDigests || route.name === 'health') return;
    const token = bearerToken(req.headers);
    if (token === undefined) {
      throw new HttpError(401, 'UNAUTHORIZED', 'this server needs a bearer token: send Authorization: Bearer TOKEN', { headers: { 'WWW-Authenticate': 'Bearer' } });
    }
    const d = digest(token);
    if (!authDigests.some((a) => timingSafeEqual(a, d))) {
      throw new HttpError(401, 'UNAUTHORIZED', 'the bearer token is not valid', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    }
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, route: Route, url: URL): Promise<void> => {
    switch (route.name) {
      case 'health': {
        const body: HealthBody = { status: shuttingDown ? 'shutting-down' : 'ok', sessions: registry.size, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) };
        return sendJson(res, 200, body);
      }
      case 'metrics': {
        const text = metrics.render();
        res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
        return;
      }
      case 'openapi':
        openApi ??= JSON.stringify(buildOpenApiDocument({ models: modelNames, limits, auth: authDigests !== undefined }));
        res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(openApi) });
        res.end(openApi);
        return;
      case 'models':
        return sendJson(res, 200, { models: modelInfos });
      case 'policies':
        return sendJson(res, 200, { policies: POLICY_CATALOG });
      case 'sessions': {
        const body = parseJsonObject(req.headers, await readBody(req, limits.maxBodyBytes));
        const session = await createSession(clientKeyOf(req), body);
        return sendJson(res, 201, session.info(), { Location: `/v1/sessions/${session.id}` });
      }
      case 'session': {
        const session = registry.get(route.id);
        if (req.method === 'DELETE') {
          await closeSession(session, 'closed');
          res.writeHead(204).end();
          return;
        }
        session.touch();
        return sendJson(res, 200, session.info());
      }
      case 'session-policy': {
        const session = registry.get(route.id);
        session.touch();
        const spec = parsePolicySpec(parseJsonObject(req.headers, await readBody(req, limits.maxBodyBytes)));
        session.setPolicy(spec, policyFromJson(spec, models.get(session.model)!.manifest));
        return sendJson(res, 200, session.info());
      }
      case 'session-init':
      case 'session-frames': {
        const session = registry.get(route.id);
        session.touch();
        const encoding = parseFrameEncoding(req.headers, url.searchParams);
        const box = route.name === 'session-init' ? parseBoxParam(url.searchParams) : undefined;
        session.acquire();
        let frame: ImageFrame;
        try {
          frame = decodeFrame(await readBody(req, limits.maxBodyBytes), encoding, limits);
        } catch (error) {
          session.releaseSlot();
          throw error;
        }
        // A client that hangs up before its turn does not get its frame computed.
        let clientGone = false;
        res.once('close', () => {
          if (!res.writableFinished) clientGone = true;
        });
        const gone = (): boolean => clientGone;
        if (box) return sendJson(res, 200, await runner.init(session, frame, box, gone));
        return sendJson(res, 200, await runner.update(session, frame, gone));
      }
      case 'session-stream':
        throw new HttpError(426, 'INVALID_REQUEST', 'this route is a WebSocket stream: connect with a WebSocket client (Upgrade: websocket)', { headers: { Upgrade: 'websocket' } });
    }
  };

  const routeLabel = (route: Route | undefined): string => route?.name ?? 'unknown';

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = performance.now();
    let route: Route | undefined;
    const finish = (error: unknown): void => {
      if (error !== undefined) {
        const e = toHttpError(error);
        if (e.status >= 500) logger.error('request failed', { method: req.method, path: req.url, status: e.status, error: (e.cause as Error | undefined) ?? e });
        if (e.code === 'TOO_MANY_SESSIONS') metrics.rejected.inc({ limit: 'sessions' });
        if (e.code === 'TOO_MANY_IN_FLIGHT') metrics.rejected.inc({ limit: 'in_flight' });
        if (e.code === 'PAYLOAD_TOO_LARGE') metrics.rejected.inc({ limit: 'body' });
        if (e.code === 'FRAME_TOO_LARGE') metrics.rejected.inc({ limit: 'frame_size' });
        if (!res.headersSent && !res.destroyed) {
          // After a refused body the rest of it is not read: close the connection rather than parse it as a request.
          const close: Record<string, string> = e.code === 'PAYLOAD_TOO_LARGE' ? { Connection: 'close' } : {};
          sendJson(res, e.status, e.toBody(), { ...e.headers, ...close });
        }
      }
      metrics.httpRequests.inc({ route: routeLabel(route), status: String(res.statusCode) });
      const fields = { method: req.method, path: req.url, status: res.statusCode, ms: Math.round((performance.now() - started) * 100) / 100 };
      if (route?.name === 'session-frames') logger.debug('request', fields);
      else logger.info('request', fields);
    };
    try {
      if (shuttingDown) throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down', { headers: { Connection: 'close' } });
      const url = new URL(req.url ?? '/', 'http://localhost');
      route = matchRoute(url.pathname);
      if (!route) throw new HttpError(404, 'NOT_FOUND', `no route ${url.pathname}; the API is under /v1 (see GET /v1/openapi.json)`);
      const allowed = ROUTE_METHODS[route.name];
      if (!allowed.includes(req.method ?? '')) {
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}; use ${allowed.join(' or ')}`, { headers: { Allow: allowed.join(', ') } });
      }
      checkAuth(req, route);
      handle(req, res, route, url).then(
        () => finish(undefined),
        (error: unknown) => finish(error),
      );
    } catch (error) {
      finish(error);
    }
  };

  // ---- WebSocket ------------------------------------------------------------------------------

  const refuseUpgrade = (socket: Duplex, error: HttpError): void => {
    const body = JSON.stringify(error.toBody());
    const reason = error.status === 401 ? 'Unauthorized' : error.status === 404 ? 'Not Found' : error.status === 503 ? 'Service Unavailable' : 'Bad Request';
    socket.end(
      `HTTP/1.1 ${error.status} ${reason}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      if (shuttingDown) throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down');
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = matchRoute(url.pathname);
      if (!route || route.name !== 'session-stream') throw new HttpError(404, 'NOT_FOUND', `no WebSocket route ${url.pathname}; streams are at /v1/sessions/{id}/stream`);
      checkAuth(req, route);
      const session = registry.get(route.id);
      wss.handleUpgrade(req, socket, head, (ws) => {
        websockets += 1;
        logger.info('stream opened', { session: session.id });
        serveStream({
          ws,
          session,
          limits,
          logger,
          runner,
          onClose: () => {
            websockets -= 1;
            logger.info('stream closed', { session: session.id });
          },
        });
        ws.on('message', (_data, isBinary) => {
          if (isBinary) metrics.wsMessages.inc();
        });
      });
    } catch (error) {
      refuseUpgrade(socket, toHttpError(error));
    }
  };

  const httpServer = createHttpServer({ requestTimeout: 60_000, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, onRequest);
  httpServer.on('upgrade', onUpgrade);
  httpServer.on('clientError', (error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    logger.debug('client error', { error });
  });

  const close = async (): Promise<void> => {
    shuttingDown = true;
    clearInterval(sweep);
    const stopped = new Promise<void>((resolve) => {
      if (!httpServer.listening) resolve();
      else httpServer.close(() => resolve());
    });
    httpServer.closeIdleConnections();
    logger.info('shutting down', { sessions: registry.size, inFlight: registry.inFlight });
    // Frames in flight finish (closing a session waits for its queue), bounded by the grace period.
    const sessions = registry.all();
    const disposed = Promise.allSettled(sessions.map((s) => closeSession(s, 'shutdown')));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), limits.shutdownGraceMs);
    });
    const outcome = await Promise.race([disposed.then(() => 'done' as const), grace]);
    clearTimeout(timer);
    if (outcome === 'timeout') logger.warn('shutdown grace period over; closing connections with frames still in flight');
    for (const ws of wss.clients) ws.close(CLOSE_CODES.goingAway, 'server shutting down');
    wss.close();
    // Answers already written may still be flushing: close connections as they go idle, and force the rest after a moment.
    const forceAt = Date.now() + 1000;
    for (;;) {
      httpServer.closeIdleConnections();
      if (Date.now() >= forceAt) {
        httpServer.closeAllConnections();
        for (const ws of wss.clients) ws.terminate();
        break;
      }
      const done = await Promise.race([stopped.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 25))]);
      if (done) break;
    }
    await stopped;
    await backend.dispose();
    logger.info('stopped');
  };

  return {
    listen(port = 0, host = '127.0.0.1'): Promise<ServerAddress> {
      return new Promise<ServerAddress>((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        httpServer.once('error', onError);
        httpServer.listen(port, host, () => {
          httpServer.off('error', onError);
          const a = httpServer.address() as AddressInfo;
          const shownHost = a.family === 'IPv6' ? `[${a.address}]` : a.address;
          address = { host: a.address, port: a.port, url: `http://${shownHost}:${a.port}` };
          logger.info('listening', { url: address.url, models: modelNames, limits });
          resolve(address);
        });
      });
    },
    get address() {
      return address;
    },
    close(): Promise<void> {
      closing ??= close();
      return closing;
    },
    get sessionCount() {
      return registry.size;
    },
    get loadedModels() {
      return backend.loadedModels;
    },
    httpServer,
    limits,
  };
}
