// The pod-gateway client provisioner: a Knative Function run by faas-js-runtime.
// A `pending` CloudEvent in; a client pod created; a `done` or `failed` CloudEvent back.
import { CloudEvent } from 'cloudevents';
import type { Context, StructuredReturn } from 'faas-js-runtime';
import type { ReplyCorrelation } from './src/config/config.ts';
import { guardNextServer, stopAccepting } from './src/edge/http-guard.ts';
import { chooseListenAddress } from './src/edge/listen-address.ts';
import { asResponse, badRequest, unavailable } from './src/edge/responses.ts';
import {
  adjustRuntime,
  CONTEXT_FIELDS,
  runtimeValidationProblem,
} from './src/edge/runtime-patches.ts';
import { hookRuntimeServer, markHandled } from './src/edge/server-hooks.ts';
import { correlated, correlationProblem } from './src/events/correlation.ts';
import {
  envelopeProblem,
  eventAttributesProblem,
  isIncomingEvent,
  notAnEventMessage,
} from './src/events/envelope.ts';
import { type IncomingEvent, PENDING_TYPE } from './src/events/pending-request.ts';
import { continuedBy } from './src/events/replies.ts';
import { SINK_RETRY_AFTER_SECONDS, sinkAccepted, sinkFailure } from './src/events/sink.ts';
import { headerAttributes } from './src/events/validation-errors.ts';
import { quoted } from './src/formats/bounded-text.ts';
import type { Headers } from './src/formats/headers.ts';
import { REASON } from './src/formats/reasons.ts';
import { handlePending } from './src/handlers/pending.ts';
import { handleRelease, RELEASE_TYPE } from './src/handlers/release.ts';
import { handleSweep, PING_TYPE, SWEEP_TYPE } from './src/handlers/sweep.ts';
import type { Handler } from './src/handlers/types.ts';
import { Drain } from './src/lifecycle/drain.ts';
import { type Provisioner, startOrExit } from './src/lifecycle/startup.ts';
import { finishRecord, type RequestRecord, startRecord } from './src/observability/event-log.ts';
import { boundNextLogBuffer } from './src/observability/log-buffer.ts';
import { labelRuntimeMetrics } from './src/observability/metric-labels.ts';
import { exposeMetrics } from './src/observability/metrics.ts';
import {
  endEventSpan,
  eventSpanStart,
  type TraceSpan,
  type Tracing,
} from './src/observability/tracing.ts';

/** The event types handled, and the module that handles each. */
const ROUTES: ReadonlyMap<string, Handler> = new Map([
  [PENDING_TYPE, handlePending],
  [RELEASE_TYPE, handleRelease],
  [SWEEP_TYPE, handleSweep],
  // The scheduled sweep: a Knative PingSource sends this type and no other (deploy/sweep.yaml).
  [PING_TYPE, handleSweep],
]);
const QUOTED_TYPES = [...ROUTES.keys()].map((name) => `"${name}"`);
/** For the 400 of any other type; made once, not per event. */
const HANDLED_TYPES = `${QUOTED_TYPES.slice(0, -1).join(', ')} or ${QUOTED_TYPES.at(-1)}`;
const ROUTED_TYPES: ReadonlySet<string> = new Set(ROUTES.keys());
/** Least time given to the spans' last export at shutdown, when the drain took the grace period. */
const TRACE_FLUSH_MIN_MS = 1000;

/** Made once by `init`, before the runtime takes requests. */
let provisioner: Provisioner | undefined;
const drain = new Drain();

/**
 * Called by faas-js-runtime before it listens: configuration and client, made once. On a bad
 * setting it prints every problem, one line each, and exits 1.
 */
export async function init(): Promise<void> {
  adjustRuntime();
  exposeMetrics();
  labelRuntimeMetrics();
  hookRuntimeServer();
  boundNextLogBuffer();
  provisioner = await startOrExit();
  guardNextServer({
    allowedOrigins: provisioner.config.allowedOrigins,
    runtimeBodyLimit: process.env.FUNC_BODY_LIMIT,
    tokens: provisioner.tokens,
    listenAddress: chooseListenAddress({
      listenHost: process.env.LISTEN_HOST,
      kubernetesServiceHost: process.env.KUBERNETES_SERVICE_HOST,
    }),
  });
}

/**
 * Called by faas-js-runtime on SIGTERM (and SIGINT), before it closes the server and exits:
 * new requests get 503, requests in flight get the grace period to finish, then a 503.
 * Connections stay open during the drain: a client that reconnected then could be reset when
 * the listening socket closes (src/edge/http-guard.ts `stopAccepting`).
 */
export async function shutdown(): Promise<void> {
  const started = Date.now();
  const graceMs = provisioner?.config.shutdownGraceMs ?? 0;
  await drain.drain(graceMs);
  await provisioner?.podWatch?.stop();
  // The spans of the last events are exported in what is left of the grace period.
  const flushMs = Math.max(TRACE_FLUSH_MIN_MS, graceMs - (Date.now() - started));
  // Refuse new connections, close the open ones after their next answer, let the last answers
  // leave before the runtime calls process.exit.
  await Promise.all([provisioner?.tracing?.shutdown(flushMs), stopAccepting()]);
}

