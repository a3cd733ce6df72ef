// The spans of an event, as the handlers see them. Nothing here loads the OpenTelemetry SDK:
// when tracing is off there is no Tracing at all, and every traced step is one `undefined` check
// (src/observability/otel-sdk.ts is the implementation, imported at start only when tracing is on).
import type { Headers } from '../formats/headers.ts';
import { type RequestRecord, shown } from './event-log.ts';

export type SpanAttributes = Readonly<Record<string, string | number | boolean | undefined>>;

/** W3C Trace Context, as headers or as the CloudEvents distributed-tracing attributes. */
export interface TraceHeaders {
  readonly traceparent?: string;
  readonly tracestate?: string;
}

/** One span of an event's trace. */
export interface TraceSpan {
  readonly traceId: string;
  /**
   * Whether the span is sampled, so exported. A producer's traceparent chooses the trace id, and
   * with the parent-based samplers whether it is sampled: only a sampled trace id is worth
   * keeping on the pod (flags 00 would name a trace no collector ever receives).
   */
  readonly sampled: boolean;
  /** A child span: `client` for a request the function sends, `internal` for a step. */
  child(name: string, kind: 'client' | 'internal', attributes?: SpanAttributes): TraceSpan;
  setAttributes(attributes: SpanAttributes): void;
  /**
   * Status ERROR, and an exception event telling what happened: an Error, or `{ type, message }`
   * (type: a stable word such as the reason).
   */
  fail(problem: unknown): void;
  end(): void;
  /** This span as the parent of what follows: the reply's attributes, an outgoing request's headers. */
  traceHeaders(): TraceHeaders;
}

export interface EventSpanStart {
  readonly name: string;
  readonly attributes: SpanAttributes;
  /** The producer's trace context, continued when valid. */
  readonly parent: TraceHeaders;
}

export interface Tracing {
  /** The SERVER span of one event. */
  startEvent(start: EventSpanStart): TraceSpan;
  /** Exports what is left and stops, `timeoutMs` at most. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Attribute names: OpenTelemetry's semantic conventions, and the function's own. */
export const ATTRIBUTE = {
  eventId: 'cloudevents.event_id',
  eventSource: 'cloudevents.event_source',
  eventType: 'cloudevents.event_type',
  eventSpecVersion: 'cloudevents.event_spec_version',
  podName: 'k8s.pod.name',
  namespace: 'k8s.namespace.name',
  gateway: 'podgateway.gateway',
  outcome: 'podgateway.outcome',
  reason: 'podgateway.reason',
  waitFor: 'podgateway.wait_for',
  waitResult: 'podgateway.wait.result',
  method: 'http.request.method',
  statusCode: 'http.response.status_code',
  resendCount: 'http.request.resend_count',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlFull: 'url.full',
  urlTemplate: 'url.template',
  errorType: 'error.type',
} as const;

/** Outcomes that are not an error on the event's span. */
const DONE_OUTCOMES: ReadonlySet<string> = new Set(['created', 'existed', 'released', 'swept']);

/**
 * How the event's span starts, from what the runtime read: named after a handled type only (an
 * unknown type would make as many span names as producers invent), the CloudEvents attributes,
 * and the parent: the event's distributed-tracing attribute, else the HTTP `traceparent` header.
 */
export function eventSpanStart(
  event: unknown,
  headers: Headers,
  handledTypes: ReadonlySet<string>,
): EventSpanStart {
  const read = (name: string) => stringField(event, name);
  const type = read('type');
  const fromEvent = read('traceparent');
  const parent: TraceHeaders =
    fromEvent !== undefined
      ? withTracestate(fromEvent, read('tracestate'))
      : withTracestate(header(headers, 'traceparent'), header(headers, 'tracestate'));
  return {
    name: type !== undefined && handledTypes.has(type) ? `process ${type}` : 'process CloudEvent',
    // The span starts before the event is checked: its attributes are what was sent, bounded.
    attributes: {
      [ATTRIBUTE.eventId]: shown(read('id')),
      [ATTRIBUTE.eventSource]: shown(read('source')),
      [ATTRIBUTE.eventType]: shown(type),
      [ATTRIBUTE.eventSpecVersion]: shown(read('specversion')),
    },
    parent,
  };
}

function withTracestate(traceparent: string | undefined, tracestate: string | undefined) {
  if (traceparent === undefined) return {};
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate };
}

function stringField(value: unknown, name: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field: unknown = Reflect.get(value, name);
  return typeof field === 'string' ? field : undefined;
}

function header(headers: Headers, name: string): string | undefined {
  const field = headers[name];
  return typeof field === 'string' ? field : undefined;
}

/** What the event's record tells, as its span's attributes. */
export function recordAttributes(record: RequestRecord): SpanAttributes {
  return {
    [ATTRIBUTE.eventId]: shown(record.eventId),
    [ATTRIBUTE.eventSource]: shown(record.source),
    [ATTRIBUTE.gateway]: shown(record.gateway),
    [ATTRIBUTE.podName]: record.pod,
    [ATTRIBUTE.namespace]: record.namespace,
    [ATTRIBUTE.outcome]: record.outcome,
    [ATTRIBUTE.reason]: record.reason,
  };
}

/** Ends the event's span with what its record tells: an error unless the event was done. */
export function endEventSpan(span: TraceSpan, record: RequestRecord): void {
  span.setAttributes(recordAttributes(record));
  if (!DONE_OUTCOMES.has(record.outcome)) {
    span.fail({
      type: record.reason ?? record.outcome,
      message: record.message ?? record.outcome,
    });
  }
  span.end();
}

/**
 * `url.full` and the server's address for a span: no user, password or query string, and with
 * `hidePath`, no path either (K_SINK's may carry a token: `/hooks/<secret>`).
 */
export function urlAttributes(url: string, hidePath = false): SpanAttributes {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return {};
  }
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return {
    [ATTRIBUTE.urlFull]: `${parsed.origin}${shownPath(parsed.pathname, hidePath)}${parsed.search ? '?REDACTED' : ''}`,
    [ATTRIBUTE.serverAddress]: parsed.hostname,
    [ATTRIBUTE.serverPort]: port,
  };
}

function shownPath(path: string, hidePath: boolean): string {
  return hidePath && path !== '/' ? '/REDACTED' : path;
}
