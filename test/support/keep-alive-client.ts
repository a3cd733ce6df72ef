// A bare HTTP/1.1 keep-alive client over a TCP socket, for what fetch hides: on which
// connection each request went, whether it was the connection's first, and whether it ended in
// an answer, a reset, or a connection refused. One request at a time per connection; a new
// connection only after an answer with `connection: close` (or after the connection ends).
import { connect, type Socket } from 'node:net';

export type RequestOutcome =
  | { readonly kind: 'answer'; readonly status: number; readonly closes: boolean }
  /** The connection failed (e.g. ECONNRESET) or ended with the request unanswered. */
  | { readonly kind: 'lost'; readonly error: string };

export interface SentRequest {
  /** Which connection of the loop, from 1. */
  readonly connection: number;
  /** 0 for the connection's first request. */
  readonly onConnection: number;
  outcome: RequestOutcome | undefined;
}

export interface LoopRecord {
  readonly requests: SentRequest[];
  /** How each connect attempt ended: 'connected' or the error code (ECONNREFUSED, …). */
  readonly connects: string[];
}

/**
 * Sends `request()` one after another over keep-alive connections to `origin`, reconnecting
 * after each connection ends, until a connect fails or `stop()` says so. `record` fills as it goes.
 */
export async function keepAliveLoop(
  origin: string,
  request: () => Buffer,
  stop: () => boolean,
  record: LoopRecord,
): Promise<void> {
  for (let connection = 1; ; connection += 1) {
    const connected = await oneConnection(origin, connection, request, record);
    if (!connected || stop()) return;
  }
}

/** Resolves true when the connection was made (and has ended), false when the connect failed. */
function oneConnection(
  origin: string,
  connection: number,
  request: () => Buffer,
  record: LoopRecord,
): Promise<boolean> {
  const url = new URL(origin);
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: url.hostname, port: Number(url.port) });
    let connected = false;
    let received: Buffer = Buffer.alloc(0);
    let current: SentRequest | undefined;
    const sendNext = (): void => {
      current = {
        connection,
        onConnection: current ? current.onConnection + 1 : 0,
        outcome: undefined,
      };
      record.requests.push(current);
      socket.write(request());
    };
    const lose = (error: string): void => {
      if (current && current.outcome === undefined) current.outcome = { kind: 'lost', error };
    };
    socket.on('connect', () => {
      connected = true;
      record.connects.push('connected');
      sendNext();
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const answer = takeAnswer(received);
      if (answer === undefined || current === undefined) return;
      received = answer.rest;
      current.outcome = { kind: 'answer', status: answer.status, closes: answer.closes };
      if (answer.closes) socket.end();
      else sendNext();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) record.connects.push(error.code ?? error.message);
      lose(error.code ?? error.message);
    });
    socket.on('close', () => {
      lose('closed without an answer');
      resolve(connected);
    });
  });
}

interface Answer {
  readonly status: number;
  readonly closes: boolean;
  readonly rest: Buffer;
}

/** The first complete answer (framed by content-length) in `data`, or undefined. */
function takeAnswer(data: Buffer): Answer | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const head = data.subarray(0, end).toString('latin1');
  const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (data.length < end + 4 + length) return undefined;
  return {
    status: Number(head.slice(9, 12)),
    closes: /\r\nconnection: *close/i.test(head),
    rest: data.subarray(end + 4 + length),
  };
}
