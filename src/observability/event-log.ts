// What the function tells about each event: one JSON log line and the provisioning metrics.
import { bounded, MAX_MESSAGE_LENGTH } from '../formats/bounded-text.ts';
import {
  type GatewayLabels,
  inflightRequests,
  provisionDuration,
  provisionsTotal,
  reasonLabel,
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

/** Filled in while an event is handled; reported once its reply is ready. */
export interface EventRecord {
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

/** What was answered for an event, as its log line and metrics tell it. */
export interface Told {
  readonly outcome: Outcome;
  readonly reason?: string | undefined;
  /** What went wrong, for `failed`, `rejected` and `unavailable`; what was done otherwise. */
  readonly message?: string | undefined;
  readonly pod?: string | undefined;
  readonly gateway?: string | undefined;
  readonly namespace?: string | undefined;
}

/** The one way a record learns what was answered; what the answer does not know is kept. */
export function tell(record: EventRecord, told: Told): void {
  record.outcome = told.outcome;
  record.reason = told.reason;
  record.message = told.message;
  if (told.pod !== undefined) record.pod = told.pod;
  if (told.gateway !== undefined) record.gateway = told.gateway;
  if (told.namespace !== undefined) record.namespace = told.namespace;
}

/** The part of faas-js-runtime's logger (pino) used here: one object, `msg` included. */
export interface EventLogger {
  info(line: object): void;
  warn(line: object): void;
}

/** Outcomes that answered `done` (of any event type): logged at `info`. */
const DONE_OUTCOMES: ReadonlySet<Outcome> = new Set(['created', 'existed', 'released', 'swept']);

export function startRecord(): EventRecord {
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

/** Counts the event and logs it, once its reply is ready. */
export function finishRecord(log: EventLogger, record: EventRecord, gateways: GatewayLabels): void {
  inflightRequests.dec();
  reportEvent(log, record, gateways, (performance.now() - record.started) / 1000);
}

/**
 * Counts an event and logs it: at `info` when done (a pod created or found), at `warn` otherwise
 * (failed, rejected, to be delivered again), so that the runtime's default level (warn) shows
 * every event that did not get its pod. Only event attributes and outcomes: never the request's
 * headers or configuration, which may carry credentials.
 */
export function reportEvent(
  log: EventLogger,
  record: Omit<EventRecord, 'started'>,
  /** Undefined for a request refused before any gateway was read from it. */
  gateways: GatewayLabels | undefined,
  seconds: number,
): void {
  provisionsTotal.inc({
    outcome: record.outcome,
    reason: reasonLabel(record.reason),
    gateway: gateways?.of(record.gateway) ?? 'none',
  });
  provisionDuration.observe({ outcome: record.outcome }, seconds);
  const line = {
    msg: 'provision',
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
