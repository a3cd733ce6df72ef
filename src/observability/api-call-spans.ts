// A traced event's Kubernetes API calls: each attempt (src/kube/api-call.ts retries) is one HTTP
// client span under the event's span, with the HTTP semantic conventions.
import type { ApiCallObserver } from '../kube/api-observer.ts';
import { ATTRIBUTE, type TraceSpan, urlAttributes } from './tracing.ts';

/** Each attempt a client span of `parent` named `METHOD template`. */
export function apiCallSpans(parent: TraceSpan): ApiCallObserver {
  return {
    attempt(route, resends) {
      const span = parent.child(`${route.method} ${route.template}`, 'client', {
        [ATTRIBUTE.method]: route.method,
        [ATTRIBUTE.urlTemplate]: route.template,
        [ATTRIBUTE.resendCount]: resends > 0 ? resends : undefined,
      });
      return {
        requested: (url) => span.setAttributes(urlAttributes(url)),
        answered: (status) => span.setAttributes({ [ATTRIBUTE.statusCode]: status }),
        ended(failure) {
          if (failure) {
            span.fail({
              type: failure.code === undefined ? failure.reason : String(failure.code),
              message: failure.message,
            });
          }
          span.end();
        },
      };
    },
  };
}
