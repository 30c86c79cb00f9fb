import { describe, expect, it } from 'vitest';
import { encodeJpeg, encodePng } from '@dytrack/image';
import { checkFrameSize, decodeFrame, sniffImageType } from '../src/frame-codec.js';
import { HttpError, toHttpError } from '../src/http-error.js';
import { resolveLimits } from '../src/limits.js';
import { Histogram, ServerMetrics } from '../src/metrics.js';
import {
  bearerToken,
  matchRoute,
  parseBoxParam,
  parseCreateSessionRequest,
  parseFrameEncoding,
  parseJsonObject,
  parsePolicySpec,
  parseStreamControl,
} from '../src/parse.js';
import { InvalidFrameError, InvalidStateError } from '@dytrack/core';

const LIMITS = { maxFrameSide: 512, maxFramePixels: 512 * 300 };

function thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HttpError);
    return e as HttpError;
  }
  throw new Error('did not throw');
}

function gradient(width: number, height: number): { data: Uint8Array; width: number; height: number; format: 'rgb' } {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 255;
  return { data, width, height, format: 'rgb' };
}

describe('routes', () => {
  it('matches every v1 route and nothing else', () => {
    expect(matchRoute('/v1/health')).toEqual({ name: 'health' });
    expect(matchRoute('/v1/openapi.json')).toEqual({ name: 'openapi' });
    expect(matchRoute('/v1/sessions/')).toEqual({ name: 'sessions' });
    expect(matchRoute('/v1/sessions/abc_D-9')).toEqual({ name: 'session', id: 'abc_D-9' });
    expect(matchRoute('/v1/sessions/abc/frames')).toEqual({ name: 'session-frames', id: 'abc' });
    expect(matchRoute('/v1/sessions/abc/init')).toEqual({ name: 'session-init', id: 'abc' });
    expect(matchRoute('/v1/sessions/abc/policy')).toEqual({ name: 'session-policy', id: 'abc' });
    expect(matchRoute('/v1/sessions/abc/stream')).toEqual({ name: 'session-stream', id: 'abc' });
    expect(matchRoute('/v1/sessions/a%2Fb/frames')).toBeUndefined();
    expect(matchRoute('/v1/sessions/abc/frames/x')).toBeUndefined();
    expect(matchRoute('/health')).toBeUndefined();
    expect(matchRoute('/v2/health')).toBeUndefined();
  });

  it('reads bearer tokens', () => {
    expect(bearerToken({ authorization: 'Bearer abc.def' })).toBe('abc.def');
    expect(bearerToken({ authorization: 'bearer  xyz ' })).toBe('xyz');
    expect(bearerToken({ authorization: 'Basic Zm9v' })).toBeUndefined();
    expect(bearerToken({})).toBeUndefined();
  });
});

