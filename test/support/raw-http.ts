// A bare HTTP/1.1 client over a TCP socket, for requests that fetch and node:http refuse to send:
// no content-type, duplicated headers, control characters in header values, any method, bodies
// on GET. One request per connection (`connection: close`), so the answer ends with the socket.
import assert from 'node:assert/strict';
import { connect } from 'node:net';

export interface RawRequest {
  readonly method: string;
  /** The request target, e.g. `/` or `/?log=1`. */
  readonly path: string;
  /** Header lines in order; a name may repeat. Values are sent as UTF-8 bytes. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Sent with a content-length header unless the headers frame it themselves. */
  readonly body: Buffer;
}

export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; repeated headers joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

export type RawOutcome =
  | { readonly kind: 'response'; readonly response: RawResponse }
  | { readonly kind: 'error'; readonly message: string };

/** Sends a request that must be answered: its answer, or a failure saying why there was none. */
export async function answerTo(origin: string, request: RawRequest): Promise<RawResponse> {
  const outcome = await sendRaw(origin, request);
  if (outcome.kind !== 'response') assert.fail(`no answer: ${outcome.message}`);
  return outcome.response;
}

/** Bodies larger than this are sent after a pause, once the server has seen the head. */
const EARLY_ANSWER_BODY = 64 * 1024;
const EARLY_ANSWER_WAIT_MS = 100;

/** Sends one request to `origin` (`http://127.0.0.1:PORT`) and reads the whole answer. */
export function sendRaw(
  origin: string,
  request: RawRequest,
  timeoutMs = 10_000,
): Promise<RawOutcome> {
  const url = new URL(origin);
  const head = requestHead(url.host, request);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: RawOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const fromReceived = (failure: string): RawOutcome => {
      const response = parseResponse(Buffer.concat(chunks), request.method === 'HEAD');
      return response === undefined
        ? { kind: 'error', message: failure }
        : { kind: 'response', response };
    };
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const timer = setTimeout(
      () => finish(fromReceived(`no complete answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('connect', () => {
      socket.write(head);
      if (request.body.length <= EARLY_ANSWER_BODY) {
        socket.write(request.body);
        return;
      }
      // A server refuses a body over its limit on the declared length, then closes: give it
      // the chance, since a write into the closed connection may lose that answer.
      setTimeout(() => {
        if (!settled) socket.write(request.body);
      }, EARLY_ANSWER_WAIT_MS);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // The server may answer before it has read the whole body (413, 431): stop sending then.
      const response = parseResponse(Buffer.concat(chunks), request.method === 'HEAD');
      if (response !== undefined) finish({ kind: 'response', response });
    });
    socket.on('end', () => finish(fromReceived('the connection closed without an answer')));
    socket.on('error', (error: Error) =>
      finish(fromReceived(`connection error: ${error.message}`)),
    );
  });
}

function requestHead(host: string, request: RawRequest): Buffer {
  const names = new Set(request.headers.map(([name]) => name.toLowerCase()));
  const lines = [`${request.method} ${request.path} HTTP/1.1`];
  if (!names.has('host')) lines.push(`host: ${host}`);
  lines.push('connection: close');
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  const framed = names.has('content-length') || names.has('transfer-encoding');
  if (!framed && request.body.length > 0) {
    lines.push(`content-length: ${request.body.length}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
}

/** A complete response in `data`, or undefined while more is to come; `bodiless` for HEAD. */
function parseResponse(data: Buffer, bodiless: boolean): RawResponse | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine = '', ...headerLines] = data.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) return undefined;
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = data.subarray(end + 4);
  const status = Number(match[1]);
  if (bodiless || status === 204 || status === 304)
    return { status, headers, body: Buffer.alloc(0) };
  const body = readBody(rest, headers);
  if (body === undefined) return undefined;
  return { status, headers, body };
}

function readBody(rest: Buffer, headers: Record<string, string>): Buffer | undefined {
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') return dechunk(rest);
  const length = headers['content-length'];
  if (length === undefined) return rest; // up to the end of the connection: no more is parsed
  const size = Number(length);
  return rest.length >= size ? rest.subarray(0, size) : undefined;
}

function dechunk(data: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) return undefined;
    if (size === 0) return Buffer.concat(parts);
    const start = lineEnd + 2;
    if (data.length < start + size + 2) return undefined;
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}
