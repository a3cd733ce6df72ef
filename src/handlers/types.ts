// What an event handler gets and gives back. index.ts picks the handler by the event's type;
// src/edge/responses.ts turns its answer into the HTTP response (the reply event, a 400, or a 503).
import type { CloudEvent } from 'cloudevents';
import type { ProvisionerConfig } from '../config/config.ts';
import type { IncomingEvent } from '../events/pending-request.ts';
import { reply } from '../events/replies.ts';
import { bounded, MAX_MESSAGE_LENGTH } from '../formats/bounded-text.ts';
import type { KubeClient } from '../kube/client.ts';
import type { PodWatch } from '../kube/pod-watch.ts';
import type { AnswerSummary } from '../observability/event-log.ts';
import type { TraceSpan } from '../observability/tracing.ts';

export interface HandlerInput {
  readonly event: IncomingEvent;
  readonly config: ProvisionerConfig;
  readonly kube: KubeClient;
  /** The shared watch on the function's own pods, when WAIT_FOR needs one. */
  readonly podWatch: PodWatch | undefined;
  /** Epoch milliseconds by which the answer must be given. */
  readonly deadline: number;
  /** The event's span when tracing is on: each step is a child of it. */
  readonly span: TraceSpan | undefined;
}

export type HandlerAnswer =
  /** A reply event: done or failed. */
  | {
      readonly kind: 'reply';
      readonly reply: CloudEvent<unknown>;
      /** For the log line and the metrics. */
      readonly summary: AnswerSummary;
    }
  /** HTTP 400: the event cannot be read; not retried. */
  | { readonly kind: 'rejected'; readonly message: string }
  /** HTTP 503: worth delivering again later. */
  | {
      readonly kind: 'unavailable';
      readonly reason: string;
      readonly message: string;
      readonly retryAfterSeconds: number;
      readonly gateway?: string | undefined;
    };

export type Handler = (input: HandlerInput) => Promise<HandlerAnswer>;

/** What went wrong, as an API failure or a handler's own check tells it. */
export interface Failure {
  readonly reason: string;
  readonly message: string;
  /** AnswerSummary in the log line after the message, never in the reply. */
  readonly logDetail?: string | undefined;
}

/** Whom a failed reply answers, and its type: each event type has its own `failed` type. */
export interface FailedReplyTo {
  /** The function's EVENT_SOURCE. */
  readonly source: string;
  readonly event: IncomingEvent;
  readonly type: string;
}

/**
 * The one final answer of every handler: the event type's `failed` reply, `reason` and `message`
 * first, then the type's own `fields`; recorded for the log as `failed`, with the pod and gateway
 * of `about`. The message is bounded: it may repeat the API server's or a kubelet's words, which
 * may repeat the request's.
 */
export function failed(
  to: FailedReplyTo,
  failure: Failure,
  fields: Readonly<Record<string, unknown>> = {},
  about: { readonly pod?: string | undefined; readonly gateway?: string | undefined } = {},
): HandlerAnswer {
  const message = bounded(failure.message, MAX_MESSAGE_LENGTH);
  const data = { reason: failure.reason, message, ...fields };
  return {
    kind: 'reply',
    reply: reply(to.source, to.event, to.type, data, undefined),
    summary: {
      outcome: 'failed',
      reason: failure.reason,
      message:
        failure.logDetail === undefined
          ? failure.message
          : `${failure.message} (${failure.logDetail})`,
      ...about,
    },
  };
}

/** No answer from the API before the deadline: a 503, so the event is delivered again. */
export function retryLater(
  failure: Failure & { readonly retryAfterSeconds: number | undefined },
  gateway?: string,
): HandlerAnswer {
  return {
    kind: 'unavailable',
    reason: failure.reason,
    message: failure.message,
    retryAfterSeconds: failure.retryAfterSeconds ?? 2,
    gateway,
  };
}
