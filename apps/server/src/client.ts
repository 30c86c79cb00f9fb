import type { Box, FrameResult, ImageFrame } from '@dytrack/core';
import { sniffImageType } from '@dytrack/image/probe';
import type {
  CreateSessionRequest,
  ErrorBody,
  HealthBody,
  InitResultBody,
  ModelInfo,
  PolicyInfo,
  PolicySpec,
  ServerErrorCode,
  SessionInfo,
} from './protocol.js';

/**
 * A frame as the client sends it: JPEG or PNG bytes (the type is read from
 * the signature), or a raw `'rgb'` / `'rgba'` {@link ImageFrame}.
 */
export type ClientFrame = Uint8Array | ImageFrame;

/** Options of {@link createDyTrackClient}. */
export interface DyTrackClientOptions {
  /** Bearer token sent with every request. */
  readonly token?: string;
  /** The `fetch` to use (a test double, a proxy-aware fetch); the global one by default. */
  readonly fetch?: typeof fetch;
}

/** An error response of the server, or a transport failure (`status` 0, code `NETWORK`). */
export class DyTrackClientError extends Error {
  /** HTTP status (0 when no response arrived). */
  readonly status: number;
  /** The server's error code, or `NETWORK` / `BAD_RESPONSE` for client-side failures. */
  readonly code: ServerErrorCode | 'NETWORK' | 'BAD_RESPONSE';

  constructor(status: number, code: ServerErrorCode | 'NETWORK' | 'BAD_RESPONSE', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DyTrackClientError';
    this.status = status;
    this.code = code;
  }
}

/** A typed client of the DyTrack server's v1 HTTP API. Every method rejects with {@link DyTrackClientError}. */
export interface DyTrackClient {
  /** The server's base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** `GET /v1/health`. */
  health(): Promise<HealthBody>;
  /** `GET /v1/models`. */
  listModels(): Promise<ModelInfo[]>;
  /** `GET /v1/policies`. */
  listPolicies(): Promise<PolicyInfo[]>;
  /** `GET /v1/metrics`: Prometheus text. */
  metrics(): Promise<string>;
  /** `GET /v1/openapi.json`. */
  openApi(): Promise<Record<string, unknown>>;
  /** `POST /v1/sessions`. */
  createSession(request?: CreateSessionRequest): Promise<SessionInfo>;
  /** `GET /v1/sessions/{id}`. */
  getSession(id: string): Promise<SessionInfo>;
  /** `POST /v1/sessions/{id}/init?box=...`: starts tracking `box` in `frame`. */
  initSession(id: string, frame: ClientFrame, box: Box): Promise<InitResultBody>;
  /** `POST /v1/sessions/{id}/frames`: tracks the target into `frame`. */
  track(id: string, frame: ClientFrame): Promise<FrameResult>;
  /** `PUT /v1/sessions/{id}/policy`. */
  setPolicy(id: string, policy: PolicySpec): Promise<SessionInfo>;
  /** `DELETE /v1/sessions/{id}`. */
  closeSession(id: string): Promise<void>;
  /** The `ws://` URL of a session's WebSocket stream. */
  streamUrl(id: string): string;
}

function frameRequest(frame: ClientFrame): { body: Uint8Array; contentType: string; query: string } {
  if (frame instanceof Uint8Array) {
    const type = sniffImageType(frame);
    if (!type) throw new DyTrackClientError(0, 'INVALID_FRAME', 'frame bytes are neither JPEG nor PNG; pass raw pixels as an ImageFrame {data, width, height, format}');
    return { body: frame, contentType: type === 'jpeg' ? 'image/jpeg' : 'image/png', query: '' };
  }
  const format = frame.format ?? 'rgba';
  if (format !== 'rgb' && format !== 'rgba') throw new DyTrackClientError(0, 'INVALID_FRAME', `the server takes rgb or rgba raw frames, not ${format}`);
  const data = frame.data instanceof Uint8Array ? frame.data : new Uint8Array(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength);
  return { body: data, contentType: 'application/octet-stream', query: `width=${frame.width}&height=${frame.height}&format=${format}` };
}