describe('request bodies', () => {
  const json = { 'content-type': 'application/json; charset=utf-8' };
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

  it('parses JSON objects and names what is wrong', () => {
    expect(parseJsonObject(json, bytes('{"a":1}'))).toEqual({ a: 1 });
    expect(parseJsonObject({}, new Uint8Array(0))).toEqual({});
    expect(thrown(() => parseJsonObject(json, bytes('{"a":')))).toMatchObject({ status: 400, code: 'INVALID_JSON' });
    expect(thrown(() => parseJsonObject(json, bytes('"x"'))).message).toBe('the request body must be a JSON object, got "x"');
    expect(thrown(() => parseJsonObject({ 'content-type': 'text/plain' }, bytes('{}')))).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(thrown(() => parseJsonObject({}, bytes('{}'))).message).toMatch(/got none/);
  });

  it('chooses the frame encoding from the content type and query', () => {
    const q = (s: string): URLSearchParams => new URLSearchParams(s);
    expect(parseFrameEncoding({ 'content-type': 'image/jpeg' }, q(''))).toEqual({ kind: 'jpeg' });
    expect(parseFrameEncoding({ 'content-type': 'IMAGE/PNG' }, q(''))).toEqual({ kind: 'png' });
    expect(parseFrameEncoding({ 'content-type': 'application/octet-stream' }, q('width=4&height=2'))).toEqual({ kind: 'raw', width: 4, height: 2, format: 'rgb' });
    expect(parseFrameEncoding({ 'content-type': 'application/octet-stream' }, q('width=4&height=2&format=rgba'))).toMatchObject({ format: 'rgba' });
    expect(thrown(() => parseFrameEncoding({ 'content-type': 'application/octet-stream' }, q('width=4')))).toMatchObject({ code: 'INVALID_FRAME', message: expect.stringMatching(/missing height/) });
    expect(thrown(() => parseFrameEncoding({ 'content-type': 'application/octet-stream' }, q('width=4.5&height=2'))).message).toMatch(/width must be a positive integer, got "4.5"/);
    expect(thrown(() => parseFrameEncoding({ 'content-type': 'application/octet-stream' }, q('width=4&height=2&format=bgr'))).message).toMatch(/rgb or rgba/);
    expect(thrown(() => parseFrameEncoding({}, q('')))).toMatchObject({ status: 415 });
  });

  it('parses the init box', () => {
    expect(parseBoxParam(new URLSearchParams('box=1.5,2,30,40'))).toEqual({ x: 1.5, y: 2, width: 30, height: 40 });
    expect(thrown(() => parseBoxParam(new URLSearchParams('box=1,2,3')))).toMatchObject({ code: 'INVALID_BOX' });
    expect(thrown(() => parseBoxParam(new URLSearchParams('box=1,2,,4')))).toMatchObject({ code: 'INVALID_BOX' });
    expect(thrown(() => parseBoxParam(new URLSearchParams('box=1,2,0,4'))).message).toBe('box must have a positive size, got 0x4');
    expect(thrown(() => parseBoxParam(new URLSearchParams(''))).message).toMatch(/box=x,y,width,height/);
  });

  it('checks policy specs and session requests field by field', () => {
    expect(parsePolicySpec({ type: 'threshold' })).toEqual({ type: 'threshold' });
    expect(parsePolicySpec({ type: 'allOf', policies: [{ type: 'fixedDepth', exit: 1 }, { type: 'temporalConsistency', minIoU: 0.5 }] })).toEqual({
      type: 'allOf',
      policies: [{ type: 'fixedDepth', exit: 1 }, { type: 'temporalConsistency', minIoU: 0.5 }],
    });
    expect(thrown(() => parsePolicySpec({ type: 'nope' }))).toMatchObject({ code: 'UNKNOWN_POLICY' });
    expect(thrown(() => parsePolicySpec({ type: 'fixedDepth', exit: -1 })).message).toBe('policy.exit must be a non-negative integer, got -1');
    expect(thrown(() => parsePolicySpec({ type: 'threshold', thresholds: [0.5], extra: 1 })).message).toMatch(/unknown field "extra"/);
    expect(thrown(() => parsePolicySpec({ type: 'anyOf', policies: [{ type: 'confidence' }] })).message).toMatch(/policy.policies\[0\].threshold/);
    expect(thrown(() => parsePolicySpec({ type: 'latencyBudget' })).message).toMatch(/targetMs is required/);
    let deep: unknown = { type: 'threshold' };
    for (let i = 0; i < 6; i++) deep = { type: 'anyOf', policies: [deep] };
    expect(thrown(() => parsePolicySpec(deep)).message).toMatch(/nest at most 4/);
    expect(parseCreateSessionRequest({ model: 'm', lostThreshold: 0.3 })).toEqual({ model: 'm', lostThreshold: 0.3 });
    expect(thrown(() => parseCreateSessionRequest({ lostThreshold: 3 })).message).toMatch(/lostThreshold must be a number in \[0, 1\]/);
    expect(thrown(() => parseCreateSessionRequest({ modle: 'm' })).message).toMatch(/unknown field "modle"/);
  });

  it('parses stream control messages', () => {
    expect(parseStreamControl('{"type":"init","box":{"x":1,"y":2,"width":3,"height":4}}')).toEqual({ type: 'init', box: { x: 1, y: 2, width: 3, height: 4 } });
    expect(parseStreamControl('{"type":"raw-format","width":8,"height":6}')).toEqual({ type: 'raw-format', width: 8, height: 6, format: 'rgb' });
    expect(thrown(() => parseStreamControl('{"type":"init","box":{"x":1}}')).message).toBe('box.y must be a finite number, got undefined');
    expect(thrown(() => parseStreamControl('{"type":"frame"}')).message).toMatch(/unknown message type "frame"/);
    expect(thrown(() => parseStreamControl('nope'))).toMatchObject({ code: 'INVALID_JSON' });
  });
});

