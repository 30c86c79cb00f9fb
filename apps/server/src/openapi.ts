import type { ServerLimits } from './limits.js';

/** A JSON value (for the OpenAPI document's type). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

const ref = (name: string): JsonValue => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonValue): JsonValue => ({ 'application/json': { schema } });
const errorResponse = (description: string): JsonValue => ({ description, content: json(ref('Error')) });

const sessionId: JsonValue = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } };

const frameBody = (limits: ServerLimits): JsonValue => ({
  required: true,
  description: `One frame: a JPEG or PNG image, or raw interleaved 8-bit pixels (application/octet-stream with the width, height and format query parameters). At most ${limits.maxBodyBytes} bytes, ${limits.maxFrameSide} pixels a side and ${limits.maxFramePixels} pixels in all.`,
  content: {
    'image/jpeg': { schema: { type: 'string', format: 'binary' } },
    'image/png': { schema: { type: 'string', format: 'binary' } },
    'application/octet-stream': { schema: { type: 'string', format: 'binary' } },
  },
});

const rawParams: JsonValue[] = [
  { name: 'width', in: 'query', required: false, description: 'Width of a raw frame (application/octet-stream only).', schema: { type: 'integer', minimum: 1 } },
  { name: 'height', in: 'query', required: false, description: 'Height of a raw frame (application/octet-stream only).', schema: { type: 'integer', minimum: 1 } },
  { name: 'format', in: 'query', required: false, description: 'Pixel layout of a raw frame.', schema: { type: 'string', enum: ['rgb', 'rgba'], default: 'rgb' } },
];

const frameErrors: Record<string, JsonValue> = {
  '400': errorResponse('Corrupt image, bad raw geometry or bad box (INVALID_FRAME, INVALID_BOX).'),
  '404': errorResponse('No such session (SESSION_NOT_FOUND).'),
  '413': errorResponse('Body or frame over the limits (PAYLOAD_TOO_LARGE, FRAME_TOO_LARGE).'),
  '415': errorResponse('Content-Type is not image/jpeg, image/png or application/octet-stream.'),
  '429': errorResponse('The session already has its maximum of frames in flight (TOO_MANY_IN_FLIGHT); retry after a result.'),
};

/**
 * The OpenAPI 3.1 description of the v1 HTTP API, as `GET /v1/openapi.json`
 * serves it. Limits and model names are those of the running server.
 */
