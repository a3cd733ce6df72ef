// One event through the function: admitted (started, not draining), checked once, routed to its
// handler, answered in the HTTP response or to K_SINK, logged and counted. Nothing here is made
// per process: the function's state comes in as `Running` (src/lifecycle/function.ts).

import { CloudEvent } from 'cloudevents';
import type { Context, StructuredReturn } from 'faas-js-runtime';
import type { ReplyCorrelation } from '../config/config.ts';
import { markHandled } from '../edge/plugin.ts';
import { asResponse, badRequest, unavailable } from '../edge/responses.ts';
import { CONTEXT_FIELDS, runtimeValidationProblem } from '../edge/runtime-patches.ts';
import { correlated, correlationProblem } from '../events/correlation.ts';
import {
  envelopeProblem,
  eventAttributesProblem,
  isIncomingEvent,
  notAnEventMessage,
} from '../events/envelope.ts';
import { RELEASE_TYPE, SWEEP_TYPE } from '../events/event-types.ts';
import { type IncomingEvent, PENDING_TYPE } from '../events/pending-request.ts';
import { continuedBy } from '../events/replies.ts';
import { SINK_RETRY_AFTER_SECONDS, sinkAccepted, sinkFailure } from '../events/sink.ts';
import { headerAttributes } from '../events/validation-errors.ts';
import { quoted } from '../formats/bounded-text.ts';
import type { Headers } from '../formats/headers.ts';
import { REASON } from '../formats/reasons.ts';
import { handlePending } from '../handlers/pending.ts';
import { handleRelease } from '../handlers/release.ts';
import { handleSweep, PING_TYPE, type SweepTurns } from '../handlers/sweep.ts';
import type { Handler } from '../handlers/types.ts';
import { finishRecord, type RequestRecord, startRecord } from '../observability/event-log.ts';
import { GatewayLabels } from '../observability/metrics.ts';
import type { PodEventRecorder } from '../observability/pod-events.ts';
import {
  endEventSpan,
  eventSpanStart,
  type TraceSpan,
  type Tracing,
} from '../observability/tracing.ts';
import type { Drain } from './drain.ts';
import type { Provisioner } from './startup.ts';

/** The function's state once `init` has made it: what start-up read, and what events share. */
export interface Running extends Provisioner {
  /** Kubernetes Events on the client pods, written in the background. */
  readonly podEvents: PodEventRecorder;
  /** One sweep at a time, none too soon after the last. */
  readonly sweeps: SweepTurns;
  /** The `gateway` label of the metrics: the names seen so far, when GATEWAYS lists none. */
  readonly gateways: GatewayLabels;
}

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
/** Labels for the events answered before `init` made the function's own (no gateway is listed). */
const GATEWAYS_BEFORE_START = new GatewayLabels(new Set());

/**
 * One event, from the runtime's context to its answer: `running` is the function's state once
 * `init` has made it (undefined before: 503 NotReady), `drain` its shutdown.
 */
export async function handleEvent(
  running: Running | undefined,
  drain: Drain,
  context: Context,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  const record = startRecord();
  markHandled(context);
  const span = running?.tracing && startEventSpan(running.tracing, context);
  try {
    return await admitted(running, drain, context, record, span);
  } finally {
    // The runtime's logger is pino's: it takes an object with `msg` for a JSON line.
    finishRecord(context.log, record, running?.gateways ?? GATEWAYS_BEFORE_START);
    if (span) endEventSpan(span, record);
  }
}

/** The event's SERVER span, continuing the producer's trace. */
function startEventSpan(tracing: Tracing, context: Context): TraceSpan {
  return tracing.startEvent(eventSpanStart(context.cloudevent, context.headers, ROUTED_TYPES));
}

async function admitted(
  ready: Running | undefined,
  drain: Drain,
  context: Context,
  record: RequestRecord,
  span: TraceSpan | undefined,
): Promise<CloudEvent<unknown> | StructuredReturn> {
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
  ready: Running,
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
  ready: Running,
  record: RequestRecord,
  span: TraceSpan | undefined,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  const deadline = Date.now() + ready.config.eventDeadlineMs;
  const { config, kube, podWatch, podEvents, sweeps } = ready;
  const names = config.replyCorrelation;
  const checked = span
    ? validateInSpan(span, context, record, names)
    : validate(context, record, names);
  if (!('handler' in checked)) return checked;
  const { event, handler } = checked;
  const answer = asResponse(
    await handler({
      event,
      config,
      kube,
      podWatch,
      deadline,
      span,
      podEvents,
      sweeps,
    }),
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