describe('frame decoding', () => {
  const frame = gradient(40, 30);

  it('decodes JPEG, PNG and raw frames to the sizes they declare', () => {
    const jpeg = decodeFrame(encodeJpeg(frame, 95), { kind: 'jpeg' }, LIMITS);
    expect([jpeg.width, jpeg.height, jpeg.format, jpeg.data.length]).toEqual([40, 30, 'rgb', 3600]);
    const png = decodeFrame(encodePng(frame), { kind: 'png' }, LIMITS);
    expect([png.width, png.height, png.format]).toEqual([40, 30, 'rgba']);
    // PNG is lossless: RGBA holds the exact pixels.
    expect(png.data[4 * 7 + 1]).toBe(frame.data[3 * 7 + 1]);
    const raw = decodeFrame(frame.data, { kind: 'raw', width: 40, height: 30, format: 'rgb' }, LIMITS);
    expect(raw.data).toBe(frame.data);
  });

  it('sniffs image signatures', () => {
    expect(sniffImageType(encodeJpeg(frame))).toBe('jpeg');
    expect(sniffImageType(encodePng(frame))).toBe('png');
    expect(sniffImageType(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
  });

  it('refuses frames over the limits from the header alone', () => {
    const jpeg = encodeJpeg(gradient(600, 20));
    expect(thrown(() => decodeFrame(jpeg, { kind: 'jpeg' }, LIMITS))).toMatchObject({ status: 413, code: 'FRAME_TOO_LARGE', message: expect.stringMatching(/600x20/) });
    const png = encodePng(gradient(400, 400));
    expect(thrown(() => decodeFrame(png, { kind: 'png' }, LIMITS)).message).toMatch(/400x400.*153600 pixels in all/);
    expect(thrown(() => checkFrameSize(0, 10, LIMITS))).toMatchObject({ status: 400 });
  });

  it('refuses corrupt, truncated and mislabelled images with 400 INVALID_FRAME', () => {
    const jpeg = encodeJpeg(frame);
    expect(thrown(() => decodeFrame(jpeg.subarray(0, 20), { kind: 'jpeg' }, LIMITS)).message).toMatch(/corrupt JPEG/);
    expect(thrown(() => decodeFrame(jpeg.subarray(0, jpeg.length - 200), { kind: 'jpeg' }, LIMITS))).toMatchObject({ status: 400, code: 'INVALID_FRAME' });
    expect(thrown(() => decodeFrame(encodePng(frame), { kind: 'jpeg' }, LIMITS)).message).toMatch(/JPEG signature/);
    const png = encodePng(frame);
    expect(thrown(() => decodeFrame(png.subarray(0, png.length - 30), { kind: 'png' }, LIMITS)).message).toMatch(/corrupt PNG/);
    expect(thrown(() => decodeFrame(new Uint8Array(0), { kind: 'png' }, LIMITS)).message).toMatch(/empty/);
    expect(thrown(() => decodeFrame(new Uint8Array(10), { kind: 'raw', width: 2, height: 2, format: 'rgba' }, LIMITS)).message).toBe('raw rgba frame of 2x2 needs 16 bytes, got 10');
  });
});

describe('errors, limits and metrics', () => {
  it('maps DyTrack errors to statuses without leaking internals', () => {
    expect(toHttpError(new InvalidFrameError('bad'))).toMatchObject({ status: 400, code: 'INVALID_FRAME', message: 'bad' });
    expect(toHttpError(new InvalidStateError('no init'))).toMatchObject({ status: 409, code: 'SESSION_NOT_INITIALIZED' });
    expect(toHttpError(new Error('secret path /etc'))).toMatchObject({ status: 500, code: 'INTERNAL', message: 'internal server error' });
  });

  it('fills limits and refuses bad ones', () => {
    expect(resolveLimits({ maxSessions: 3 }).maxSessions).toBe(3);
    expect(resolveLimits(undefined).maxInFlightPerSession).toBe(2);
    expect(() => resolveLimits({ maxSessions: 0 })).toThrow(/limits.maxSessions must be a positive integer, got 0/);
  });

  it('renders Prometheus histograms with cumulative buckets', () => {
    const h = new Histogram('x_seconds', 'help', [0.1, 1]);
    h.observe(0.05);
    h.observe(0.5);
    h.observe(5);
    const out: string[] = [];
    h.render(out);
    expect(out).toEqual([
      '# HELP x_seconds help',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{le="0.1"} 1',
      'x_seconds_bucket{le="1"} 2',
      'x_seconds_bucket{le="+Inf"} 3',
      'x_seconds_sum 5.55',
      'x_seconds_count 3',
    ]);
    const m = new ServerMetrics({ sessions: () => 2, inFlight: () => 1, websockets: () => 0 });
    m.httpRequests.inc({ route: 'a"b', status: '200' });
    const text = m.render();
    expect(text).toMatch(/^dytrack_sessions_active 2$/m);
    expect(text).toMatch(/^dytrack_http_requests_total\{route="a\\"b",status="200"\} 1$/m);
    expect(text.endsWith('\n')).toBe(true);
  });
});