export function buildOpenApiDocument(options: { models: readonly string[]; limits: ServerLimits; auth: boolean }): JsonValue {
  const { limits } = options;
  const box = { type: 'object', required: ['x', 'y', 'width', 'height'], properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number', exclusiveMinimum: 0 }, height: { type: 'number', exclusiveMinimum: 0 } } };
  const policyBranch = (type: string, properties: Record<string, JsonValue>, required: string[] = []): JsonValue => ({
    type: 'object',
    required: ['type', ...required],
    additionalProperties: false,
    properties: { type: { const: type }, ...properties },
  });
  const thresholds: JsonValue = { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, minItems: 1 };
  const doc: JsonValue = {
    openapi: '3.1.0',
    info: {
      title: 'DyTrack tracking server',
      version: '1.0.0',
      description:
        'Single-object visual tracking sessions over HTTP and WebSocket. Create a session, initialise it with a frame and the target box, then send frames and get boxes. ' +
        `Live video: a WebSocket at /v1/sessions/{id}/stream (binary messages are frames; text messages {"type":"init","box":{...}} and {"type":"raw-format","width":W,"height":H,"format":"rgb"} are controls; every frame gets one reply, in order). ` +
        `Limits: ${limits.maxSessions} sessions in total, ${limits.maxSessionsPerClient} per client, ${limits.maxInFlightPerSession} frames in flight per session, sessions expire after ${limits.sessionIdleMs} ms idle. Every error is {"error":{"code","message"}}.`,
    },
    servers: [{ url: '/' }],
    ...(options.auth ? { security: [{ bearer: [] }] } : {}),
    paths: {
      '/v1/health': {
        get: { operationId: 'health', summary: 'Liveness and session count.', security: [], responses: { '200': { description: 'Healthy.', content: json(ref('Health')) } } },
      },
      '/v1/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics (text exposition format 0.0.4).',
          responses: { '200': { description: 'Sessions, frames, latency and exit histograms.', content: { 'text/plain': { schema: { type: 'string' } } } } },
        },
      },
      '/v1/openapi.json': { get: { operationId: 'openapi', summary: 'This document.', responses: { '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } } } },
      '/v1/models': {
        get: {
          operationId: 'listModels',
          summary: 'Models sessions can use.',
          responses: { '200': { description: 'The models; the first is the default.', content: json({ type: 'object', required: ['models'], properties: { models: { type: 'array', items: ref('Model') } } }) } },
        },
      },
      '/v1/policies': {
        get: {
          operationId: 'listPolicies',
          summary: 'Exit policies and their parameters.',
          responses: { '200': { description: 'The policies.', content: json({ type: 'object', required: ['policies'], properties: { policies: { type: 'array', items: ref('PolicyInfo') } } }) } },
        },
      },
      '/v1/sessions': {
        post: {
          operationId: 'createSession',
          summary: 'Creates a tracking session.',
          requestBody: { required: false, content: json(ref('CreateSessionRequest')) },
          responses: {
            '201': { description: 'Created.', content: json(ref('Session')) },
            '400': errorResponse('Malformed JSON, unknown model or policy, bad parameters.'),
            '415': errorResponse('Content-Type is not application/json.'),
            '429': errorResponse('Too many sessions, in total or for this client (TOO_MANY_SESSIONS).'),
          },
        },
      },
      '/v1/sessions/{id}': {
        parameters: [sessionId],
        get: { operationId: 'getSession', summary: 'Describes a session.', responses: { '200': { description: 'The session.', content: json(ref('Session')) }, '404': errorResponse('No such session.') } },
        delete: {
          operationId: 'closeSession',
          summary: 'Closes a session (frames in flight finish first) and frees its tracker.',
          responses: { '204': { description: 'Closed.' }, '404': errorResponse('No such session.') },
        },
      },
      '/v1/sessions/{id}/init': {
        parameters: [sessionId],
        post: {
          operationId: 'initSession',
          summary: 'Starts (or restarts) tracking the box in a frame.',
          parameters: [{ name: 'box', in: 'query', required: true, description: 'The target: x,y,width,height in frame pixels.', schema: { type: 'string', example: '120,80,64,48' } }, ...rawParams],
          requestBody: frameBody(limits),
          responses: { '200': { description: 'Initialised.', content: json(ref('InitResult')) }, ...frameErrors },
        },
      },
      '/v1/sessions/{id}/frames': {
        parameters: [sessionId],
        post: {
          operationId: 'trackFrame',
          summary: 'Tracks the target into the next frame.',
          parameters: rawParams,
          requestBody: frameBody(limits),
          responses: { '200': { description: 'The box and how it was found.', content: json(ref('FrameResult')) }, '409': errorResponse('The session has not been initialised (SESSION_NOT_INITIALIZED).'), ...frameErrors },
        },
      },
      '/v1/sessions/{id}/policy': {
        parameters: [sessionId],
        put: {
          operationId: 'setPolicy',
          summary: 'Swaps the exit policy, from the next frame on.',
          requestBody: { required: true, content: json(ref('PolicySpec')) },
          responses: { '200': { description: 'The session with its new policy.', content: json(ref('Session')) }, '400': errorResponse('Bad policy.'), '404': errorResponse('No such session.') },
        },
      },
      '/v1/sessions/{id}/stream': {
        parameters: [sessionId],
        get: {
          operationId: 'streamSession',
          summary: 'WebSocket upgrade: live video in, results out, in order.',
          description:
            'Server messages (JSON text): {"type":"ready","session"}, {"type":"initialized","seq","result"}, {"type":"result","seq","result"} and {"type":"error","seq","error"}; seq counts binary messages from 0. When the session has its maximum of frames in flight the server stops reading the socket until a result goes out.',
          responses: { '101': { description: 'Switching to the WebSocket protocol.' }, '404': errorResponse('No such session.'), '426': errorResponse('Not a WebSocket request.') },
        },
      },
    },
    components: {
      ...(options.auth ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : {}),
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
        Health: { type: 'object', required: ['status', 'sessions', 'uptimeSeconds'], properties: { status: { enum: ['ok', 'shutting-down'] }, sessions: { type: 'integer' }, uptimeSeconds: { type: 'integer' } } },
        Box: box,
        Model: {
          type: 'object',
          required: ['name', 'exits', 'defaultThresholds', 'templateSize', 'searchSize'],
          properties: {
            name: { type: 'string', enum: [...options.models] },
            variant: { type: 'string' },
            exits: { type: 'integer' },
            defaultThresholds: { type: 'array', items: { type: 'number' } },
            templateSize: { type: 'integer' },
            searchSize: { type: 'integer' },
          },
        },
        PolicyInfo: {
          type: 'object',
          required: ['type', 'description', 'parameters'],
          properties: {
            type: { type: 'string' },
            description: { type: 'string' },
            parameters: {
              type: 'array',
              items: { type: 'object', required: ['name', 'type', 'required', 'description'], properties: { name: { type: 'string' }, type: { type: 'string' }, required: { type: 'boolean' }, description: { type: 'string' } } },
            },
          },
        },
        PolicySpec: {
          oneOf: [
            policyBranch('threshold', { thresholds }),
            policyBranch('confidence', { threshold: { oneOf: [{ type: 'number', minimum: 0, maximum: 1 }, thresholds] } }, ['threshold']),
            policyBranch('fixedDepth', { exit: { type: 'integer', minimum: 0 } }, ['exit']),
            policyBranch('latencyBudget', { targetMs: { type: 'number', exclusiveMinimum: 0 }, thresholds, gain: { type: 'number' }, smoothing: { type: 'number' } }, ['targetMs']),
            policyBranch('temporalConsistency', { history: { type: 'integer', minimum: 2 }, minIoU: { type: 'number' }, minFrames: { type: 'integer', minimum: 1 } }),
            policyBranch('anyOf', { policies: { type: 'array', items: ref('PolicySpec'), minItems: 1, maxItems: 8 } }, ['policies']),
            policyBranch('allOf', { policies: { type: 'array', items: ref('PolicySpec'), minItems: 1, maxItems: 8 } }, ['policies']),
          ],
        },
        CreateSessionRequest: {
          type: 'object',
          additionalProperties: false,
          properties: { model: { type: 'string', enum: [...options.models] }, policy: ref('PolicySpec'), lostThreshold: { type: 'number', minimum: 0, maximum: 1 } },
        },
        Session: {
          type: 'object',
          required: ['id', 'model', 'policy', 'policyName', 'state', 'frames', 'inFlight', 'createdAt', 'idleTimeoutMs'],
          properties: {
            id: { type: 'string' },
            model: { type: 'string' },
            policy: ref('PolicySpec'),
            policyName: { type: 'string' },
            state: { enum: ['created', 'tracking'] },
            frames: { type: 'integer' },
            inFlight: { type: 'integer' },
            createdAt: { type: 'string', format: 'date-time' },
            idleTimeoutMs: { type: 'integer' },
          },
        },
        InitResult: {
          type: 'object',
          required: ['id', 'state', 'box', 'width', 'height'],
          properties: { id: { type: 'string' }, state: { const: 'tracking' }, box: ref('Box'), width: { type: 'integer' }, height: { type: 'integer' } },
        },
        ExitTrace: {
          type: 'object',
          required: ['exitIndex', 'box', 'confidence', 'terminatingScore'],
          properties: { exitIndex: { type: 'integer' }, box: ref('Box'), confidence: { type: 'number' }, terminatingScore: { type: 'number' } },
        },
        FrameResult: {
          type: 'object',
          required: ['frameIndex', 'box', 'rawBox', 'confidence', 'terminatingScore', 'lost', 'exitIndex', 'stagesRun', 'timings', 'exits'],
          properties: {
            frameIndex: { type: 'integer', description: '1 for the first frame after init.' },
            box: ref('Box'),
            rawBox: ref('Box'),
            confidence: { type: 'number' },
            terminatingScore: { type: 'number' },
            lost: { type: 'boolean' },
            exitIndex: { type: 'integer' },
            stagesRun: { type: 'integer' },
            timings: {
              type: 'object',
              required: ['preprocessMs', 'inferenceMs', 'decisionMs', 'totalMs'],
              properties: { preprocessMs: { type: 'number' }, inferenceMs: { type: 'number' }, decisionMs: { type: 'number' }, totalMs: { type: 'number' } },
            },
            exits: { type: 'array', items: ref('ExitTrace') },
          },
        },
      },
    },
  };
  return doc;
}
