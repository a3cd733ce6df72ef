// Adjustments to faas-js-runtime, which offers no hook for them. Both act on the runtime's own
// copy of the CloudEvents SDK, reached through its own resolution: it may be another version.
import { createRequire } from 'node:module';

interface RuntimeCloudEvents {
  readonly ValidationError: { readonly prototype: object };
  readonly HTTP: { isEvent: (message: { headers: Record<string, unknown> }) => boolean };
}

/** Names the runtime copies from the query string onto the context, over its own fields. */
export const CONTEXT_FIELDS = [
  'body',
  'cloudevent',
  'contentType',
  'headers',
  'httpVersion',
  'log',
  'method',
  'query',
  'rawBody',
] as const;

/**
 * - A CloudEvent that fails the runtime's validation (say a `source` that is not a
 *   URI-reference) reaches Fastify's error handler as a plain error: HTTP 500, which Knative
 *   redelivers again and again for an event that can never become valid. Fastify answers with
 *   an error's `statusCode` when it has one: the SDK's ValidationError gets 400.
 * - A batch (`application/cloudevents-batch+json`) is taken for an event, then fails with a
 *   TypeError (500): it is left to the handler as a plain request, which answers 400.
 */
export function adjustRuntime(): void {
  const runtimeRequire = createRequire(import.meta.resolve('faas-js-runtime'));
  const sdk = runtimeRequire('cloudevents') as RuntimeCloudEvents;
  if (!Object.hasOwn(sdk.ValidationError.prototype, 'statusCode')) {
    Object.defineProperty(sdk.ValidationError.prototype, 'statusCode', {
      value: 400,
      enumerable: false,
    });
    const isEvent = sdk.HTTP.isEvent;
    sdk.HTTP.isEvent = (message) => !isBatch(message.headers) && isEvent(message);
  }
}

function isBatch(headers: Record<string, unknown>): boolean {
  const contentType = headers['content-type'];
  return typeof contentType === 'string' && contentType.startsWith('application/cloudevents-batch');
}

/**
 * Why the runtime refused the event it parsed; undefined when it did not. When an event fails
 * validation, the runtime answers 400 but still calls the function (its hook calls `done` twice):
 * the function must then do nothing, or a pod is made for a request already refused.
 */
export function runtimeValidationProblem(event: object): string | undefined {
  const validate = (event as { validate?: unknown }).validate;
  if (typeof validate !== 'function') return undefined;
  try {
    validate.call(event);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
