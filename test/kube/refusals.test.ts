// End to end against the admission chain: CloudEvents into the built function, pod creates out
// to the API test server with the pod-gateway webhooks, Pod Security, quotas and the rest, as a
// real cluster runs them. A redelivered event whose pod exists may meet any admission answer
// before the store's 409: the function reads the pod back and answers done for it.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { podNameFor } from '../../src/pods/client-pod.ts';
import { POD_CREATES, podGatewayWebhook } from '../../testbed/kube-api-server/server.ts';
import { pendingEvent, type Reply, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const NAMESPACE = 'client-system';
const gateways = ['foo', 'bar'].map((gateway) =>
  podGatewayWebhook({
    gateway,
    gatewayDefault: false,
    gatewayLabelValue: gateway,
    gatewayAnnotationValue: gateway,
  }),
);
const [fooWebhook] = gateways;
const FOO = fooWebhook?.name ?? '';

let denyCreate = false;
const h = useHarness(
  { CLIENT_NAMESPACE: NAMESPACE, API_TIMEOUT_MS: '400', EVENT_DEADLINE_MS: '2500' },
  {
    namespaces: [
      'default',
      {
        name: NAMESPACE,
        labels: { 'routed-gateway': 'true', 'pod-security.kubernetes.io/enforce': 'privileged' },
      },
    ],
    webhooks: gateways,
    authorize: (request) => !(denyCreate && request.verb === 'create'),
  },
);

beforeEach(() => {
  h.server.reset();
  denyCreate = false;
});

const calls = () =>
  h.server.requests
    .filter((request) => request.path.startsWith('/api/'))
    .map((request) => [request.method, request.status]);

const send = (event = pendingEvent({ gateway_name: 'foo' })) =>
  sendEvent(h.fn.url, event, 'binary');

function assertUnavailable(reply: Reply, error: string, retryAfter: RegExp): void {
  assert.equal(reply.status, 503, reply.text);
  assert.equal(reply.event, undefined, 'no event: the Broker delivers it again');
  assert.match(reply.headers.get('retry-after') ?? '', retryAfter);
  assert.equal((JSON.parse(reply.text) as { error: string }).error, error);
}

function assertFailed(reply: Reply, reason: string, message: RegExp): void {
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.event?.type, FAILED_TYPE);
  assert.equal(reply.event?.data?.reason, reason);
  assert.match(String(reply.event?.data?.message), message);
}

describe('the routed pod', () => {
  it('is created through the gateway webhook, which adds its init container and sidecar', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const reply = await send(event);
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const name = podNameFor({ eventId: event.id, eventSource: event.source });
    const pod = h.server.pod(NAMESPACE, name);
    assert.deepEqual(
      pod?.spec?.initContainers?.map((c) => c.name),
      ['gateway-init'],
    );
    assert.deepEqual(
      pod?.spec?.containers.map((c) => c.name),
      ['client', 'gateway-sidecar'],
    );
  });
});

describe('a redelivered event whose pod exists, whatever admission answers', () => {
  it('under a full quota: 403 exceeded quota, the pod read back, done for the same pod', async () => {
    h.server.setResourceQuota(NAMESPACE, { name: 'pods', hard: { pods: '1' } });
    const event = pendingEvent({ gateway_name: 'foo' });
    const first = await send(event);
    const second = await send(event);
    assert.equal(first.event?.type, DONE_TYPE, first.text);
    assert.equal(second.event?.type, DONE_TYPE, second.text);
    assert.equal(second.event?.data?.pod_name, first.event?.data?.pod_name);
    assert.match(String(second.event?.data?.message), /already existed \(event redelivered\)/);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
    assert.deepEqual(calls(), [
      ['POST', 201],
      ['POST', 403],
      ['GET', 200],
    ]);
  });

  it('under a webhook that is down: 500, the pod read back, done for the same pod', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const first = await send(event);
    h.server.setWebhook(FOO, 'down');
    const second = await send(event);
    assert.equal(second.event?.type, DONE_TYPE, second.text);
    assert.equal(second.event?.data?.pod_name, first.event?.data?.pod_name);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
    assert.deepEqual(calls(), [
      ['POST', 201],
      ['POST', 500],
      ['GET', 200],
    ]);
  });

  it('whose create went through but the answer was lost: the pod read back, done, no second create', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, dropAfterHandling: true });
    const reply = await send();
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.match(String(reply.event?.data?.message), /already existed/);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
    assert.deepEqual(calls(), [
      ['POST', 0],
      ['GET', 200],
    ]);
  });

  it('that is being deleted: 503 with Retry-After and no event, whether the store or admission answers', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const first = await send(event);
    const name = String(first.event?.data?.pod_name);
    h.server.bindPod(NAMESPACE, name, 'node-1');
    h.server.beginPodDeletion(NAMESPACE, name, 20);
    const again = await send(event);
    assertUnavailable(again, 'PodTerminating', /^(19|20)$/);
    assert.match(again.text, /is being deleted/);
    // A full quota answers before the store: the pod read back is terminating all the same.
    h.server.setResourceQuota(NAMESPACE, { name: 'pods', hard: { pods: '1' } });
    assertUnavailable(await send(event), 'PodTerminating', /^\d+$/);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
  });
});

