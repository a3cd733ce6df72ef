// Helpers shared by the tests of the Kubernetes API test server (test/kube-api-server/*.test.ts).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import {
  type KubeApiServer,
  type KubeApiServerOptions,
  startKubeApiServer,
} from '../../testbed/kube-api-server/server.ts';
import type { Status } from '../../testbed/kube-api-server/status.ts';

export const SERVER_MODULE = fileURLToPath(
  new URL('../../testbed/kube-api-server/server.ts', import.meta.url),
);

// One scratch directory per test file (each file runs in its own process).
let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kube-api-test-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let dirCount = 0;
export function freshDir(): string {
  dirCount += 1;
  return join(scratch, String(dirCount));
}

export async function clientFor(
  server: KubeApiServer,
): Promise<{ kc: KubeConfig; api: CoreV1Api }> {
  const kc = new KubeConfig();
  kc.loadFromFile(await server.writeKubeconfig(freshDir()));
  return { kc, api: kc.makeApiClient(CoreV1Api) };
}

/** What serverFor needs of a test: a hook to close the server when the test ends. */
export type TestWithAfter = { after: (fn: () => Promise<void>) => void };

/** A server for one test, closed when the test ends. */
export async function serverFor(
  t: TestWithAfter,
  options?: KubeApiServerOptions,
): Promise<KubeApiServer> {
  const server = await startKubeApiServer(options);
  t.after(() => server.close());
  return server;
}

export function pod(name: string, extra: Partial<V1Pod> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'test' } },
    spec: { containers: [{ name: 'main', image: 'registry.example/tool:1.2' }] },
    ...extra,
  };
}

/** The rejection of a client call, as the ApiException it must be. */
export async function apiError(call: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ApiException, `expected an ApiException, got ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
}

export function statusOf(error: ApiException<unknown>): Status {
  assert.equal(typeof error.body, 'string', 'the Status arrives as the JSON text of the body');
  return JSON.parse(String(error.body)) as Status;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTPS request that trusts the server's CA: to see exactly what goes over the wire. */
export function raw(
  server: KubeApiServer,
  method: string,
  path: string,
  options: { body?: string; token?: string | null; contentType?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = options.token === undefined ? server.token : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined)
      headers['content-type'] = options.contentType ?? 'application/json';
    const req = request(
      `${server.url}${path}`,
      { method, headers, ca: server.caPem, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error('client timeout')));
    }
    req.end(options.body);
  });
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

export const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** The server most tests of 'kube API test server through the real client' share, with its client. */
export async function startSharedServer(): Promise<{
  server: KubeApiServer;
  kc: KubeConfig;
  api: CoreV1Api;
}> {
  const server = await startKubeApiServer({ namespaces: ['default', 'other'] });
  return { server, ...(await clientFor(server)) };
}

/** A CA of its own, which signed nothing of the server's. */
export { unrelatedCaPem as selfSignedCa } from '../../testbed/tls.ts';
