// Injected faults of the Kubernetes API test server (API Priority and Fairness 429s, 503s, dropped
// connections, delays, races), through the real client.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { ApiException, type CoreV1Api } from '@kubernetes/client-node';
import type { KubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { apiError, pod, raw, startSharedServer, statusOf } from './test-support.ts';

describe('kube API test server through the real client', () => {
  let server: KubeApiServer;
  let api: CoreV1Api;

  before(async () => {
    ({ server, api } = await startSharedServer());
  });
  after(() => server.close());
  afterEach(() => server.reset());

  it('injects API Priority and Fairness 429s: plain text with Retry-After, seen on the wire and on the ApiException', async () => {
    server.injectFault({
      method: 'GET',
      path: /\/pods$/,
      status: 429,
      retryAfterSeconds: 3,
      times: 2,
    });
    const response = await raw(server, 'GET', '/api/v1/namespaces/default/pods');
    assert.equal(response.status, 429);
    assert.equal(response.headers['retry-after'], '3');
    // API Priority and Fairness answers in plain text, not with a Status.
    assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(response.body, 'Too many requests, please try again later.\n');
    const error = await apiError(api.listNamespacedPod({ namespace: 'default' }));
    assert.equal(error.code, 429);
    assert.equal(error.headers['retry-after'], '3');
    // used up: the next request is served
    assert.equal((await api.listNamespacedPod({ namespace: 'default' })).items.length, 0);
    assert.deepEqual(server.faults, []);
  });

  it('injects 503 ServiceUnavailable', async () => {
    server.injectFault({ method: 'POST', status: 503 });
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('later') }),
    );
    assert.equal(error.code, 503);
    assert.equal(statusOf(error).reason, 'ServiceUnavailable');
    assert.equal(server.pods().length, 0);
  });

  it('drops the connection: the client sees a network error, not an ApiException', async () => {
    server.injectFault({ method: 'POST', drop: true });
    await assert.rejects(
      api.createNamespacedPod({ namespace: 'default', body: pod('dropped') }),
      (error: unknown) => error instanceof Error && !(error instanceof ApiException),
    );
    assert.equal(server.requests[0]?.status, 0);
    assert.equal(server.pods().length, 0);
    // the client does not retry by itself
    assert.equal(server.requests.length, 1);
  });

  it('drops the connection after handling: the pod is stored, the client sees a network error', async () => {
    server.injectFault({ method: 'POST', dropAfterHandling: true });
    await assert.rejects(
      api.createNamespacedPod({ namespace: 'default', body: pod('stored-then-dropped') }),
      (error: unknown) => error instanceof Error && !(error instanceof ApiException),
    );
    assert.equal(server.requests[0]?.status, 0);
    assert.ok(server.pod('default', 'stored-then-dropped'));
  });

  it('delays, then answers normally; a client that gave up does not upset the server', async () => {
    server.injectFault({ path: '/api/v1/namespaces/default/pods/slow', delayMs: 100, times: 2 });
    await api.createNamespacedPod({ namespace: 'default', body: pod('slow') });
    const started = Date.now();
    await api.readNamespacedPod({ name: 'slow', namespace: 'default' });
    assert.ok(Date.now() - started >= 90);
    await assert.rejects(
      raw(server, 'GET', '/api/v1/namespaces/default/pods/slow', { timeoutMs: 20 }),
      /client timeout/,
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    const read = await api.readNamespacedPod({ name: 'slow', namespace: 'default' });
    assert.equal(read.metadata?.name, 'slow');
  });

  it('race: stores the pod as another writer would, then answers 409', async () => {
    server.injectFault({ method: 'POST', race: true });
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('raced') }),
    );
    assert.equal(error.code, 409);
    assert.equal(statusOf(error).reason, 'AlreadyExists');
    const stored = await api.readNamespacedPod({ name: 'raced', namespace: 'default' });
    assert.equal(stored.status?.phase, 'Pending');
  });
});
