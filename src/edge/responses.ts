// The HTTP answers: a handler's answer as the response, and the 400 and 503 every path may give.
// Each is recorded on the request's record, so the log line and the metrics say what was answered.
import type { CloudEvent } from 'cloudevents';
import type { StructuredReturn } from 'faas-js-runtime';
import { bounded, MAX_MESSAGE_LENGTH } from '../formats/bounded-text.ts';
import { REASON } from '../formats/reasons.ts';
import type { HandlerAnswer } from '../handlers/types.ts';
import { type RequestRecord, recordAnswer } from '../observability/event-log.ts';
import { withoutAddresses } from './redact.ts';

/** A handler's answer as the HTTP response, recorded on the request's record. */
export function asResponse(
  answer: HandlerAnswer,
  record: RequestRecord,
): CloudEvent<unknown> | StructuredReturn {
  switch (answer.kind) {
    case 'rejected':
      return badRequest(answer.message, record);
    case 'unavailable':
      if (answer.gateway !== undefined) record.gateway = answer.gateway;
      return unavailable(answer.reason, answer.message, answer.retryAfterSeconds, record);
    case 'reply':
      recordAnswer(record, answer.summary);
      return answer.reply;
  }
}

/** Not retried by Knative: goes to the dead letter sink. */
export function badRequest(text: string, record?: RequestRecord): StructuredReturn {
  const message = bounded(text, MAX_MESSAGE_LENGTH);
  if (record) recordAnswer(record, { outcome: 'rejected', reason: REASON.BadRequest, message });
  return { statusCode: 400, body: { error: REASON.BadRequest, message } };
}

/**
 * The one 503: retried by Knative (and by any producer that honours Retry-After), so nothing is
 * lost. `logMessage`, given, is what the log line says instead: more than the producer may be told.
 */
export function unavailable(
  error: string,
  text: string,
  retryAfterSeconds: number,
  record?: RequestRecord,
  logMessage?: string,
): StructuredReturn {
  const message = bounded(text, MAX_MESSAGE_LENGTH);
  if (record) {
    recordAnswer(record, { outcome: 'unavailable', reason: error, message: logMessage ?? message });
  }
  return {
    statusCode: 503,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    // The log keeps the addresses (API server, webhooks); the producer gets none.
    body: { error, message: withoutAddresses(message) },
  };
}