/**
 * Creates a client of a DyTrack server. Works wherever `fetch` does (Node 18+,
 * browsers, Deno).
 *
 * @example
 * ```ts
 * const client = createDyTrackClient('http://127.0.0.1:8080');
 * const session = await client.createSession({ policy: { type: 'threshold' } });
 * await client.initSession(session.id, firstJpeg, { x: 120, y: 80, width: 64, height: 48 });
 * const result = await client.track(session.id, nextJpeg);
 * console.log(result.box, result.exitIndex);
 * await client.closeSession(session.id);
 * ```
 */
export function createDyTrackClient(baseUrl: string, options: DyTrackClientOptions = {}): DyTrackClient {
  const base = baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const auth: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {};

  async function request(method: string, path: string, init: { body?: Uint8Array | string; contentType?: string } = {}): Promise<Response> {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers: { ...auth, ...(init.contentType ? { 'Content-Type': init.contentType } : {}) },
        ...(init.body !== undefined ? { body: init.body as BodyInit } : {}),
      });
    } catch (cause) {
      throw new DyTrackClientError(0, 'NETWORK', `${method} ${path}: ${(cause as Error).message}`, { cause });
    }
    if (!response.ok) {
      let body: ErrorBody | undefined;
      try {
        body = (await response.json()) as ErrorBody;
      } catch {
        body = undefined;
      }
      const code = body?.error?.code;
      if (code === undefined) throw new DyTrackClientError(response.status, 'BAD_RESPONSE', `${method} ${path}: HTTP ${response.status} without an error body`);
      throw new DyTrackClientError(response.status, code, body!.error.message);
    }
    return response;
  }

  async function getJson<T>(method: string, path: string, init?: { body?: Uint8Array | string; contentType?: string }): Promise<T> {
    const response = await request(method, path, init);
    try {
      return (await response.json()) as T;
    } catch (cause) {
      throw new DyTrackClientError(response.status, 'BAD_RESPONSE', `${method} ${path}: the response is not JSON`, { cause });
    }
  }

  const sessionPath = (id: string): string => `/v1/sessions/${encodeURIComponent(id)}`;
  const boxParam = (box: Box): string => `box=${[box.x, box.y, box.width, box.height].map(String).join(',')}`;

  return {
    baseUrl: base,
    health: () => getJson<HealthBody>('GET', '/v1/health'),
    listModels: async () => (await getJson<{ models: ModelInfo[] }>('GET', '/v1/models')).models,
    listPolicies: async () => (await getJson<{ policies: PolicyInfo[] }>('GET', '/v1/policies')).policies,
    metrics: async () => (await request('GET', '/v1/metrics')).text(),
    openApi: () => getJson<Record<string, unknown>>('GET', '/v1/openapi.json'),
    createSession: (req = {}) => getJson<SessionInfo>('POST', '/v1/sessions', { body: JSON.stringify(req), contentType: 'application/json' }),
    getSession: (id) => getJson<SessionInfo>('GET', sessionPath(id)),
    initSession(id, frame, box) {
      const { body, contentType, query } = frameRequest(frame);
      return getJson<InitResultBody>('POST', `${sessionPath(id)}/init?${boxParam(box)}${query ? `&${query}` : ''}`, { body, contentType });
    },
    track(id, frame) {
      const { body, contentType, query } = frameRequest(frame);
      return getJson<FrameResult>('POST', `${sessionPath(id)}/frames${query ? `?${query}` : ''}`, { body, contentType });
    },
    setPolicy: (id, policy) => getJson<SessionInfo>('PUT', `${sessionPath(id)}/policy`, { body: JSON.stringify(policy), contentType: 'application/json' }),
    async closeSession(id) {
      await request('DELETE', sessionPath(id));
    },
    streamUrl: (id) => `${base.replace(/^http/, 'ws')}${sessionPath(id)}/stream`,
  };
}
