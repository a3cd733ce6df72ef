// Graceful deletion of pods in the Kubernetes API test server, and its hooks for the simulated
// cluster.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../../testbed/eventually.ts';
import { apiError, clientFor, pod, serverFor, statusOf } from './test-support.ts';

describe('graceful deletion', () => {
  it('a pod on a node stays, with deletionTimestamp, until its grace period ends; a create of its name says so', async (t) => {
    const server = await serverFor(t);
    const { api } = await clientFor(server);
    await api.createNamespacedPod({ namespace: 'default', body: pod('going') });
    server.bindPod('default', 'going', 'node-1');
    const answered = await api.deleteNamespacedPod({
      name: 'going',
      namespace: 'default',
      gracePeriodSeconds: 1,
    });
    assert.match(String(answered.metadata?.deletionTimestamp?.toISOString()), /^\d{4}-/);
    assert.equal(answered.metadata?.deletionGracePeriodSeconds, 1);
    assert.ok(server.pod('default', 'going')?.metadata?.deletionTimestamp, 'still stored');
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('going') }),
    );
    assert.equal(error.code, 409);
    assert.equal(statusOf(error).message, 'object is being deleted: pods "going" already exists');
    await eventually('the pod to be gone', () => server.pod('default', 'going') === undefined, {
      intervalMs: 50,
    });
    await api.createNamespacedPod({ namespace: 'default', body: pod('going') });
  });

  it('a pod on no node goes at once', async (t) => {
    const server = await serverFor(t);
    const { api } = await clientFor(server);
    await api.createNamespacedPod({ namespace: 'default', body: pod('unbound') });
    await api.deleteNamespacedPod({ name: 'unbound', namespace: 'default' });
    assert.equal(server.pod('default', 'unbound'), undefined);
  });
});

describe('hooks for the simulated cluster', () => {
  it('keeps a creationTimestamp a test gives addPod, to date a pod back', async (t) => {
    const server = await serverFor(t);
    const stored = server.addPod({
      metadata: { name: 'old', creationTimestamp: '2020-01-02T03:04:05Z' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    assert.equal(stored.metadata?.creationTimestamp, '2020-01-02T03:04:05Z');
    const fresh = server.addPod({
      metadata: { name: 'new' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    assert.notEqual(fresh.metadata?.creationTimestamp, '2020-01-02T03:04:05Z');
  });
});
