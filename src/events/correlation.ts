// Knative Eventing's RequestReply: the request carries a correlation id (by default in
// `correlationid`, as `<event id>:<base64 of the encrypted id>:<replica index>`), and the
// RequestReply takes as the answer the event whose reply attribute (`replyid`) carries the same
// value. Every reply of every type copies it over, so a client can wait for its answer.
import { CloudEvent } from 'cloudevents';
import type { ReplyCorrelation } from '../config/config.ts';
import { controlCharacterIn } from '../formats/control-characters.ts';
import { MAX_ATTRIBUTE_LENGTH } from './event-data.ts';
import { percentEncoded } from './replies.ts';

/**
 * Longest correlation id accepted. RequestReply's for an event whose id has the 1024 characters
 * the function accepts is about 2,450 characters (the id, twice its length in base64 with the
 * nonce and tag, the replica index).
 */
export const MAX_CORRELATION_LENGTH = 2.5 * MAX_ATTRIBUTE_LENGTH;

/** The request's correlation id; undefined when it has none. */
function correlationOf(event: object, names: ReplyCorrelation): unknown {
  return Object.hasOwn(event, names.requestAttribute)
    ? (event as Readonly<Record<string, unknown>>)[names.requestAttribute]
    : undefined;
}

/**
 * What is wrong with the request's correlation id, naming its attribute; undefined when nothing
 * (or when it has none). It travels back as a reply header, so it is bounded and printable.
 */
export function correlationProblem(event: object, names: ReplyCorrelation): string | undefined {
  const value = correlationOf(event, names);
  if (value === undefined) return undefined;
  const name = names.requestAttribute;
  if (typeof value !== 'string' || value === '') return `${name} must be a non-empty string`;
  if (value.length > MAX_CORRELATION_LENGTH) {
    return `${name} is longer than ${MAX_CORRELATION_LENGTH} characters`;
  }
  const control = controlCharacterIn(value);
  if (control === undefined) return undefined;
  return `${name} holds a control, line-separator or bidirectional character (${control}): it is copied into every reply's ${names.replyAttribute}`;
}

/** The reply with the request's correlation id in its reply attribute; as it is without one. */
export function correlated<T>(
  reply: CloudEvent<T>,
  request: object,
  names: ReplyCorrelation,
): CloudEvent<T> {
  const value = correlationOf(request, names);
  if (typeof value !== 'string') return reply;
  // Sent in binary mode, as a header: encoded as `inresponseto` is (src/events/replies.ts).
  return new CloudEvent<T>({ ...reply, [names.replyAttribute]: percentEncoded(value) });
}
