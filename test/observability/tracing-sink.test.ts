// Tracing with replies to K_SINK and WAIT_FOR=scheduled: the wait and each K_SINK try are spans
// of the event, and the sink's request carries the trace in its headers and in the reply.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Scheduler, startScheduler } from '../../testbed/kube-api-server/scheduler.ts';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../../testbed/otlp-receiver.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';
import { type SinkServer, startSinkServer } from '../support/sink-server.ts';

const TRACE = '5bf92f3577b34da6a3ce929d0e0e4736';

let receiver: OtlpReceiver;
let sink: SinkServer;
let scheduler: Scheduler | undefined;
const env: Record<string, string> = {
  WAIT_FOR: 'scheduled',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '20',
};
before(async () => {
  receiver = await startOtlpReceiver();
  sink = await startSinkServer();
  env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  env.K_SINK = `${sink.url}/replies?token=secret`;
});
after(async () => {
  scheduler?.stop();
  await receiver?.close();
  await sink?.close();
});
const harness = useHarness(env);

describe('tracing with K_SINK and WAIT_FOR=scheduled', () => {
  it('the wait and each sink try are spans; the sink gets the trace', async () => {
    scheduler = startScheduler(harness.server, { bindAfterMs: 50 });
    // The first try fails: two client spans, the second a resend.
    sink.answerNext(503);
    const event = pendingEvent(
      { gateway_name: 'foo' },
      { traceparent: `00-${TRACE}-00f067aa0ba902b7-01` },
    );
    const answer = await sendEvent(harness.fn.url, event, 'binary');
    assert.equal(answer.status, 202, answer.text);

    const spans = await receiver.waitFor((all) =>
      all.some((span) => span.traceId === TRACE && span.kind === 'server'),
    );
    const ours = spans.filter((span) => span.traceId === TRACE);
    const server = ours.find((span) => span.kind === 'server') as ReceivedSpan;
    const wait = ours.find((span) => span.name === 'wait for scheduled');
    assert.equal(wait?.parentSpanId, server.spanId);
    assert.equal(wait?.attributes['podgateway.wait.result'], 'scheduled');
    const tries = ours.filter((span) => span.name === 'POST' && span.kind === 'client');
    assert.deepEqual(
      tries.map((span) => [
        span.attributes['http.response.status_code'],
        span.attributes['http.request.resend_count'],
        span.status.code,
      ]),
      [
        [503, undefined, 'error'],
        [202, 1, 'unset'],
      ],
    );
    assert.equal(tries[0]?.attributes['url.full'], `${sink.url}/replies?REDACTED`);

    const delivered = sink.received.at(-1);
    assert.equal(delivered?.headers.traceparent, `00-${TRACE}-${tries[1]?.spanId}-01`);
    assert.equal(delivered?.event?.traceparent, `00-${TRACE}-${server.spanId}-01`);
  });
});
