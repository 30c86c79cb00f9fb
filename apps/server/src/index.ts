/**
 * `@dytrack/server`: DyTrack tracking sessions over HTTP and WebSocket.
 * {@link createServer} wires models, a backend, limits, auth and a logger into
 * a `node:http` server with a versioned API (`/v1/...`), WebSocket streams for
 * live video, Prometheus metrics and an OpenAPI description;
 * {@link createDyTrackClient} is its typed client.
 *
 * @packageDocumentation
 */
export type { CreateServerOptions, DyTrackServer, ServerAddress, ServerAuth } from './server.js';
export { createServer } from './server.js';

export type { ServerLimits } from './limits.js';
export { DEFAULT_LIMITS } from './limits.js';

export type { Logger, LogLevel, LogFields, JsonLoggerOptions } from './logger.js';
export { createJsonLogger, silentLogger } from './logger.js';

export type { ClientFrame, DyTrackClient, DyTrackClientOptions } from './client.js';
export { createDyTrackClient, DyTrackClientError } from './client.js';

export type {
  ServerErrorCode,
  ErrorBody,
  PolicySpec,
  CreateSessionRequest,
  SessionState,
  SessionInfo,
  WireBox,
  FrameResultBody,
  InitResultBody,
  ModelInfo,
  PolicyParameterInfo,
  PolicyInfo,
  HealthBody,
  StreamServerMessage,
  StreamClientMessage,
} from './protocol.js';

export type { JsonValue } from './openapi.js';
export { buildOpenApiDocument } from './openapi.js';