describe('admission refusals of a new pod', () => {
  it('Pod Security: failed PodSecurityViolation with the API’s message', async () => {
    h.server.labelNamespace(NAMESPACE, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    assertFailed(
      await send(),
      'PodSecurityViolation',
      /^pods ".*" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities/,
    );
    assert.equal(h.server.pods(NAMESPACE).length, 0);
  });

  it('a webhook denial: failed AdmissionDenied with the webhook’s message', async () => {
    h.server.setWebhook(FOO, { deny: { code: 403, message: 'gateway foo is closed' } });
    assertFailed(
      await send(),
      'AdmissionDenied',
      /^admission webhook "pod-gateway-foo\.gateway-system\.svc" denied the request: gateway foo is closed$/,
    );
  });

  it('a LimitRange: failed LimitRangeViolation', async () => {
    h.server.setLimitRange(NAMESPACE, { name: 'small', max: { memory: '32Mi' } });
    assertFailed(await send(), 'LimitRangeViolation', /maximum memory usage per Container is 32Mi/);
  });

  it('RBAC: failed Forbidden naming the missing permission', async () => {
    denyCreate = true;
    assertFailed(await send(), 'Forbidden', /cannot create resource "pods"/);
  });

  it('a quota that wants limits the gateway sidecar does not set: failed QuotaRejected', async () => {
    h.server.setResourceQuota(NAMESPACE, { name: 'cpu', hard: { 'limits.cpu': '4' } });
    assertFailed(
      await send(),
      'QuotaRejected',
      /failed quota: cpu: must specify limits\.cpu for: gateway-sidecar/,
    );
  });

  it('an exceeded quota: 503 QuotaExceeded, so the Broker delivers the event again', async () => {
    h.server.setResourceQuota(NAMESPACE, { name: 'pods', hard: { pods: '1' } });
    assert.equal((await send()).event?.type, DONE_TYPE);
    const event = pendingEvent({ gateway_name: 'bar' });
    const full = await send(event);
    assertUnavailable(full, 'QuotaExceeded', /^10$/);
    assert.match(
      full.text,
      /exceeded quota: pods, requested: pods=1, used: pods=1, limited: pods=1/,
    );
    // Room again: the redelivery makes the pod.
    h.server.setResourceQuota(NAMESPACE, { name: 'pods', hard: { pods: '2' } });
    assert.equal((await send(event)).event?.type, DONE_TYPE);
    assert.equal(h.server.pods(NAMESPACE).length, 2);
  });

  it('a service account not made yet: 503 ServiceAccountNotReady, then done once it exists', async () => {
    h.server.deleteServiceAccount(NAMESPACE, 'default');
    const event = pendingEvent({ gateway_name: 'foo' });
    const reply = await send(event);
    assertUnavailable(reply, 'ServiceAccountNotReady', /^2$/);
    assert.match(reply.text, /serviceaccount \\"default\\" not found/);
    h.server.addServiceAccount(NAMESPACE, 'default');
    assert.equal((await send(event)).event?.type, DONE_TYPE);
  });

  it('a namespace being deleted: 503 NamespaceTerminating', async () => {
    h.server.terminateNamespace(NAMESPACE);
    assertUnavailable(await send(), 'NamespaceTerminating', /^2$/);
  });

  it('a webhook down for a new pod: retried until the deadline, then 503 WebhookUnavailable', async () => {
    h.server.setWebhook(FOO, 'down');
    const reply = await send();
    assertUnavailable(reply, 'WebhookUnavailable', /^\d+$/);
    assert.match(reply.text, /failed calling webhook/);
    assert.ok(calls().filter(([method]) => method === 'POST').length > 1, 'retried');
  });
});

describe('API Priority and Fairness', () => {
  it('retries plain-text 429s after their Retry-After', async () => {
    h.server.injectFault({
      method: 'POST',
      path: POD_CREATES,
      status: 429,
      retryAfterSeconds: 1,
      times: 2,
    });
    const reply = await send();
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.deepEqual(calls(), [
      ['POST', 429],
      ['POST', 429],
      ['POST', 201],
    ]);
  });

  it('answers 503 with that Retry-After at once when it reaches past the deadline', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, status: 429, retryAfterSeconds: 30 });
    const reply = await send();
    assertUnavailable(reply, 'TooManyRequests', /^30$/);
    assert.match(reply.text, /Too many requests, please try again later/);
    // One attempt, and no read: an overloaded server made nothing.
    assert.deepEqual(calls(), [['POST', 429]]);
  });
});
