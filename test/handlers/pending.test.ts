// End to end: CloudEvents over HTTP into the function run by faas-js-runtime, pods out through
// the real Kubernetes client to the API test server over HTTPS.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { ANNOTATIONS, podNameFor } from '../../src/pods/client-pod.ts';
import { POD_CREATES } from '../../testbed/kube-api-server/server.ts';
import { MODES, pendingEvent, post, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const NAMESPACE = 'client-system';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** Flipped by a test to take away the function's right to create pods. */
let denyCreate = false;
const h = useHarness(
  { CLIENT_NAMESPACE: NAMESPACE, API_TIMEOUT_MS: '400', EVENT_DEADLINE_MS: '2500' },
  {
    namespaces: ['default', NAMESPACE],
    user: `system:serviceaccount:${NAMESPACE}:client-provisioner`,
    authorize: (request) => !(denyCreate && request.verb === 'create'),
  },
);

beforeEach(() => {
  h.server.reset();
  denyCreate = false;
});

const apiCalls = () => h.server.coreRequests();

for (const mode of MODES) {
  describe(`a pending event in ${mode} mode`, () => {
    it('creates one client pod and replies done with its name and namespace', async () => {
      const event = pendingEvent(
        { gateway_name: 'foo', message: 'for the nightly job' },
        { traceparent: TRACEPARENT },
      );
      const reply = await sendEvent(h.fn.url, event, mode);

      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.event?.type, DONE_TYPE);
      const podName = podNameFor({
        eventId: event.id,
        eventSource: event.source,
      });
      assert.deepEqual(reply.event?.data, {
        pod_name: podName,
        namespace: NAMESPACE,
        gateway_name: 'foo',
        message: `pod ${podName} created in namespace ${NAMESPACE} for gateway foo`,
      });
      assert.equal(reply.event?.subject, podName);
      assert.equal(reply.event?.source, 'podgateway/eventing/client/provisioner');
      assert.equal(reply.event?.inresponseto, event.id);
      assert.equal(reply.event?.traceparent, TRACEPARENT);
      assert.notEqual(reply.event?.id, event.id);

      const pods = h.server.pods(NAMESPACE);
      assert.equal(pods.length, 1);
      const [pod] = pods;
      assert.equal(pod?.metadata?.name, podName);
      assert.ok(pod?.metadata?.uid, 'the server sets a uid');
      assert.equal(pod?.metadata?.labels?.setGateway, 'foo');
      assert.equal(pod?.metadata?.annotations?.setGateway, 'foo');
      assert.equal(pod?.metadata?.annotations?.[ANNOTATIONS.eventId], event.id);
      assert.equal(pod?.metadata?.annotations?.[ANNOTATIONS.message], 'for the nightly job');
      assert.deepEqual(
        pod?.spec?.containers?.map((c) => [c.name, c.image, c.command]),
        [['client', 'alpine/curl', ['sleep', 'infinity']]],
      );
    });

    it('creates no second pod when the event is delivered again, and replies done again', async () => {
      const event = pendingEvent({ gateway_name: 'bar' });
      const first = await sendEvent(h.fn.url, event, mode);
      const second = await sendEvent(h.fn.url, event, mode);

      assert.equal(first.event?.type, DONE_TYPE);
      assert.equal(second.event?.type, DONE_TYPE);
      assert.equal(second.event?.data?.pod_name, first.event?.data?.pod_name);
      assert.match(String(second.event?.data?.message), /already existed \(event redelivered\)/);
      assert.equal(h.server.pods(NAMESPACE).length, 1);
      assert.deepEqual(
        apiCalls().map((call) => [call.method, call.status]),
        [
          ['POST', 201],
          ['POST', 409],
          ['GET', 200],
        ],
      );
    });

    it('replies failed InvalidGatewayName, without calling the API, for a name that is not a label value', async () => {
      const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo,bar' }), mode);
      assert.equal(reply.status, 200);
      assert.equal(reply.event?.type, FAILED_TYPE);
      assert.equal(reply.event?.data?.reason, 'InvalidGatewayName');
      assert.equal(reply.event?.data?.gateway_name, 'foo,bar');
      assert.match(String(reply.event?.data?.message), /not a valid label value/);
      assert.deepEqual(apiCalls(), []);
    });

    it('rejects an event of another type with 400, naming the expected type', async () => {
      const reply = await sendEvent(
        h.fn.url,
        pendingEvent({ gateway_name: 'foo' }, { type: 'com.example.other' }),
        mode,
      );
      assert.equal(reply.status, 400);
      assert.match(reply.text, /expected \\"io.podgateway.client.pending\\"/);
      assert.deepEqual(apiCalls(), []);
    });

    it('rejects data that is not a JSON object with 400', async () => {
      const event = pendingEvent('not json at all', { datacontenttype: 'text/plain' });
      const reply = await sendEvent(h.fn.url, event, mode);
      assert.equal(reply.status, 400);
      assert.match(reply.text, /not JSON/);
      assert.deepEqual(apiCalls(), []);
    });
  });
}