export async function handle(context: Context): Promise<CloudEvent<unknown> | StructuredReturn> {
  const record = startRecord();
  markHandled(context);
  const span = provisioner?.tracing && startEventSpan(provisioner.tracing, context);
  try {
    return await handleEvent(context, record, span);
  } finally {
    // The runtime's logger is pino's: it takes an object with `msg` for a JSON line.
    finishRecord(context.log, record, provisioner?.config.allowedGateways);
    if (span) endEventSpan(span, record);
  }
}

/** The event's SERVER span, continuing the producer's trace. */
function startEventSpan(tracing: Tracing, context: Context): TraceSpan {
  return tracing.startEvent(eventSpanStart(context.cloudevent, context.headers, ROUTED_TYPES));
}

async function handleEvent(
  context: Context,
  record: RequestRecord,
  span: TraceSpan | undefined,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  const ready = provisioner;
  if (!ready) return unavailable(REASON.NotReady, 'the function is starting', 1, record);
  if (drain.draining) {
    return unavailable(REASON.ShuttingDown, 'the function is shutting down', 1, record);
  }
  return drain.track(
    () => respondOrSink(context, ready, record, span),
    () =>
      unavailable(
        REASON.ShuttingDown,
        'the function shut down before the event was handled',
        1,
        record,
      ),
  );
}

/** With K_SINK, the reply goes there and the producer gets 202 (or 503 if the sink would not take it). */
async function respondOrSink(
  context: Context,
  ready: Provisioner,
  record: RequestRecord,
  span: TraceSpan | undefined,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  const answer = await respond(context, ready, record, span);
  if (!(answer instanceof CloudEvent)) return answer;
  // Traced, the reply names the function's span as its parent: the next hop continues the trace.
  const reply = span ? continuedBy(answer, span.traceHeaders()) : answer;
  if (!ready.sink) return reply;
  const delivery = await ready.sink.send(reply, span);
  if (delivery.ok) return sinkAccepted();
  // The producer gets a 503 and delivers the event again: the reply is not lost.
  const { message, logMessage } = sinkFailure(delivery, answer.id);
  return unavailable(REASON.SinkUnavailable, message, SINK_RETRY_AFTER_SECONDS, record, logMessage);
}

async function respond(
  context: Context,
  ready: Provisioner,
  record: RequestRecord,
  span: TraceSpan | undefined,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  const deadline = Date.now() + ready.config.eventDeadlineMs;
  const { config, kube, podWatch } = ready;
  const names = config.replyCorrelation;
  const checked = span
    ? validateInSpan(span, context, record, names)
    : validate(context, record, names);
  if (!('handler' in checked)) return checked;
  const { event, handler } = checked;
  const answer = asResponse(
    await handler({ event, config, kube, podWatch, deadline, span }),
    record,
  );
  // Every reply, of every type, carries a RequestReply's correlation id back.
  return answer instanceof CloudEvent ? correlated(answer, event, names) : answer;
}

/** An event that passed every check, and the handler of its type. */
interface Routed {
  readonly event: IncomingEvent;
  readonly handler: Handler;
}

/** Every check of the event, once: its handler, or the 400 that answers it. */
function validate(
  context: Context,
  record: RequestRecord,
  names: ReplyCorrelation,
): Routed | StructuredReturn {
  // The runtime copies query parameters over the context's own fields: refuse those.
  const shadowing = CONTEXT_FIELDS.find((name) => Object.hasOwn(context.query ?? {}, name));
  if (shadowing) {
    return badRequest(`the query parameter "${shadowing}" is not accepted`, record);
  }
  const headers: Headers = context.headers;
  const event: unknown = context.cloudevent;
  if (!isIncomingEvent(event)) {
    Object.assign(record, headerAttributes(headers));
    return badRequest(notAnEventMessage(headers, context.body), record);
  }
  record.eventId = event.id;
  record.source = event.source;
  const refused = runtimeValidationProblem(event);
  if (refused) return badRequest(`not a valid CloudEvent: ${refused}`, record);
  const problem = envelopeProblem(headers, context.body);
  if (problem) return badRequest(`not a valid CloudEvent: ${problem}`, record);
  const handler = ROUTES.get(event.type);
  if (handler === undefined) return badRequest(unhandledTypeMessage(event.type), record);
  const invalid = eventAttributesProblem(event) ?? correlationProblem(event, names);
  if (invalid) return badRequest(invalid, record);
  return { event, handler };
}

function validateInSpan(
  parent: TraceSpan,
  context: Context,
  record: RequestRecord,
  names: ReplyCorrelation,
): Routed | StructuredReturn {
  const span = parent.child('validate', 'internal');
  const checked = validate(context, record, names);
  if (!('handler' in checked))
    span.fail({ type: REASON.BadRequest, message: record.message ?? 'not a valid event' });
  span.end();
  return checked;
}

function unhandledTypeMessage(type: string): string {
  return `event type ${quoted(type)} is not handled; expected ${HANDLED_TYPES}`;
}

/** Fastify's reply, as much of it as the health checks use. */
interface HealthReply {
  code(status: number): HealthReply;
  send(body: string): unknown;
}

export function readiness(_request: unknown, reply: HealthReply): unknown {
  if (!provisioner) return reply.code(503).send('not ready: no Kubernetes client');
  if (drain.draining) return reply.code(503).send('not ready: shutting down');
  return reply.send('OK');
}

export function liveness(_request: unknown, reply: HealthReply): unknown {
  return reply.send('OK');
}
