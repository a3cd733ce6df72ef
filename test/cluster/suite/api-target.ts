// One raw HTTPS client for both API servers of the differential check: the same request, a
// bearer token, the answer's status and JSON body, nothing interpreted on the way.
import { request } from 'node:https';

export interface ApiTarget {
  readonly name: string;
  readonly url: string;
  readonly caPem: string;
  readonly token: string;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export function callTarget(
  target: ApiTarget,
  method: string,
  path: string,
  body?: object,
  accept = 'application/json',
): Promise<ApiAnswer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {
    authorization: `Bearer ${target.token}`,
    accept,
    ...(payload === undefined
      ? {}
      : {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(payload)),
        }),
  };
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${target.url}${path}`,
      { method, headers, ca: target.caPem, timeout: 10_000, agent: false },
      (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString();
        });
        response.on('end', () => {
          try {
            const parsed = JSON.parse(text) as Record<string, unknown>;
            resolve({ status: response.statusCode ?? 0, body: parsed });
          } catch {
            reject(new Error(`${target.name} ${method} ${path}: not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`timeout: ${method} ${path}`)));
    outgoing.on('error', reject);
    outgoing.end(payload);
  });
}

export interface Difference {
  readonly path: string;
  readonly real: unknown;
  readonly model: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every leaf where the two values differ, by JSON path; arrays compared in order. */
export function differences(real: unknown, model: unknown, path = ''): Difference[] {
  if (Array.isArray(real) && Array.isArray(model)) {
    const length = Math.max(real.length, model.length);
    return Array.from({ length }, (_, index) =>
      differences(real[index], model[index], `${path}[${index}]`),
    ).flat();
  }
  if (isRecord(real) && isRecord(model)) {
    const keys = [...new Set([...Object.keys(real), ...Object.keys(model)])].sort();
    return keys.flatMap((key) => differences(real[key], model[key], `${path}.${key}`));
  }
  return JSON.stringify(real) === JSON.stringify(model) ? [] : [{ path, real, model }];
}

const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Values that differ by nature between two servers: uids, versions, times, the continue token. */
export function normalized(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(UID, '<uid>');
  if (Array.isArray(value)) return value.map(normalized);
  if (!isRecord(value)) return value;
  const volatile = new Set([
    'uid',
    'resourceVersion',
    'creationTimestamp',
    'managedFields',
    'continue',
    'lastTransitionTime',
    'startTime',
  ]);
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !volatile.has(key))
      .map(([key, inner]) => [key, normalized(inner)]),
  );
}
