// The reply: the `done` and `failed` events sent back for each `pending` event.
import { CloudEvent } from 'cloudevents';
import type { TraceHeaders } from '../observability/tracing.ts';
import type { IncomingEvent } from './pending-request.ts';
import { dataSchemaOf } from './schemas.ts';

// faas-js-runtime recognises a returned event by its constructor's name, `CloudEvent` (its own
// cloudevents is another copy, so instanceof cannot tell); bundled, the class may be renamed.
if (CloudEvent.name !== 'CloudEvent') {
  Object.defineProperty(CloudEvent, 'name', { value: 'CloudEvent' });
}

export const DONE_TYPE = 'io.podgateway.client.scheduling.done';
export const FAILED_TYPE = 'io.podgateway.client.scheduling.failed';

/** Extension attribute carrying the `id` of the event a reply answers. */
const IN_RESPONSE_TO = 'inresponseto';

export interface DoneData {
  readonly pod_name: string;
  readonly namespace: string;
  readonly gateway_name: string;
  readonly message: string;
  /** With WAIT_FOR=scheduled or ready: the node the scheduler placed the pod on. */
  readonly node_name?: string;
  /** With WAIT_FOR=ready: the pod's IP, and the time from the event's arrival to the pod ready. */
  readonly pod_ip?: string;
  readonly ready_after_ms?: number;
}

/** A pending event's failed reply: src/handlers/types.ts `failed` builds it. */
export interface FailedData {
  readonly message: string;
  /** A stable word for machines: InvalidGatewayName, UnknownGateway, Forbidden, Invalid, … */
  readonly reason: string;
  readonly gateway_name: string | undefined;
  /** The pod the failure is about, when one was made (WAIT_FOR failures, NotRouted). */
  readonly pod_name?: string;
  /** The data fields that were ignored, as in a done reply: a typo may be the cause. */
  readonly warnings?: readonly string[];
}

export function doneReply(
  source: string,
  trigger: IncomingEvent,
  data: DoneData,
): CloudEvent<DoneData> {
  return reply(source, trigger, DONE_TYPE, data, data.pod_name);
}

export function reply<T>(
  source: string,
  trigger: IncomingEvent,
  type: string,
  data: T,
  subject: string | undefined,
): CloudEvent<T> {
  // The constructor gives a fresh id and the current time.
  return new CloudEvent<T>({
    source,
    type,
    subject,
    datacontenttype: 'application/json',
    dataschema: dataSchemaOf(type),
    data,
    [IN_RESPONSE_TO]: percentEncoded(trigger.id),
    ...tracingOf(trigger),
  });
}

/**
 * W3C trace context (the CloudEvents distributed-tracing extension), carried over as it came:
 * tracing off, the reply continues the producer's trace where the producer left it.
 */
function tracingOf(trigger: IncomingEvent): Record<string, string> {
  const tracing: Record<string, string> = {};
  if (typeof trigger.traceparent === 'string') tracing.traceparent = trigger.traceparent;
  if (typeof trigger.tracestate === 'string') tracing.tracestate = trigger.tracestate;
  return tracing;
}

const NOTHING_TO_ENCODE = /^[\x21\x23\x24\x26-\x7e]*$/;

/**
 * The reply as a child of the function's span (tracing on): the Broker's next hop continues the
 * trace from the function, not from the producer.
 */
export function continuedBy<T>(reply: CloudEvent<T>, parent: TraceHeaders): CloudEvent<T> {
  if (parent.traceparent === undefined) return reply;
  const { traceparent: _producers, tracestate: _producersState, ...attributes } = reply;
  return new CloudEvent<T>({ ...attributes, ...parent });
}

/**
 * Replies travel in binary mode, their attributes as HTTP headers. The CloudEvents HTTP binding
 * asks for space, `"`, `%` and anything outside printable ASCII to be percent-encoded (UTF-8);
 * unencoded, such an id would make the reply fail (HTTP 500) on every delivery.
 */
export function percentEncoded(value: string): string {
  // Most ids need nothing: printable ASCII but for `"` and `%` is sent as it is.
  if (NOTHING_TO_ENCODE.test(value)) return value;
  let encoded = '';
  for (const byte of new TextEncoder().encode(value)) {
    const safe = byte > 0x20 && byte < 0x7f && byte !== 0x22 && byte !== 0x25;
    encoded += safe
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}
