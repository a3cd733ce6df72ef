// The HTTP answers: a handler's answer as the response, and the 400 and 503 every path may give.
// Each is told to the event's record, so the log line and the metrics say what was answered.
import type { CloudEvent } from 'cloudevents';
import type { StructuredReturn } from 'faas-js-runtime';
import type { HandlerAnswer } from '../handlers/types.ts';
import type { EventRecord } from '../observability/event-log.ts';
import { withoutAddresses } from './redact.ts';

/** A handler's answer as the HTTP response, told to the event's record. */
export function asResponse(
  answer: HandlerAnswer,
  record: EventRecord,
): CloudEvent<unknown> | StructuredReturn {
  switch (answer.kind) {
    case 'rejected':
      return badRequest(answer.message, record);
    case 'unavailable':
      if (answer.gateway !== undefined) record.gateway = answer.gateway;
      return unavailable(answer.reason, answer.message, answer.retryAfterSeconds, record);
    case 'reply':
      Object.assign(record, {
        outcome: answer.outcome,
        reason: answer.reason,
        message: answer.message,
        pod: answer.pod,
      } satisfies Partial<EventRecord>);
      if (answer.gateway !== undefined) record.gateway = answer.gateway;
      if (answer.namespace !== undefined) record.namespace = answer.namespace;
      return answer.reply;
  }
}

/** Not retried by Knative: goes to the dead letter sink. */
export function badRequest(message: string, record?: EventRecord): StructuredReturn {
  if (record) Object.assign(record, { outcome: 'rejected', reason: 'BadRequest', message });
  return { statusCode: 400, body: { error: 'BadRequest', message } };
}

/** Retried by Knative (and by any producer that honours Retry-After): nothing is lost. */
export function unavailable(
  error: string,
  message: string,
  retryAfterSeconds: number,
  record?: EventRecord,
): StructuredReturn {
  if (record) Object.assign(record, { outcome: 'unavailable', reason: error, message });
  return {
    statusCode: 503,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    // The log keeps the addresses (API server, webhooks); the producer gets none.
    body: { error, message: withoutAddresses(message) },
  };
}
