import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Box } from '@dytrack/core';
import { describeValue } from '@dytrack/core';
import type { FrameEncoding } from './frame-codec.js';
import { HttpError } from './http-error.js';
import type { CreateSessionRequest, PolicySpec, StreamClientMessage } from './protocol.js';

/**
 * HTTP parsing and validation, kept apart from the wiring so that each rule is
 * tested on its own: bodies with a size limit, JSON and content types, frame
 * encodings, boxes, session requests and stream control messages. Every
 * function throws an {@link HttpError} naming the problem.
 */

/** A media type without its parameters, lower case (`image/jpeg`), or undefined when absent. */
export function mediaType(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers['content-type'];
  if (raw === undefined || raw === '') return undefined;
  return raw.split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Reads a request body up to `maxBytes`. A `Content-Length` over the limit is
 * refused before any byte is read; a chunked body is refused as soon as it
 * passes the limit (413 PAYLOAD_TOO_LARGE either way).
 */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const length = Number(declared);
    if (Number.isFinite(length) && length > maxBytes) {
      return Promise.reject(tooLarge(length, maxBytes));
    }
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: Error | undefined): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        chunks.length = 0;
        finish(tooLarge(size, maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onError = (error: Error): void => finish(new HttpError(400, 'INVALID_REQUEST', `cannot read the request body: ${error.message}`, { cause: error }));
    const onClose = (): void => finish(new HttpError(400, 'INVALID_REQUEST', 'the client closed the connection before the body ended'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function tooLarge(size: number, maxBytes: number): HttpError {
  return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the request body is ${size} bytes or more; this server accepts at most ${maxBytes}`);
}

/**
 * Parses a JSON request body. The content type must be `application/json`
 * (415 otherwise) and the body a JSON object (400 INVALID_JSON otherwise). An
 * empty body with no content type is read as `{}`.
 */
export function parseJsonObject(headers: IncomingHttpHeaders, body: Uint8Array): Record<string, unknown> {
  const type = mediaType(headers);
  if (body.length === 0 && type === undefined) return {};
  if (type !== 'application/json') {
    throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `expected Content-Type application/json, got ${type === undefined ? 'none' : JSON.stringify(type)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (cause) {
    throw new HttpError(400, 'INVALID_JSON', `the request body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'INVALID_JSON', `the request body must be a JSON object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function positiveIntParam(query: URLSearchParams, name: string): number {
  const raw = query.get(name);
  if (raw === null) throw new HttpError(400, 'INVALID_FRAME', `a raw frame needs the query parameters width and height (missing ${name})`);
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value <= 0) {
    throw new HttpError(400, 'INVALID_FRAME', `query parameter ${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * The encoding of a frame request from its content type: `image/jpeg`,
 * `image/png`, or `application/octet-stream` for raw pixels with the query
 * parameters `width`, `height` and `format` (`rgb`, the default, or `rgba`).
 */
export function parseFrameEncoding(headers: IncomingHttpHeaders, query: URLSearchParams): FrameEncoding {
  const type = mediaType(headers);
  switch (type) {
    case 'image/jpeg':
    case 'image/jpg':
      return { kind: 'jpeg' };
    case 'image/png':
      return { kind: 'png' };
    case 'application/octet-stream':
      return parseRawGeometry(query);
    default:
      throw new HttpError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        `frames are sent as image/jpeg, image/png or application/octet-stream (raw pixels with ?width=&height=&format=rgb|rgba); got ${type === undefined ? 'no Content-Type' : JSON.stringify(type)}`,
      );
  }
}

function parseRawGeometry(query: URLSearchParams): FrameEncoding {
  const format = query.get('format');
  const w = positiveIntParam(query, 'width');
  const h = positiveIntParam(query, 'height');
  const f = format ?? 'rgb';
  if (f !== 'rgb' && f !== 'rgba') throw new HttpError(400, 'INVALID_FRAME', `query parameter format must be rgb or rgba, got ${JSON.stringify(f)}`);
  return { kind: 'raw', width: w, height: h, format: f };
}

/** Checks a box value (from JSON): four finite numbers, positive size. */
export function parseBox(value: unknown, what = 'box'): Box {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'INVALID_BOX', `${what} must be an object {x, y, width, height}, got ${describeValue(value)}`);
  }
  const v = value as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const key of ['x', 'y', 'width', 'height']) {
    const n = v[key];
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new HttpError(400, 'INVALID_BOX', `${what}.${key} must be a finite number, got ${describeValue(n)}`);
    out[key] = n;
  }
  if (out.width! <= 0 || out.height! <= 0) throw new HttpError(400, 'INVALID_BOX', `${what} must have a positive size, got ${out.width}x${out.height}`);
  return { x: out.x!, y: out.y!, width: out.width!, height: out.height! };
}

/** The `box=x,y,width,height` query parameter of an init request. */
export function parseBoxParam(query: URLSearchParams): Box {
  const raw = query.get('box');
  if (raw === null) throw new HttpError(400, 'INVALID_BOX', 'init needs the target box as the query parameter box=x,y,width,height');
  const parts = raw.split(',');
  const numbers = parts.map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (parts.length !== 4 || numbers.some((n) => !Number.isFinite(n))) {
    throw new HttpError(400, 'INVALID_BOX', `box must be four finite numbers x,y,width,height; got ${JSON.stringify(raw)}`);
  }
  return parseBox({ x: numbers[0], y: numbers[1], width: numbers[2], height: numbers[3] });
}

const POLICY_TYPES = ['threshold', 'confidence', 'fixedDepth', 'latencyBudget', 'temporalConsistency', 'anyOf', 'allOf'] as const;

function numberArray(value: unknown, what: string): readonly number[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `${what} must be a non-empty array of finite numbers, got ${describeValue(value)}`);
  }
  return value as number[];
}

function optionalNumber(v: Record<string, unknown>, key: string, what: string): number | undefined {
  const value = v[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new HttpError(400, 'INVALID_ARGUMENT', `${what}.${key} must be a finite number, got ${describeValue(value)}`);
  return value;
}

function onlyKeys(v: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key)) {
      throw new HttpError(400, 'INVALID_ARGUMENT', `${what} has an unknown field ${JSON.stringify(key)}; allowed: ${allowed.join(', ')}`);
    }
  }
}

/**
 * Checks the shape of a {@link PolicySpec} (types of fields, known policy
 * names, no unknown fields). Value ranges are checked when the policy is
 * built, by the policy itself.
 */
export function parsePolicySpec(value: unknown, what = 'policy', depth = 0): PolicySpec {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `${what} must be an object with a "type" field, got ${describeValue(value)}`);
  }
  const v = value as Record<string, unknown>;
  const type = v.type;
  if (typeof type !== 'string' || !(POLICY_TYPES as readonly string[]).includes(type)) {
    throw new HttpError(400, 'UNKNOWN_POLICY', `${what}.type must be one of ${POLICY_TYPES.join(', ')}; got ${describeValue(type)}`);
  }
  switch (type as PolicySpec['type']) {
    case 'threshold':
      onlyKeys(v, ['type', 'thresholds'], what);
      return v.thresholds === undefined ? { type: 'threshold' } : { type: 'threshold', thresholds: numberArray(v.thresholds, `${what}.thresholds`) };
    case 'confidence': {
      onlyKeys(v, ['type', 'threshold'], what);
      const t = v.threshold;
      if (typeof t === 'number' && Number.isFinite(t)) return { type: 'confidence', threshold: t };
      return { type: 'confidence', threshold: numberArray(t, `${what}.threshold`) };
    }
    case 'fixedDepth': {
      onlyKeys(v, ['type', 'exit'], what);
      const exit = v.exit;
      if (typeof exit !== 'number' || !Number.isInteger(exit) || exit < 0) {
        throw new HttpError(400, 'INVALID_ARGUMENT', `${what}.exit must be a non-negative integer, got ${describeValue(exit)}`);
      }
      return { type: 'fixedDepth', exit };
    }
    case 'latencyBudget': {
      onlyKeys(v, ['type', 'targetMs', 'thresholds', 'gain', 'smoothing'], what);
      const targetMs = optionalNumber(v, 'targetMs', what);
      if (targetMs === undefined) throw new HttpError(400, 'INVALID_ARGUMENT', `${what}.targetMs is required (milliseconds per frame)`);
      const gain = optionalNumber(v, 'gain', what);
      const smoothing = optionalNumber(v, 'smoothing', what);
      return {
        type: 'latencyBudget',
        targetMs,
        ...(v.thresholds !== undefined ? { thresholds: numberArray(v.thresholds, `${what}.thresholds`) } : {}),
        ...(gain !== undefined ? { gain } : {}),
        ...(smoothing !== undefined ? { smoothing } : {}),
      };
    }
    case 'temporalConsistency': {
      onlyKeys(v, ['type', 'history', 'minIoU', 'minFrames'], what);
      const history = optionalNumber(v, 'history', what);
      const minIoU = optionalNumber(v, 'minIoU', what);
      const minFrames = optionalNumber(v, 'minFrames', what);
      return {
        type: 'temporalConsistency',
        ...(history !== undefined ? { history } : {}),
        ...(minIoU !== undefined ? { minIoU } : {}),
        ...(minFrames !== undefined ? { minFrames } : {}),
      };
    }
    case 'anyOf':
    case 'allOf': {
      onlyKeys(v, ['type', 'policies'], what);
      if (depth >= 4) throw new HttpError(400, 'INVALID_ARGUMENT', `${what}: policies nest at most 4 levels deep`);
      const list = v.policies;
      if (!Array.isArray(list) || list.length === 0 || list.length > 8) {
        throw new HttpError(400, 'INVALID_ARGUMENT', `${what}.policies must be an array of 1 to 8 policies, got ${describeValue(list)}`);
      }
      return { type: type as 'anyOf' | 'allOf', policies: list.map((p, i) => parsePolicySpec(p, `${what}.policies[${i}]`, depth + 1)) };
    }
  }
}

/** Checks a `POST /v1/sessions` body. */
export function parseCreateSessionRequest(body: Record<string, unknown>): CreateSessionRequest {
  onlyKeys(body, ['model', 'policy', 'lostThreshold'], 'the session request');
  const { model, policy, lostThreshold } = body;
  if (model !== undefined && (typeof model !== 'string' || model === '')) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `model must be a model name (GET /v1/models), got ${describeValue(model)}`);
  }
  if (lostThreshold !== undefined && (typeof lostThreshold !== 'number' || !Number.isFinite(lostThreshold) || lostThreshold < 0 || lostThreshold > 1)) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `lostThreshold must be a number in [0, 1], got ${describeValue(lostThreshold)}`);
  }
  return {
    ...(model !== undefined ? { model: model as string } : {}),
    ...(policy !== undefined ? { policy: parsePolicySpec(policy) } : {}),
    ...(lostThreshold !== undefined ? { lostThreshold: lostThreshold as number } : {}),
  };
}

/** Parses a text (control) message of a WebSocket stream. */
export function parseStreamControl(text: string): StreamClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new HttpError(400, 'INVALID_JSON', `a text message must be JSON: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'INVALID_JSON', `a text message must be a JSON object, got ${describeValue(value)}`);
  }
  const v = value as Record<string, unknown>;
  if (v.type === 'init') {
    onlyKeys(v, ['type', 'box'], 'the init message');
    return { type: 'init', box: parseBox(v.box) };
  }
  if (v.type === 'raw-format') {
    onlyKeys(v, ['type', 'width', 'height', 'format'], 'the raw-format message');
    const { width, height, format } = v;
    if (typeof width !== 'number' || !Number.isSafeInteger(width) || width <= 0 || typeof height !== 'number' || !Number.isSafeInteger(height) || height <= 0) {
      throw new HttpError(400, 'INVALID_FRAME', `raw-format needs positive integer width and height, got ${describeValue(width)}x${describeValue(height)}`);
    }
    if (format !== undefined && format !== 'rgb' && format !== 'rgba') {
      throw new HttpError(400, 'INVALID_FRAME', `raw-format.format must be rgb or rgba, got ${describeValue(format)}`);
    }
    return { type: 'raw-format', width, height, format: (format as 'rgb' | 'rgba' | undefined) ?? 'rgb' };
  }
  throw new HttpError(400, 'INVALID_REQUEST', `unknown message type ${describeValue(v.type)}; expected "init" or "raw-format" (frames are binary messages)`);
}

/** A route of the v1 API with its path parameters. */
export type Route =
  | { readonly name: 'health' }
  | { readonly name: 'metrics' }
  | { readonly name: 'openapi' }
  | { readonly name: 'models' }
  | { readonly name: 'policies' }
  | { readonly name: 'sessions' }
  | { readonly name: 'session'; readonly id: string }
  | { readonly name: 'session-init'; readonly id: string }
  | { readonly name: 'session-frames'; readonly id: string }
  | { readonly name: 'session-policy'; readonly id: string }
  | { readonly name: 'session-stream'; readonly id: string };

/** Methods each route answers, for 405 responses and `Allow`. */
export const ROUTE_METHODS: Readonly<Record<Route['name'], readonly string[]>> = {
  health: ['GET'],
  metrics: ['GET'],
  openapi: ['GET'],
  models: ['GET'],
  policies: ['GET'],
  sessions: ['POST'],
  session: ['GET', 'DELETE'],
  'session-init': ['POST'],
  'session-frames': ['POST'],
  'session-policy': ['PUT'],
  'session-stream': ['GET'],
};

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Matches a path to a route, or undefined (404). */
export function matchRoute(pathname: string): Route | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'v1') return undefined;
  if (parts.length === 2) {
    switch (parts[1]) {
      case 'health':
        return { name: 'health' };
      case 'metrics':
        return { name: 'metrics' };
      case 'openapi.json':
        return { name: 'openapi' };
      case 'models':
        return { name: 'models' };
      case 'policies':
        return { name: 'policies' };
      case 'sessions':
        return { name: 'sessions' };
      default:
        return undefined;
    }
  }
  if (parts[1] !== 'sessions' || parts.length > 4 || !SESSION_ID.test(parts[2] ?? '')) return undefined;
  const id = parts[2]!;
  if (parts.length === 3) return { name: 'session', id };
  switch (parts[3]) {
    case 'init':
      return { name: 'session-init', id };
    case 'frames':
      return { name: 'session-frames', id };
    case 'policy':
      return { name: 'session-policy', id };
    case 'stream':
      return { name: 'session-stream', id };
    default:
      return undefined;
  }
}

/** The bearer token of an `Authorization` header, or undefined. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers.authorization;
  if (raw === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(raw);
  return match ? match[1] : undefined;
}
