// The CloudEvents envelope, checked strictly. The runtime's SDK reads events leniently: it gives
// an event without `id` a random one (a new pod on every redelivery), validates only spec
// version 1.0 (any other passes unchecked), and turns a `time` it cannot parse into "now". These
// checks look at what the producer actually sent.
import { CloudEvent, HTTP } from 'cloudevents';
import type { Headers } from '../formats/headers.ts';
import { attributeProblem } from './event-data.ts';
import { describeJsonType, type IncomingEvent } from './pending-request.ts';
import { tracingProblem } from './trace-context.ts';
import { describeValidationError } from './validation-errors.ts';

const REQUIRED = ['specversion', 'id', 'source', 'type'] as const;
const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** What is wrong with the envelope of an event the runtime accepted; undefined when nothing. */
export function envelopeProblem(headers: Headers, body: unknown): string | undefined {
  if (contentTypeOf(headers).startsWith(STRUCTURED)) {
    const envelope = typeof body === 'string' ? parseJson(body) : body;
    if (!isRecord(envelope)) return 'the structured-mode body is not a JSON object';
    return attributesProblem((name) => envelope[name], Object.keys(envelope), '');
  }
  const names = Object.keys(headers)
    .filter((name) => name.startsWith('ce-'))
    .map((name) => name.slice(3));
  const problem = attributesProblem((name) => headers[`ce-${name}`], names, 'ce-');
  // A JSON body that is a string: the SDK would decode that string as JSON a second time.
  if (!problem && contentTypeOf(headers).includes('json') && typeof body === 'string') {
    return `the event data is a string; expected a JSON object such as {"gateway_name": "foo"}`;
  }
  return problem;
}

function attributesProblem(
  read: (name: string) => unknown,
  names: readonly string[],
  prefix: string,
): string | undefined {
  for (const name of REQUIRED) {
    const value = read(name);
    if (value === undefined) return `${prefix}${name} is missing`;
    if (typeof value !== 'string' || value === '') {
      return `${prefix}${name} must be a non-empty string`;
    }
  }
  if (read('specversion') !== '1.0') {
    return `${prefix}specversion ${JSON.stringify(read('specversion'))} is not supported; expected "1.0"`;
  }
  const time = read('time');
  if (time !== undefined && !(typeof time === 'string' && isTimestamp(time))) {
    return `${prefix}time ${JSON.stringify(time)} is not an RFC 3339 timestamp`;
  }
  if (read('data_base64') !== undefined) {
    return 'data_base64 is not supported: send the data as JSON, e.g. {"gateway_name": "foo"}';
  }
  for (const name of names) {
    const value = read(name);
    if (name !== 'data' && !['string', 'number', 'boolean'].includes(typeof value)) {
      return `${prefix}${name} must be a string, number or boolean (the CloudEvents type system)`;
    }
  }
  return undefined;
}

function isTimestamp(value: string): boolean {
  return RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

/**
 * What is wrong with the attributes of an event of any type that the function stores on a pod or
 * copies into its reply (id, source, trace context); undefined when nothing. Checked once, before
 * any handler runs, so no handler acts on an event whose reply could not be sent.
 */
export function eventAttributesProblem(event: IncomingEvent): string | undefined {
  return attributeProblem(event) ?? tracingProblem(event);
}

/** An event as the runtime's SDK built it (not a string a query parameter put there). */
export function isIncomingEvent(value: unknown): value is IncomingEvent {
  if (typeof value !== 'object' || value === null) return false;
  const { id, source, type } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof source === 'string' && typeof type === 'string';
}

/**
 * Why a request the runtime did not take for a CloudEvent is not one, as precisely as possible:
 * the runtime's SDK drops the reason, so the request is read again with ours to find it.
 */
export function notAnEventMessage(headers: Headers, body: unknown): string {
  const expected = `expected a CloudEvent of type "io.podgateway.client.pending": in binary mode (headers ce-specversion, ce-id, ce-source, ce-type) or structured mode (content-type ${STRUCTURED})`;
  const contentType = contentTypeOf(headers);
  if (contentType.startsWith(BATCH)) {
    return `batched events (${BATCH}) are not supported: send one event per request`;
  }
  const structured = contentType.startsWith('application/cloudevents');
  const binary = Object.keys(headers).some((name) => name.startsWith('ce-'));
  if (!structured && !binary) return expected;
  if (structured && typeof body === 'string' && parseJson(body) === undefined) {
    return 'the structured-mode body is not valid JSON';
  }
  const problem = envelopeProblem(headers, body);
  if (problem) return `not a valid CloudEvent: ${problem}`;
  // A binary event whose JSON data is not an object (`5`, `true`) is refused by the SDK.
  if (binary && !structured && (typeof body !== 'object' || body === null || Array.isArray(body))) {
    return `the event data is ${describeJsonType(body)}; expected a JSON object such as {"gateway_name": "foo"}`;
  }
  const sdk = sdkProblem(headers, body);
  return sdk ? `not a valid CloudEvent: ${sdk}` : expected;
}

function sdkProblem(headers: Headers, body: unknown): string | undefined {
  try {
    const event = HTTP.toEvent({ headers: headers as Record<string, string>, body });
    if (event instanceof CloudEvent) event.validate();
    return undefined;
  } catch (error) {
    return describeValidationError(error);
  }
}

function contentTypeOf(headers: Headers): string {
  const value = headers['content-type'];
  return (Array.isArray(value) ? value[0] : value)?.toLowerCase() ?? '';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