describe('requests that are not valid CloudEvents', () => {
  it('answers 400 to a plain HTTP request', async () => {
    const reply = await post(
      h.fn.url,
      { 'content-type': 'application/json' },
      '{"gateway_name":"foo"}',
    );
    assert.equal(reply.status, 400);
    assert.match(reply.text, /expected a CloudEvent of type/);
  });

  it('answers 400, not 500, to an event the runtime finds invalid (source not a URI-reference)', async () => {
    const headers = {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': '1',
      'ce-type': 'io.podgateway.client.pending',
      'ce-source': 'not a uri',
    };
    const reply = await post(h.fn.url, headers, '{"gateway_name":"foo"}');
    assert.equal(reply.status, 400, reply.text);
    assert.match(reply.text, /source.*uri-reference/);
  });

  it('answers 400 to a structured event whose body is not JSON', async () => {
    const reply = await post(
      h.fn.url,
      { 'content-type': 'application/cloudevents+json' },
      '{"specversion":"1.0",',
    );
    assert.equal(reply.status, 400);
    assert.match(reply.text, /the structured-mode body is not valid JSON/);
  });

  it('answers 400 naming the missing header of an incomplete binary event', async () => {
    const reply = await post(
      h.fn.url,
      { 'content-type': 'application/json', 'ce-type': 'x' },
      '{}',
    );
    assert.equal(reply.status, 400);
    assert.match(reply.text, /not a valid CloudEvent: ce-specversion is missing/);
  });

  it('keeps serving after bad requests', async () => {
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE);
  });
});

describe('Kubernetes API errors become failed replies with the API’s reason', () => {
  it('Forbidden: names the missing permission', async () => {
    denyCreate = true;
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, FAILED_TYPE);
    assert.equal(reply.event?.data?.reason, 'Forbidden');
    assert.match(
      String(reply.event?.data?.message),
      /cannot create resource "pods" in API group "" in the namespace "client-system"/,
    );
    assert.equal(h.server.pods(NAMESPACE).length, 0);
  });

  it('Invalid: lists the invalid fields', async () => {
    h.server.injectFault({
      method: 'POST',
      path: POD_CREATES,
      status: 422,
      message: 'Pod "x" is invalid: spec.containers[0].image: Required value',
    });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'structured');
    assert.equal(reply.event?.data?.reason, 'Invalid');
    assert.match(String(reply.event?.data?.message), /spec.containers\[0\].image: Required value/);
  });

  it('AlreadyExists: a pod of the same name made for another event is not claimed', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const name = podNameFor({
      eventId: event.id,
      eventSource: event.source,
    });
    h.server.addPod({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace: NAMESPACE,
        annotations: { [ANNOTATIONS.eventId]: 'someone-else' },
      },
      spec: { containers: [{ name: 'other', image: 'busybox' }] },
    });
    const reply = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(reply.event?.type, FAILED_TYPE);
    assert.equal(reply.event?.data?.reason, 'AlreadyExists');
    assert.match(String(reply.event?.data?.message), /not created for this event/);
  });

  it('a create that races with another delivery of the same event still replies done', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, race: true });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
  });

  it('Unauthorized: the API does not accept the credentials', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, status: 401 });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.data?.reason, 'Unauthorized');
  });
});

