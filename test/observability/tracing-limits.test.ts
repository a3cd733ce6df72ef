// Spans of hostile events (issue 25): the event's span starts before the event is checked, so
// what a producer sent reaches it; each value is bounded, and OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT
// bounds the rest.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../../testbed/otlp-receiver.ts';
import { post } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const TRACE = '6bf92f3577b34da6a3ce929d0e0e4736';
const LIMIT = 100;

let receiver: OtlpReceiver;
const env: Record<string, string> = {
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '20',
  OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: String(LIMIT),
};
before(async () => {
  receiver = await startOtlpReceiver();
  env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
});
after(() => receiver?.close());
const harness = useHarness(env);

describe('span attributes of an event with 20,000-character fields', () => {
  it('are cut with a marker, control characters escaped; the status message is held to the limit', async () => {
    // Three of them: the body stays under the 64 KiB limit.
    const big = 'x'.repeat(20_000);
    const reply = await post(
      harness.fn.url,
      {
        'content-type': 'application/cloudevents+json',
        traceparent: `00-${TRACE}-00f067aa0ba902b7-01`,
      },
      JSON.stringify({
        specversion: '1.0',
        id: `\u001b[2J${big}`,
        source: big,
        type: big,
        data: { gateway_name: 'foo' },
      }),
    );
    assert.equal(reply.status, 400, reply.text);
    const spans = await receiver.waitFor((all) =>
      all.some((span) => span.traceId === TRACE && span.kind === 'server'),
    );
    const server = spans.find((span) => span.traceId === TRACE && span.kind === 'server');
    assert.ok(server);
    for (const name of [
      'cloudevents.event_id',
      'cloudevents.event_source',
      'cloudevents.event_type',
    ]) {
      const value = String(server.attributes[name]);
      assert.ok(value.length <= LIMIT, `${name}: ${value.length} characters`);
    }
    assert.match(String(server.attributes['cloudevents.event_id']), /^<U\+001B>\[2Jx+$/);
    assertWithinLimit(server);
    const validate = spans.find((span) => span.traceId === TRACE && span.name === 'validate');
    assert.ok(validate);
    assertWithinLimit(validate);
  });
});

/** The status message (which the SDK does not cut) and the exception event's attributes. */
function assertWithinLimit(span: ReceivedSpan): void {
  assert.equal(span.status.code, 'error');
  assert.match(span.status.message, /^event type "x+…\[\+\d+ characters\]$/);
  assert.ok(span.status.message.length < LIMIT + 30, span.status.message);
  for (const event of span.events) {
    for (const value of Object.values(event.attributes)) {
      assert.ok(String(value).length <= LIMIT, `${event.name}: ${String(value).length}`);
    }
  }
}
