// What an event handler gets and gives back. index.ts picks the handler by the event's type and
// turns its answer into the HTTP response (the reply event, a 400, or a 503).
import type { CloudEvent } from 'cloudevents';
import type { ProvisionerConfig } from './config.ts';
import type { KubeClient } from './kube.ts';
import type { Outcome } from './observe.ts';
import type { PodWatch } from './pod-watch.ts';
import type { IncomingEvent } from './request.ts';

export interface HandlerInput {
  readonly event: IncomingEvent;
  readonly config: ProvisionerConfig;
  readonly kube: KubeClient;
  /** The shared watch on the function's own pods, when WAIT_FOR needs one. */
  readonly pods: PodWatch | undefined;
  /** Epoch milliseconds by which the answer must be given. */
  readonly deadline: number;
}

export type HandlerAnswer =
  /** A reply event: done or failed. */
  | {
      readonly kind: 'reply';
      readonly reply: CloudEvent<unknown>;
      readonly outcome: Outcome;
      readonly reason: string | undefined;
      readonly message: string | undefined;
      readonly pod: string | undefined;
    }
  /** HTTP 400: the event cannot be read; not retried. */
  | { readonly kind: 'rejected'; readonly message: string }
  /** HTTP 503: worth delivering again later. */
  | {
      readonly kind: 'unavailable';
      readonly reason: string;
      readonly message: string;
      readonly retryAfterSeconds: number;
    };

export type Handler = (input: HandlerInput) => Promise<HandlerAnswer>;
