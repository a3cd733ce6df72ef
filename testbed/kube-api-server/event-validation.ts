// What the API server checks in an Event, and how an events.k8s.io/v1 Event reads through the
// core v1 API. Modelled on kubernetes:
// - pkg/apis/core/validation/events.go: ValidateEventCreate (strict for events.k8s.io/v1: eventTime,
//   type, series, no deprecated fields; the legacy checks: reportingController a qualified name,
//   reportingInstance, action and reason required and at most 128 bytes, note at most 1024 bytes:
//   Go's len() counts UTF-8 bytes, though the messages say "characters"),
//   ValidateEventUpdate (what may not change). The field paths are the internal type's
//   (involvedObject, message), as the real server's messages show them.
// - pkg/apis/events/v1/conversion.go: regarding is involvedObject, note is message,
//   reportingController is reportingComponent, deprecatedX is X.
import { isObject } from './http.ts';
import { type FieldError, fieldError } from './status.ts';

export type EventObject = Record<string, unknown> & { metadata: Record<string, unknown> };

const LIMITS = { reportingInstance: 128, action: 128, reason: 128, note: 1024 } as const;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** A string's length as Go's len() counts it, and so the real server: UTF-8 bytes. */
const goLength = (value: string): number => Buffer.byteLength(value, 'utf8');

function isTime(value: unknown): boolean {
  return typeof value === 'string' && value !== '' && !Number.isNaN(Date.parse(value));
}

/** validation.IsQualifiedName: an optional DNS-subdomain prefix and `/`, then a name of 63. */
function qualifiedNameProblem(value: string): string | undefined {
  const parts = value.split('/');
  const name = parts.at(-1) ?? '';
  if (parts.length > 2)
    return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'";
  if (
    parts.length === 2 &&
    !(DNS_SUBDOMAIN.test(parts[0] ?? '') && (parts[0] ?? '').length <= 253)
  ) {
    return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  }
  if (name === '') return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!QUALIFIED_NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  }
  return undefined;
}

function seriesErrors(series: unknown): FieldError[] {
  if (series === undefined || series === null) return [];
  const value = isObject(series) ? series : {};
  const errors: FieldError[] = [];
  const count = typeof value.count === 'number' ? value.count : 0;
  if (count < 2) errors.push(fieldError.invalid('series.count', '', 'should be at least 2'));
  if (!isTime(value.lastObservedTime)) errors.push(fieldError.required('series.lastObservedTime'));
  return errors;
}

/** legacyValidateEvent, for an Event with an eventTime (every events.k8s.io/v1 Event has one). */
function legacyErrors(event: EventObject, namespace: string): FieldError[] {
  const errors: FieldError[] = [];
  const regarding = isObject(event.regarding) ? event.regarding : {};
  if (text(regarding.namespace) === '' && namespace !== 'default' && namespace !== 'kube-system') {
    errors.push(
      fieldError.invalid('involvedObject.namespace', '', 'does not match event.namespace'),
    );
  }
  const controller = text(event.reportingController);
  if (controller === '') errors.push(fieldError.required('reportingController'));
  const problem = qualifiedNameProblem(controller);
  if (problem !== undefined)
    errors.push(fieldError.invalid('reportingController', controller, problem));
  for (const field of ['reportingInstance', 'action', 'reason'] as const) {
    const value = text(event[field]);
    if (value === '') errors.push(fieldError.required(field));
    if (goLength(value) > LIMITS[field]) {
      errors.push(fieldError.invalid(field, '', `can have at most ${LIMITS[field]} characters`));
    }
  }
  if (goLength(text(event.note)) > LIMITS.note) {
    errors.push(fieldError.invalid('message', '', `can have at most ${LIMITS.note} characters`));
  }
  return errors;
}

/** ValidateEventCreate for a request to events.k8s.io/v1, in `namespace`. */
export function eventCreateErrors(event: EventObject, namespace: string): FieldError[] {
  const errors = legacyErrors(event, namespace);
  const name = text(event.metadata.name);
  if (name === '' && text(event.metadata.generateName) === '') {
    errors.push(fieldError.required('metadata.name', 'name or generateName is required'));
  } else if (name !== '' && !(DNS_SUBDOMAIN.test(name) && name.length <= 253)) {
    errors.push(
      fieldError.invalid(
        'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
      ),
    );
  }
  errors.push(...seriesErrors(event.series));
  if (!isTime(event.eventTime)) errors.push(fieldError.required('eventTime'));
  if (event.type !== 'Normal' && event.type !== 'Warning') {
    errors.push(fieldError.invalid('type', '', `has invalid value: ${text(event.type)}`));
  }
  const unset: Array<[string, string]> = [
    ['deprecatedFirstTimestamp', 'firstTimestamp'],
    ['deprecatedLastTimestamp', 'lastTimestamp'],
    ['deprecatedCount', 'count'],
  ];
  for (const [field, path] of unset) {
    if (event[field] !== undefined && event[field] !== null && event[field] !== 0) {
      errors.push(fieldError.invalid(path, '', 'needs to be unset'));
    }
  }
  const source = isObject(event.deprecatedSource) ? event.deprecatedSource : {};
  if (text(source.component) !== '' || text(source.host) !== '') {
    errors.push(fieldError.invalid('source', '', 'needs to be unset'));
  }
  return errors;
}

/** The fields ValidateEventUpdate keeps as they were, with the internal type's paths. */
const IMMUTABLE: ReadonlyArray<[string, string]> = [
  ['regarding', 'involvedObject'],
  ['reason', 'reason'],
  ['note', 'message'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
  ['type', 'type'],
  ['eventTime', 'eventTime'],
  ['action', 'action'],
  ['related', 'related'],
  ['reportingController', 'reportingController'],
  ['reportingInstance', 'reportingInstance'],
];

/** ValidateEventUpdate for a request to events.k8s.io/v1. */
export function eventUpdateErrors(
  updated: EventObject,
  previous: EventObject,
  namespace: string,
): FieldError[] {
  const errors = legacyErrors(updated, namespace);
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  if (!same(updated.series, previous.series)) errors.push(...seriesErrors(updated.series));
  for (const [field, path] of IMMUTABLE) {
    if (!same(updated[field], previous[field])) {
      errors.push(fieldError.invalid(path, updated[field] ?? null, 'field is immutable'));
    }
  }
  return errors;
}

/** The Event as the core v1 API shows it (kubectl describe, kubectl events read that one). */
export function asCoreEvent(event: EventObject): Record<string, unknown> {
  const core: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: event.metadata,
    involvedObject: event.regarding ?? {},
    reason: event.reason,
    message: event.note,
    source: event.deprecatedSource ?? {},
    firstTimestamp: event.deprecatedFirstTimestamp ?? null,
    lastTimestamp: event.deprecatedLastTimestamp ?? null,
    type: event.type,
    eventTime: event.eventTime,
    action: event.action,
    reportingComponent: event.reportingController,
    reportingInstance: event.reportingInstance,
  };
  if (event.deprecatedCount !== undefined) core.count = event.deprecatedCount;
  if (event.series !== undefined && event.series !== null) core.series = event.series;
  if (event.related !== undefined) core.related = event.related;
  return core;
}

/** RFC 7386 JSON merge patch; a strategic merge patch of an Event's fields merges the same way. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const merged: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = mergePatch(merged[key], value);
  }
  return merged;
}
