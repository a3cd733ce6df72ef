// What the function says about each request (an event, or not): one JSON log line and the
// request metrics.
import { bounded, MAX_MESSAGE_LENGTH } from '../formats/bounded-text.ts';
import {
  gatewayLabel,
  inflightRequests,
  reasonLabel,
  requestDuration,
  requestsTotal,
} from './metrics.ts';

/**
 * `created`, `existed` (a redelivery): done. `released`, `swept`: a release or sweep done.
 * `failed`: a failed reply. `rejected`: HTTP 400.
 * `unavailable`: HTTP 503, the event is to be delivered again (starting, shutting down, no answer
 * from the API before the deadline, K_SINK refused the reply).
 */
export type Outcome =
  | 'created'
  | 'existed'
  | 'released'
  | 'swept'
  | 'failed'
  | 'rejected'
  | 'unavailable';

/** Filled in while a request is handled; reported once its answer is ready. */
export interface RequestRecord {
  eventId: string | undefined;
  source: string | undefined;
  outcome: Outcome;
  reason: string | undefined;
  gateway: string | undefined;
  pod: string | undefined;
  namespace: string | undefined;
  /** What went wrong, for `failed` and `rejected`. */
  message: string | undefined;
  readonly started: number;
}

/** What a request was answered, as its log line and metrics say it: the record's summary. */
export interface AnswerSummary {
  readonly outcome: Outcome;
  readonly reason?: string | undefined;
  /** What went wrong, for `failed`, `rejected` and `unavailable`; what was done otherwise. */
  readonly message?: string | undefined;
  readonly pod?: string | undefined;
  readonly gateway?: string | undefined;
  readonly namespace?: string | undefined;
}

/** The one way a record learns what was answered; what the answer does not know is kept. */
export function recordAnswer(record: RequestRecord, summary: AnswerSummary): void {
  record.outcome = summary.outcome;
  record.reason = summary.reason;
  record.message = summary.message;
  if (summary.pod !== undefined) record.pod = summary.pod;
  if (summary.gateway !== undefined) record.gateway = summary.gateway;
  if (summary.namespace !== undefined) record.namespace = summary.namespace;
}

/** The part of faas-js-runtime's logger (pino) used here: one object, `msg` included. */
export interface RequestLogger {
  info(line: object): void;
  warn(line: object): void;
}

/** Outcomes that answered `done` (of any event type): logged at `info`. */
const DONE_OUTCOMES: ReadonlySet<Outcome> = new Set(['created', 'existed', 'released', 'swept']);

export function startRecord(): RequestRecord {
  inflightRequests.inc();
  return {
    eventId: undefined,
    source: undefined,
    outcome: 'rejected',
    reason: undefined,
    gateway: undefined,
    pod: undefined,
    namespace: undefined,
    message: undefined,
    started: performance.now(),
  };
}

/** Counts the request and logs it, once its answer is ready. */
export function finishRecord(
  log: RequestLogger,
  record: RequestRecord,
  allowedGateways: ReadonlySet<string> | undefined,
): void {
  inflightRequests.dec();
  reportRequest(log, record, allowedGateways, (performance.now() - record.started) / 1000);
}

/**
 * Counts a request and logs it: at `info` when done (a pod created or found), at `warn` otherwise
 * (failed, rejected, to be delivered again), so that the runtime's default level (warn) shows
 * every event that did not get its pod. Only event attributes and outcomes: never the request's
 * headers or configuration, which may carry credentials.
 */
export function reportRequest(
  log: RequestLogger,
  record: Omit<RequestRecord, 'started'>,
  allowedGateways: ReadonlySet<string> | undefined,
  seconds: number,
): void {
  requestsTotal.inc({
    outcome: record.outcome,
    reason: reasonLabel(record.reason),
    gateway: gatewayLabel(record.gateway, allowedGateways),
  });
  requestDuration.observe({ outcome: record.outcome }, seconds);
  const line = {
    msg: 'request',
    eventId: shown(record.eventId),
    source: shown(record.source),
    gateway: shown(record.gateway),
    pod: record.pod,
    namespace: record.namespace,
    outcome: record.outcome,
    reason: record.reason,
    message: shown(record.message, MAX_MESSAGE_LENGTH),
    durationMs: Math.round(seconds * 1e6) / 1e3,
  };
  if (DONE_OUTCOMES.has(record.outcome)) log.info(line);
  else log.warn(line);
}

/** A value of the record as the log line shows it: bounded, nothing a terminal acts on. */
export function shown(value: string | undefined, max?: number): string | undefined {
  return value === undefined ? undefined : bounded(value, max);
}
