// Tracing through the real interfaces: the function configured by the standard OTEL_* variables,
// an OTLP/HTTP receiver in this process, events sent with a producer's trace context.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { POD_CREATES } from '../../testbed/kube-api-server/server.ts';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../../testbed/otlp-receiver.ts';
import { pendingEvent, post, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const NAMESPACE = 'default';
const PRODUCER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN = '00f067aa0ba902b7';
const TRACE_ID_ANNOTATION = 'podgateway.io/trace-id';

let receiver: OtlpReceiver;
const env: Record<string, string> = {
  CLIENT_NAMESPACE: NAMESPACE,
  GATEWAYS: 'foo',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_SERVICE_NAME: 'provisioner-under-test',
  // Exported at once, not every 5 s.
  OTEL_BSP_SCHEDULE_DELAY: '20',
};
before(async () => {
  receiver = await startOtlpReceiver();
  env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
});
after(() => receiver?.close());
const harness = useHarness(env);

/** The spans of one trace, once its SERVER span (the last to end) is in. */
async function traceOf(traceId: string): Promise<ReceivedSpan[]> {
  const spans = await receiver.waitFor((all) =>
    all.some((span) => span.traceId === traceId && span.kind === 'server'),
  );
  return spans.filter((span) => span.traceId === traceId);
}

function serverSpan(spans: readonly ReceivedSpan[]): ReceivedSpan {
  const server = spans.filter((span) => span.kind === 'server');
  assert.equal(server.length, 1, 'one SERVER span per event');
  return server[0] as ReceivedSpan;
}

function traceparentOf(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  it('one event is one trace continuing the producer’s, with the steps as child spans', async () => {
    const event = pendingEvent(
      { gateway_name: 'foo' },
      { traceparent: traceparentOf(PRODUCER_TRACE, PRODUCER_SPAN), tracestate: 'vendor=1' },
    );
    const reply = await sendEvent(harness.fn.url, event, 'binary');
    assert.equal(reply.status, 200, reply.text);

    const spans = await traceOf(PRODUCER_TRACE);
    const server = serverSpan(spans);
    assert.equal(server.name, 'process io.podgateway.client.pending');
    assert.equal(server.parentSpanId, PRODUCER_SPAN);
    assert.equal(server.status.code, 'unset');
    const podName = String(reply.event?.data?.pod_name);
    assert.deepEqual(
      {
        id: server.attributes['cloudevents.event_id'],
        source: server.attributes['cloudevents.event_source'],
        type: server.attributes['cloudevents.event_type'],
        gateway: server.attributes['podgateway.gateway'],
        pod: server.attributes['k8s.pod.name'],
        namespace: server.attributes['k8s.namespace.name'],
        outcome: server.attributes['podgateway.outcome'],
      },
      {
        id: event.id,
        source: event.source,
        type: event.type,
        gateway: 'foo',
        pod: podName,
        namespace: NAMESPACE,
        outcome: 'created',
      },
    );
    assert.equal(server.resource['service.name'], 'provisioner-under-test');

    const children = spans.filter((span) => span.parentSpanId === server.spanId);
    assert.deepEqual(children.map((span) => span.name).sort(), [
      'POST /api/v1/namespaces/{namespace}/pods',
      'validate',
    ]);
    const create = children.find((span) => span.kind === 'client');
    assert.ok(create);
    const apiServer = new URL(harness.server.url);
    assert.deepEqual(
      {
        method: create.attributes['http.request.method'],
        status: create.attributes['http.response.status_code'],
        address: create.attributes['server.address'],
        port: create.attributes['server.port'],
        url: create.attributes['url.full'],
      },
      {
        method: 'POST',
        status: 201,
        address: apiServer.hostname,
        port: Number(apiServer.port),
        url: `${apiServer.origin}/api/v1/namespaces/${NAMESPACE}/pods`,
      },
    );

    // The reply continues the trace from the function's span, with the producer's tracestate.
    assert.equal(reply.event?.traceparent, traceparentOf(PRODUCER_TRACE, server.spanId));
    assert.equal(reply.event?.tracestate, 'vendor=1');
    const pod = harness.server.pod(NAMESPACE, podName);
    assert.equal(pod?.metadata?.annotations?.[TRACE_ID_ANNOTATION], PRODUCER_TRACE);
  });

  it('a producer’s unsampled traceparent (flags 00): no span exported, and no trace-id on the pod', async () => {
    const traceId = '5'.repeat(32);
    const event = pendingEvent(
      { gateway_name: 'foo' },
      { traceparent: `00-${traceId}-${PRODUCER_SPAN}-00` },
    );
    const reply = await sendEvent(harness.fn.url, event, 'binary');
    assert.equal(reply.event?.type, 'io.podgateway.client.scheduling.done', reply.text);
    const pod = harness.server.pod(NAMESPACE, String(reply.event?.data?.pod_name));
    assert.equal(pod?.metadata?.annotations?.[TRACE_ID_ANNOTATION], undefined);
    // A sampled event sent after it is exported; the unsampled one never is.
    const marker = '6'.repeat(32);
    const next = pendingEvent(
      { gateway_name: 'foo' },
      { traceparent: traceparentOf(marker, PRODUCER_SPAN) },
    );
    assert.equal((await sendEvent(harness.fn.url, next, 'binary')).status, 200);
    await traceOf(marker);
    assert.deepEqual(
      receiver.spans().filter((span) => span.traceId === traceId),
      [],
    );
  });

  it('continues the HTTP traceparent header when the event carries none', async () => {
    const traceId = 'a'.repeat(32);
    const event = pendingEvent({ gateway_name: 'foo' });
    const message = await sendWithHeader(event, traceparentOf(traceId, 'b'.repeat(16)));
    assert.equal(message.status, 200, message.text);
    const server = serverSpan(await traceOf(traceId));
    assert.equal(server.parentSpanId, 'b'.repeat(16));
    assert.equal(message.event?.traceparent, traceparentOf(traceId, server.spanId));
  });

  it('a redelivery under another trace finds the pod: the read-back is a span, the content the same', async () => {
    const first = pendingEvent(
      { gateway_name: 'foo' },
      { traceparent: traceparentOf('1'.repeat(32), PRODUCER_SPAN) },
    );
    const done = await sendEvent(harness.fn.url, first, 'binary');
    assert.equal(done.status, 200, done.text);
    const again = first.cloneWith({ traceparent: traceparentOf('2'.repeat(32), PRODUCER_SPAN) });
    const redelivered = await sendEvent(harness.fn.url, again, 'binary');
    assert.equal(redelivered.status, 200, redelivered.text);
    assert.equal(redelivered.event?.type, 'io.podgateway.client.scheduling.done', redelivered.text);

    const spans = await traceOf('2'.repeat(32));
    const server = serverSpan(spans);
    assert.equal(server.attributes['podgateway.outcome'], 'existed');
    const names = spans.filter((span) => span.kind === 'client').map((span) => span.name);
    assert.deepEqual(names, [
      'POST /api/v1/namespaces/{namespace}/pods',
      'GET /api/v1/namespaces/{namespace}/pods/{name}',
    ]);
    const conflict = spans.find((span) => span.name.startsWith('POST'));
    assert.equal(conflict?.attributes['http.response.status_code'], 409);
    // The pod keeps the trace of the delivery that made it.
    const pod = harness.server.pod(NAMESPACE, String(done.event?.data?.pod_name));
    assert.equal(pod?.metadata?.annotations?.[TRACE_ID_ANNOTATION], '1'.repeat(32));
  });

  it('a failed create is recorded: status ERROR and an exception event, on the call and the event', async () => {
    harness.server.injectFault({ method: 'POST', path: POD_CREATES, status: 403 });
    const traceId = 'c'.repeat(32);
    const event = pendingEvent(
      { gateway_name: 'foo' },
      { traceparent: traceparentOf(traceId, PRODUCER_SPAN) },
    );
    const reply = await sendEvent(harness.fn.url, event, 'binary');
    assert.equal(reply.event?.type, 'io.podgateway.client.scheduling.failed', reply.text);

    const spans = await traceOf(traceId);
    const server = serverSpan(spans);
    const create = spans.find((span) => span.name.startsWith('POST'));
    for (const span of [server, create]) {
      assert.equal(span?.status.code, 'error', span?.name);
      assert.equal(span?.events[0]?.name, 'exception', span?.name);
      assert.ok(span?.events[0]?.attributes['exception.message'], span?.name);
    }
    assert.equal(create?.attributes['http.response.status_code'], 403);
    assert.equal(create?.attributes['error.type'], '403');
    assert.equal(server.attributes['podgateway.outcome'], 'failed');
    assert.equal(server.attributes['error.type'], 'Forbidden');
  });

  it('a refused event has an error on its validate span, and no API call', async () => {
    const traceId = 'd'.repeat(32);
    const reply = await post(
      harness.fn.url,
      {
        'ce-specversion': '1.0',
        'ce-id': 'refused-1',
        'ce-source': '/tests/producer',
        'ce-type': 'io.podgateway.client.unknown',
        'ce-traceparent': traceparentOf(traceId, PRODUCER_SPAN),
        'content-type': 'application/json',
      },
      '{}',
    );
    assert.equal(reply.status, 400);
    const spans = await traceOf(traceId);
    const server = serverSpan(spans);
    assert.equal(server.name, 'process CloudEvent', 'an unknown type is not a span name');
    assert.deepEqual(
      spans.filter((span) => span !== server).map((span) => [span.name, span.status.code]),
      [['validate', 'error']],
    );
  });

  it('release: the read and the delete are client spans of the event', async () => {
    const made = await sendEvent(harness.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    const podName = String(made.event?.data?.pod_name);
    const traceId = 'e'.repeat(32);
    const release = pendingEvent(
      { pod_name: podName },
      { type: 'io.podgateway.client.release', traceparent: traceparentOf(traceId, PRODUCER_SPAN) },
    );
    const reply = await sendEvent(harness.fn.url, release, 'binary');
    assert.equal(reply.event?.type, 'io.podgateway.client.release.done', reply.text);
    const spans = await traceOf(traceId);
    assert.deepEqual(
      spans.filter((span) => span.kind === 'client').map((span) => span.name),
      [
        'GET /api/v1/namespaces/{namespace}/pods/{name}',
        'DELETE /api/v1/namespaces/{namespace}/pods/{name}',
      ],
    );
  });
});

async function sendWithHeader(
  event: ReturnType<typeof pendingEvent>,
  traceparent: string,
): Promise<Awaited<ReturnType<typeof post>>> {
  return post(
    harness.fn.url,
    {
      'ce-specversion': '1.0',
      'ce-id': event.id,
      'ce-source': event.source,
      'ce-type': event.type,
      'content-type': 'application/json',
      traceparent,
    },
    JSON.stringify(event.data),
  );
}
