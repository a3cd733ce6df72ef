// The generated client over undici's request(): the same answers, errors, headers and timeouts
// as over the library's fetch().
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiException, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ApiCallError, callApi } from '../../src/kube/api-call.ts';
import { describeApiFailure } from '../../src/kube/client.ts';
import { PooledKubeConfig } from '../../src/kube/connections.ts';
import { makeApiClient } from '../../src/kube/transport.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';

let server: KubeApiServer;
let workDir: string;
let api: CoreV1Api;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-transport-'));
  server = await startKubeApiServer();
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromFile(await server.writeKubeconfig(workDir));
  api = makeApiClient(kubeConfig, CoreV1Api);
});

after(async () => {
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

beforeEach(() => server.reset());

const pod = (name: string): V1Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'x' } },
  spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '1'] }] },
});

describe('the dispatcher transport', () => {
  it('creates and reads pods, typed as the library types them', async () => {
    const created = await api.createNamespacedPod({ namespace: 'default', body: pod('t-1') });
    assert.equal(created.metadata?.name, 't-1');
    assert.ok(created.metadata?.creationTimestamp instanceof Date, 'deserialized, not raw JSON');
    const read = await api.readNamespacedPod({ name: 't-1', namespace: 'default' });
    assert.equal(read.metadata?.uid, created.metadata?.uid);
    assert.deepEqual(read.spec?.containers?.[0]?.command, ['sleep', '1']);
  });

  it('turns an error status into the library’s ApiException, with body and headers', async () => {
    server.injectFault({ method: 'GET', status: 429, retryAfterSeconds: 3 });
    const error = await api.readNamespacedPod({ name: 'none', namespace: 'default' }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ApiException);
    assert.equal(error.code, 429);
    const failure = describeApiFailure(error);
    assert.equal(failure.reason, 'TooManyRequests');
    assert.equal(failure.retryAfterSeconds, 3);

    const missing = await api
      .readNamespacedPod({ name: 'none', namespace: 'default' })
      .catch((caught: unknown) => caught);
    assert.equal(describeApiFailure(missing).reason, 'NotFound');
    assert.match(describeApiFailure(missing).message, /pods "none" not found/);
  });

  it('sends the library’s User-Agent and the bearer token', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: pod('t-2') });
    const [request] = server.requests.filter((r) => r.path.startsWith('/api/'));
    assert.match(request?.userAgent ?? '', /^kubernetes-client-javascript\/\d/);
    assert.equal(request?.status, 201, 'authenticated and authorized');
  });

  it('honours the per-call timeout that callApi sets as an abort signal', async () => {
    server.injectFault({ method: 'GET', delayMs: 3000, times: 10 });
    const error = await callApi(
      (options) => api.readNamespacedPod({ name: 'slow', namespace: 'default' }, options),
      { timeoutMs: 200, deadline: Date.now() + 300 },
    ).catch((caught: unknown) => caught);
    assert.ok(error instanceof ApiCallError);
    assert.equal(error.failure.reason, 'ApiUnavailable');
    // No answer: the slow one, 3 s later, would have been 404 NotFound.
    assert.equal(error.failure.code, undefined);
  });
});
