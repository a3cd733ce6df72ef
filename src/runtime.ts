// Adjustments to faas-js-runtime, which offers no hook for them. Both act on the runtime's own
// copy of the CloudEvents SDK, reached through its own resolution: it may be another version.
import { createRequire } from 'node:module';

type Message = { headers: Record<string, unknown> };

interface RuntimeCloudEvents {
  readonly ValidationError: { readonly prototype: object };
  readonly HTTP: {
    isEvent: (message: Message) => boolean;
    toEvent: (message: Message) => unknown;
  };
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
 * - So is an event the SDK cannot read or validate: the runtime's hook would answer 400 itself
 *   and then call the function anyway (it calls `done` twice), which answered again ("Reply was
 *   already sent"). The handler says what is wrong (src/envelope.ts notAnEventMessage). The event
 *   read to decide is kept for the runtime's own reading of the same request.
 */
export function adjustRuntime(): void {
  const runtimeRequire = createRequire(import.meta.resolve('faas-js-runtime'));
  const sdk = runtimeRequire('cloudevents') as RuntimeCloudEvents;
  if (!Object.hasOwn(sdk.ValidationError.prototype, 'statusCode')) {
    Object.defineProperty(sdk.ValidationError.prototype, 'statusCode', {
      value: 400,
      enumerable: false,
    });
    const { isEvent, toEvent } = sdk.HTTP;
    const readEvents = new WeakMap<Message, unknown>();
    const readsAsValidEvent = (message: Message): boolean => {
      try {
        const event = toEvent(message);
        if (!hasValidate(event)) return false;
        event.validate();
        readEvents.set(message, event);
        return true;
      } catch {
        return false;
      }
    };
    sdk.HTTP.isEvent = (message) =>
      !isBatch(message.headers) && isEvent(message) && readsAsValidEvent(message);
    sdk.HTTP.toEvent = (message) => readEvents.get(message) ?? toEvent(message);
  }
}

function hasValidate(event: unknown): event is { validate(): unknown } {
  return (
    typeof event === 'object' &&
    event !== null &&
    'validate' in event &&
    typeof event.validate === 'function'
  );
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
