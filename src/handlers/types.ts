// What an event handler gets and gives back. index.ts picks the handler by the event's type;
// src/edge/responses.ts turns its answer into the HTTP response (the reply event, a 400, or a 503).
import type { CloudEvent } from 'cloudevents';
import type { ProvisionerConfig } from '../config/config.ts';
import type { IncomingEvent } from '../events/pending-request.ts';
import type { KubeClient } from '../kube/client.ts';
import type { PodWatch } from '../kube/pod-watch.ts';
import type { Told } from '../observability/event-log.ts';
import type { PodEventRecorder } from '../observability/pod-events.ts';
import type { TraceSpan } from '../observability/tracing.ts';
import type { SweepTurns } from './sweep.ts';

export interface HandlerInput {
  readonly event: IncomingEvent;
  readonly config: ProvisionerConfig;
  readonly kube: KubeClient;
  /** The shared watch on the function's own pods, when WAIT_FOR needs one. */
  readonly pods: PodWatch | undefined;
  /** Epoch milliseconds by which the answer must be given. */
  readonly deadline: number;
  /** The event's span when tracing is on: each step is a child of it. */
  readonly span: TraceSpan | undefined;
  /** The function's Events on its pods, written in the background. */
  readonly podEvents: PodEventRecorder;
  /** The function's sweeps: one at a time, none too soon after the last. */
  readonly sweeps: SweepTurns;
}

export type HandlerAnswer =
  /** A reply event: done or failed. */
  | {
      readonly kind: 'reply';
      readonly reply: CloudEvent<unknown>;
      /** For the log line and the metrics. */
      readonly told: Told;
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
  /** Told in the log line after the message, never in the reply. */
  readonly logDetail?: string | undefined;
}

/** A final answer: the failed reply event, told to the log as `failed`. */
export function failedAnswer(
  reply: CloudEvent<unknown>,
  failure: Failure,
  about: { readonly pod?: string | undefined; readonly gateway?: string | undefined } = {},
): HandlerAnswer {
  return {
    kind: 'reply',
    reply,
    told: {
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
