// What a Kubernetes API call reports of each of its attempts. kube/ declares it and knows no
// metric or trace: start-up plugs the Prometheus histogram in for every call (src/lifecycle/
// startup.ts), and a traced event its span for its own calls (src/observability/api-call-spans.ts),
// as controller-runtime plugs its metrics into client-go's request hooks.
import {
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { type ApiFailure, describeApiFailure } from './client.ts';

/** The request of a call: its verb, its method and its URL with the names left as placeholders. */
export interface ApiRoute {
  readonly verb: 'create' | 'get' | 'delete' | 'list';
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly template: string;
}

const PODS = '/api/v1/namespaces/{namespace}/pods';

export const POD_ROUTES = {
  create: { verb: 'create', method: 'POST', template: PODS },
  get: { verb: 'get', method: 'GET', template: `${PODS}/{name}` },
  delete: { verb: 'delete', method: 'DELETE', template: `${PODS}/{name}` },
  list: { verb: 'list', method: 'GET', template: PODS },
} as const satisfies Record<string, ApiRoute>;

/** One attempt, told as it goes: `ended` comes once, last. */
export interface AttemptObserver {
  /** The request's URL, as the client library sends it. */
  requested?(url: string): void;
  /** The answer's HTTP status. */
  answered?(status: number): void;
  /** The attempt's end: undefined when it succeeded, else why it failed. */
  ended(failure: ApiFailure | undefined): void;
}

export interface ApiCallObserver {
  /** An attempt of `route` starts; `resends` attempts of the same call came before it. */
  attempt(route: ApiRoute, resends: number): AttemptObserver;
}

/** `call` as is when nothing observes it, else each of its attempts told to every observer. */
export function observed<T>(
  observers: readonly (ApiCallObserver | undefined)[],
  route: ApiRoute,
  call: (options: ConfigurationOptions) => Promise<T>,
): (options: ConfigurationOptions) => Promise<T> {
  const present = observers.filter((observer) => observer !== undefined);
  if (present.length === 0) return call;
  let resends = 0;
  return async (options) => {
    const attempts = present.map((observer) => observer.attempt(route, resends));
    resends += 1;
    try {
      const result = await call(withObservingMiddleware(options, attempts));
      for (const attempt of attempts) attempt.ended(undefined);
      return result;
    } catch (error) {
      const failure = describeApiFailure(error);
      for (const attempt of attempts) attempt.ended(failure);
      throw error;
    }
  };
}

/** The request's URL and the answer's status, as the client library sees them, told. */
function withObservingMiddleware(
  options: ConfigurationOptions,
  attempts: readonly AttemptObserver[],
): ConfigurationOptions {
  // Only observers that read the request pay for a middleware (the metrics do not).
  if (!attempts.some(({ requested, answered }) => requested ?? answered)) return options;
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      for (const attempt of attempts) attempt.requested?.(context.getUrl());
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => {
      for (const attempt of attempts) attempt.answered?.(response.httpStatusCode);
      return new Observable(Promise.resolve(response));
    },
  };
  return {
    ...options,
    middleware: [...(options.middleware ?? []), middleware],
    middlewareMergeStrategy: 'append',
  };
}
