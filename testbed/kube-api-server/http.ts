// The HTTP side of the API test server: replies (a JSON body, a Status, or plain text), reading
// request bodies, and the discovery documents of the core group.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
/** An answer: a JSON body, or plain text (health endpoints, API Priority and Fairness). */
import { CLUSTER_READ_RESOURCES } from './cluster-reads.ts';
import type { Status } from './status.ts';

export interface Reply {
  readonly code: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

export function jsonReply(code: number, body: unknown): Reply {
  return { code, body };
}

export function statusReply(status: Status, headers?: Record<string, string>): Reply {
  return headers === undefined
    ? { code: status.code, body: status }
    : { code: status.code, body: status, headers };
}

/** Go's http.Error: text/plain, the message and a newline, and nosniff. */
export function textReply(code: number, text: string, headers?: Record<string, string>): Reply {
  return { code, text, headers: { 'x-content-type-options': 'nosniff', ...headers } };
}

/** Writes the reply unless the response is already gone; returns the status sent, or 0. */
export function sendReply(res: ServerResponse, reply: Reply): number {
  if (res.headersSent || res.destroyed) return 0;
  const text = reply.text ?? JSON.stringify(reply.body);
  res.writeHead(reply.code, {
    'content-type': reply.text === undefined ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-cache, private',
    'audit-id': randomUUID(),
    ...reply.headers,
  });
  res.end(text);
  return reply.code;
}

export async function readBody(
  req: IncomingMessage,
  limit: number,
): Promise<Buffer | 'too large' | 'aborted'> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buffer.length;
      if (size > limit) return 'too large';
      chunks.push(buffer);
    }
  } catch {
    return 'aborted';
  }
  return Buffer.concat(chunks);
}

export const VERSION_INFO = {
  major: '1',
  minor: '34',
  gitVersion: 'v1.34.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-08-27T00:00:00Z',
  goVersion: 'go1.24.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export const API_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'v1',
  resources: [
    {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'get', 'list', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
    },
    { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    ...CLUSTER_READ_RESOURCES,
  ],
};

/** The paths every client may read, signed in or not (the system:public-info-viewer role). */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set([
  '/healthz',
  '/livez',
  '/readyz',
  '/version',
]);

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function copy<T>(value: T): T {
  return structuredClone(value);
}
