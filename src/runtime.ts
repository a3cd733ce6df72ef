// An adjustment to faas-js-runtime, which offers no hook for it.
import { createRequire } from 'node:module';

/**
 * faas-js-runtime validates an incoming CloudEvent before the handler runs, and a failed
 * validation (say a `source` that is not a URI-reference) reaches Fastify's error handler as a
 * plain error: HTTP 500, which Knative redelivers again and again, for an event that can never
 * become valid. Fastify answers with an error's `statusCode` when it has one, so giving the
 * runtime's own CloudEvents ValidationError a 400 turns those into the client errors they are
 * (not retried; dead-lettered). The runtime's copy is reached through its own resolution, since
 * it may be a different cloudevents version from ours.
 */
export function markCloudEventErrorsAsBadRequests(): void {
  const runtimeRequire = createRequire(import.meta.resolve('faas-js-runtime'));
  const { ValidationError } = runtimeRequire('cloudevents') as { ValidationError: ErrorClass };
  if (!Object.hasOwn(ValidationError.prototype, 'statusCode')) {
    Object.defineProperty(ValidationError.prototype, 'statusCode', {
      value: 400,
      enumerable: false,
    });
  }
}

interface ErrorClass {
  readonly prototype: object;
}
