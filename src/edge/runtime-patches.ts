// Adjustments to faas-js-runtime, which offers no hook for them. Both act on the runtime's own
// copy of the CloudEvents SDK (it may be another version than ours): the one bundled with it in
// build/runtime.cjs, which `npm start` runs, or the one its own resolution finds in node_modules.
import { createRequire } from 'node:module';

interface RuntimeMessage {
  readonly headers: Record<string, unknown>;
}

interface RuntimeJsonParser {
  readonly decorator?: unknown;
  parse(payload: unknown): unknown;
}

interface RuntimeParsers {
  readonly JSONParser: { readonly prototype: RuntimeJsonParser };
}

interface RuntimeCloudEvents {
  readonly ValidationError: { readonly prototype: object };
  readonly HTTP: {
    isEvent: (message: RuntimeMessage) => boolean;
    toEvent: (message: RuntimeMessage) => unknown;
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
 * - The runtime asks `isEvent` (which parses the whole event and drops it) and then `toEvent`
 *   (which parses it again) for every request: the event parsed by `isEvent` is kept for the
 *   `toEvent` call on the same request (its cost: BENCHMARKS.md, "What the source's choices are worth").
 * - Its JSON parser builds two ValidationErrors (stack traces included) for every payload, to
 *   throw them only if the payload is null or not a string or object (BENCHMARKS.md). An object or a string payload is read as the parser reads it, without them; anything
 *   else (or a decorator, or CE_USE_BIG_INT) goes to the parser itself.
 * - An event the SDK cannot read or validate is left to the handler as a plain request too: the
 *   runtime's hook would answer 400 itself and then call the function anyway (it calls `done`
 *   twice), which answered again ("Reply was already sent"). The handler says what is wrong
 *   (src/events/envelope.ts notAnEventMessage).
 */
export function adjustRuntime(): void {
  const { sdk, parsers } = runtimeSdk();
  if (!Object.hasOwn(sdk.ValidationError.prototype, 'statusCode')) {
    Object.defineProperty(sdk.ValidationError.prototype, 'statusCode', {
      value: 400,
      enumerable: false,
    });
    const toEvent = sdk.HTTP.toEvent;
    const parsed = new WeakMap<RuntimeMessage, unknown>();
    sdk.HTTP.isEvent = (message) => {
      if (isBatch(message.headers)) return false;
      try {
        const event = toEvent(message);
        if (hasValidate(event)) {
          event.validate();
          validated.add(event);
        }
        parsed.set(message, event);
        return true;
      } catch {
        return false;
      }
    };
    sdk.HTTP.toEvent = (message) => {
      const event = parsed.get(message);
      if (event === undefined) return toEvent(message);
      parsed.delete(message);
      return event;
    };
    parseJsonWithoutErrors(parsers);
  }
}

/** Where scripts/runtime-entry.cjs puts the SDK bundled with the runtime (build/runtime.cjs). */
const BUNDLED_SDK = Symbol.for('podgateway.runtime-cloudevents');

/**
 * The runtime's own CloudEvents SDK: the copy bundled with it when `npm start` runs the built
 * runtime, else the copy it loads from node_modules (the runtime's CLI, as the tests run it).
 */
function runtimeSdk(): { sdk: RuntimeCloudEvents; parsers: RuntimeParsers } {
  const bundled = (globalThis as Record<symbol, unknown>)[BUNDLED_SDK];
  if (bundled !== undefined) return bundled as { sdk: RuntimeCloudEvents; parsers: RuntimeParsers };
  const runtimeRequire = createRequire(import.meta.resolve('faas-js-runtime'));
  return {
    sdk: runtimeRequire('cloudevents') as RuntimeCloudEvents,
    parsers: runtimeRequire('cloudevents/dist/parsers.js') as RuntimeParsers,
  };
}

function parseJsonWithoutErrors(parsers: RuntimeParsers): void {
  const prototype = parsers.JSONParser.prototype;
  const parse = prototype.parse;
  prototype.parse = function parseString(this: RuntimeJsonParser, payload: unknown): unknown {
    if (this.decorator || process.env.CE_USE_BIG_INT === 'true') return parse.call(this, payload);
    // As the SDK does: an object (a JSON body Fastify has parsed) is the data as it is, and a
    // string that is not JSON text of an array, object or string is a string.
    if (typeof payload === 'object' && payload !== null) return payload;
    if (typeof payload !== 'string') return parse.call(this, payload);
    return JSON.parse(/^[[|{|"]/.test(payload) ? payload : `"${payload}"`);
  };
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

/** Events the adjusted `isEvent` has validated: not validated again for the handler. */
const validated = new WeakSet<object>();

/**
 * Why the runtime refused the event it parsed; undefined when it did not. When an event fails
 * validation, the runtime answers 400 but still calls the function (its hook calls `done` twice):
 * the function must then do nothing, or a pod is made for a request already refused. An event
 * the adjusted `isEvent` validated is not validated again (a CloudEvent is frozen once made).
 */
export function runtimeValidationProblem(event: object): string | undefined {
  if (validated.has(event)) return undefined;
  const validate = (event as { validate?: unknown }).validate;
  if (typeof validate !== 'function') return undefined;
  try {
    validate.call(event);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
