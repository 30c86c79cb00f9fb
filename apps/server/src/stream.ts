import type { WebSocket } from 'ws';
import type { Box } from '@dytrack/core';
import { decodeFrame, sniffImageType, type FrameEncoding } from './frame-codec.js';
import { HttpError, toHttpError } from './http-error.js';
import type { ServerLimits } from './limits.js';
import type { Logger } from './logger.js';
import { parseStreamControl } from './parse.js';
import type { StreamServerMessage } from './protocol.js';
import { FrameCancelledError, type CloseReason, type TrackingSession } from './sessions.js';
import type { FrameRunner } from './server.js';

/** WebSocket close codes the server uses. */
export const CLOSE_CODES = { normal: 1000, goingAway: 1001 } as const;

/**
 * Serves one WebSocket stream of a session: text messages are controls
 * (`init`, `raw-format`), binary messages are frames, and every binary
 * message gets exactly one reply (`initialized`, `result` or `error`) with its
 * sequence number, in order. When the session has `maxInFlightPerSession`
 * frames in flight, the socket is paused (TCP backpressure reaches the
 * sender) until a result goes out.
 */
export function serveStream(options: {
  ws: WebSocket;
  session: TrackingSession;
  limits: ServerLimits;
  logger: Logger;
  runner: FrameRunner;
  onClose: () => void;
}): void {
  const { ws, session, limits, logger, runner } = options;
  let nextSeq = 0;
  let pendingInitBox: Box | undefined;
  let rawEncoding: FrameEncoding | undefined;
  let open = true;
  let paused = false;

  const send = (message: StreamServerMessage): void => {
    if (open && ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const sendError = (seq: number | null, error: unknown): void => {
    const e = toHttpError(error);
    send({ type: 'error', seq, error: { code: e.code, message: e.message } });
  };
  const updatePause = (): void => {
    if (!open) return;
    const full = session.inFlight >= limits.maxInFlightPerSession;
    if (full && !paused) {
      paused = true;
      ws.pause();
    } else if (!full && paused) {
      paused = false;
      ws.resume();
    }
  };
  const unsubscribe = session.onSlotFree(updatePause);

  const attachment = {
    onSessionClose(reason: CloseReason): void {
      const why = reason === 'expired' ? 'session expired' : reason === 'shutdown' ? 'server shutting down' : 'session closed';
      if (ws.readyState === ws.OPEN) ws.close(reason === 'closed' ? CLOSE_CODES.normal : CLOSE_CODES.goingAway, why);
    },
  };
  session.attachments.add(attachment);

  ws.on('message', (data, isBinary) => {
    session.touch();
    if (!isBinary) {
      try {
        const control = parseStreamControl(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
        if (control.type === 'init') pendingInitBox = control.box;
        else rawEncoding = { kind: 'raw', width: control.width, height: control.height, format: control.format ?? 'rgb' };
      } catch (error) {
        sendError(null, error);
      }
      return;
    }
    const seq = nextSeq++;
    const bytes = toUint8Array(data);
    const initBox = pendingInitBox;
    pendingInitBox = undefined;
    let frame;
    try {
      const type = sniffImageType(bytes);
      const encoding: FrameEncoding | undefined = type ? { kind: type } : rawEncoding;
      if (!encoding) {
        throw new HttpError(400, 'INVALID_FRAME', 'a binary message is neither JPEG nor PNG, and no raw-format message declared raw frames');
      }
      frame = decodeFrame(bytes, encoding, limits);
      session.acquire(true);
    } catch (error) {
      sendError(seq, error);
      return;
    }
    updatePause();
    const decoded = frame;
    const job = initBox ? runner.init(session, decoded, initBox, () => !open) : runner.update(session, decoded, () => !open);
    job.then(
      (result) => {
        if ('frameIndex' in result) send({ type: 'result', seq, result });
        else send({ type: 'initialized', seq, result });
      },
      (error: unknown) => {
        if (error instanceof FrameCancelledError) return;
        sendError(seq, error);
      },
    );
  });

  ws.on('close', () => {
    open = false;
    unsubscribe();
    session.attachments.delete(attachment);
    options.onClose();
  });
  ws.on('error', (error) => {
    logger.warn('websocket error', { session: session.id, error });
  });

  send({ type: 'ready', session: session.info() });
}

function toUint8Array(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}