describe('faults of the Kubernetes API', () => {
  const postCalls = () => apiCalls().filter((call) => call.method === 'POST');

  for (const status of [500, 503, 504]) {
    it(`retries a ${status} and replies done`, async () => {
      h.server.injectFault({ method: 'POST', path: POD_CREATES, status, times: 2 });
      const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.deepEqual(
        postCalls().map((call) => call.status),
        [status, status, 201],
      );
      assert.equal(h.server.pods(NAMESPACE).length, 1);
    });
  }

  it('honours Retry-After on 429 before trying again', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.ok(Date.now() - started >= 1000, 'waited for Retry-After');
    assert.deepEqual(
      postCalls().map((call) => call.status),
      [429, 201],
    );
  });

  it('retries a dropped connection', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, drop: true });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
  });

  it('times out a slow answer, tries again, and finds the pod the slow attempt made', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, delayMs: 800 });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
  });

  for (const status of [400, 403, 404, 422]) {
    it(`does not retry a permanent ${status}`, async () => {
      h.server.injectFault({ method: 'POST', path: POD_CREATES, status, times: 5 });
      const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
      assert.equal(postCalls().length, 1);
    });
  }

  // kube-apiserver serves before it is ready: until its RBAC caches have synced after a start,
  // it refuses what the Role allows (kubernetes/kubernetes#121635).
  const RBAC_REFUSAL =
    'pods is forbidden: User "system:serviceaccount:default:provisioner" cannot create resource "pods" in API group "" in the namespace "client-system"';

  it('answers an RBAC Forbidden 503 while kube-apiserver is not ready: the redelivery makes the pod', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    h.server.injectFault({ method: 'POST', path: POD_CREATES, status: 403, message: RBAC_REFUSAL });
    h.server.injectFault({ method: 'GET', path: '/readyz', status: 500 });
    const reply = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(reply.status, 503, reply.text);
    assert.equal(reply.headers.get('retry-after'), '1');
    assert.match(reply.text, /"error":"ApiUnavailable".*not ready yet.*cannot create resource/);
    const again = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(again.event?.type, DONE_TYPE, again.text);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
  });

  it('answers an RBAC Forbidden failed once kube-apiserver is ready', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, status: 403, message: RBAC_REFUSAL });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'Forbidden');
  });

  it('answers 503 with Retry-After and no event when the API stays unavailable past the deadline', async () => {
    h.server.injectFault({ method: 'POST', path: POD_CREATES, status: 503, times: 1000 });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.status, 503);
    assert.equal(reply.event, undefined);
    assert.match(reply.headers.get('retry-after') ?? '', /^\d+$/);
    assert.match(reply.text, /"error":"ApiUnavailable".*answered HTTP 503 ServiceUnavailable/);
    assert.ok(postCalls().length > 1, 'retried before giving up');
  });

  it('a redelivery after a 503 creates the pod once and replies done', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    h.server.injectFault({ method: 'POST', path: POD_CREATES, status: 500, times: 1000 });
    assert.equal((await sendEvent(h.fn.url, event, 'binary')).status, 503);
    h.server.reset();
    const again = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(again.event?.type, DONE_TYPE);
    assert.equal(h.server.pods(NAMESPACE).length, 1);
  });
});

describe('health', () => {
  it('is live and ready once the client is made', async () => {
    assert.equal((await fetch(`${h.fn.url}/health/liveness`)).status, 200);
    assert.equal((await fetch(`${h.fn.url}/health/readiness`)).status, 200);
  });
});
