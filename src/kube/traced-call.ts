// A Kubernetes API call traced: each attempt (src/kube/api-call.ts retries) is one HTTP client
// span under the event's span, with the HTTP semantic conventions. Used only when tracing is on.
import {
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import { ATTRIBUTE, type TraceSpan, urlAttributes } from '../observability/tracing.ts';
import { describeApiFailure } from './client.ts';

/** The request of a call: its method and its URL with the names left as placeholders. */
export interface ApiRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly template: string;
}

const PODS = '/api/v1/namespaces/{namespace}/pods';

export const POD_ROUTES = {
  create: { method: 'POST', template: PODS },
  get: { method: 'GET', template: `${PODS}/{name}` },
  delete: { method: 'DELETE', template: `${PODS}/{name}` },
  list: { method: 'GET', template: PODS },
} as const satisfies Record<string, ApiRoute>;

/** `call`, each of its attempts a client span of `parent` named `METHOD template`. */
export function tracedAttempts<T>(
  parent: TraceSpan,
  route: ApiRoute,
  call: (options: ConfigurationOptions) => Promise<T>,
): (options: ConfigurationOptions) => Promise<T> {
  let resends = 0;
  return async (options) => {
    const span = parent.child(`${route.method} ${route.template}`, 'client', {
      [ATTRIBUTE.method]: route.method,
      [ATTRIBUTE.urlTemplate]: route.template,
      [ATTRIBUTE.resendCount]: resends > 0 ? resends : undefined,
    });
    resends += 1;
    try {
      return await call(withSpanMiddleware(options, span));
    } catch (error) {
      const failure = describeApiFailure(error);
      span.fail({
        type: failure.code === undefined ? failure.reason : String(failure.code),
        message: failure.message,
      });
      throw error;
    } finally {
      span.end();
    }
  };
}

/** The request's URL and the answer's status, as the client library sees them, on the span. */
function withSpanMiddleware(options: ConfigurationOptions, span: TraceSpan): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      span.setAttributes(urlAttributes(context.getUrl()));
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => {
      span.setAttributes({ [ATTRIBUTE.statusCode]: response.httpStatusCode });
      return new Observable(Promise.resolve(response));
    },
  };
  return {
    ...options,
    middleware: [...(options.middleware ?? []), middleware],
    middlewareMergeStrategy: 'append',
  };
}
