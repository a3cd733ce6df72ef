// The request: turns an incoming CloudEvent into a provisioning request, or says why it cannot.
import type { ProvisionerConfig } from './config.ts';
import { isLabelValue } from './names.ts';
import { type PodOverrides, readOverrides } from './overrides.ts';
import { tracingProblem } from './tracing.ts';

export const PENDING_TYPE = 'io.podgateway.client.pending';

/** Longest event `id`, `source` and `message` accepted: they are stored on the pod. */
export const MAX_ATTRIBUTE_LENGTH = 1024;

/** The attributes of an incoming CloudEvent that the function reads. */
export interface IncomingEvent {
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly data?: unknown;
  readonly datacontenttype?: unknown;
  readonly traceparent?: unknown;
  readonly tracestate?: unknown;
}

export interface ProvisionRequest {
  readonly gatewayName: string;
  readonly message: string | undefined;
  readonly eventId: string;
  readonly eventSource: string;
  /** Changes to the pod the request asked for, already checked against the policy. */
  readonly overrides: PodOverrides;
}

/**
 * What to do with an event: provision, answer with a `failed` reply (the event was understood
 * but cannot be served as asked), or reject it with HTTP 400 (it is not an event we can read;
 * Knative does not retry a 400 and sends it to the dead letter sink).
 */
export type RequestVerdict =
  | { readonly kind: 'provision'; readonly request: ProvisionRequest }
  | {
      readonly kind: 'fail';
      readonly reason: 'InvalidGatewayName' | 'UnknownGateway' | 'PolicyViolation';
      readonly message: string;
      readonly gatewayName: string | undefined;
    }
  | { readonly kind: 'reject'; readonly message: string };

export function readRequest(event: IncomingEvent, config: ProvisionerConfig): RequestVerdict {
  if (event.type !== PENDING_TYPE) {
    return reject(`event type "${event.type}" is not handled; expected "${PENDING_TYPE}"`);
  }
  for (const attribute of ['id', 'source'] as const) {
    if (event[attribute].length > MAX_ATTRIBUTE_LENGTH) {
      return reject(`event ${attribute} is longer than ${MAX_ATTRIBUTE_LENGTH} characters`);
    }
  }
  const tracing = tracingProblem(event);
  if (tracing) return reject(tracing);
  const field = decodeData(event.data, event.datacontenttype);
  if (typeof field === 'string') return reject(field);

  const gatewayName = field('gateway_name');
  const message = field('message');
  if (gatewayName !== undefined && typeof gatewayName !== 'string') {
    return reject(`data.gateway_name must be a string, got ${describeJsonType(gatewayName)}`);
  }
  if (message !== undefined && typeof message !== 'string') {
    return reject(`data.message must be a string when present, got ${describeJsonType(message)}`);
  }
  if (message !== undefined && message.length > MAX_ATTRIBUTE_LENGTH) {
    return reject(`data.message is longer than ${MAX_ATTRIBUTE_LENGTH} characters`);
  }

  if (gatewayName === undefined || gatewayName === '') {
    return { kind: 'fail', ...MISSING_GATEWAY, gatewayName };
  }
  const problem = gatewayNameProblem(gatewayName, config);
  if (problem) return { kind: 'fail', ...problem, gatewayName };

  const overrides = readOverrides(field, config);
  if (overrides.kind !== 'ok') {
    return overrides.kind === 'malformed'
      ? reject(overrides.message)
      : { kind: 'fail', reason: 'PolicyViolation', message: overrides.message, gatewayName };
  }
  return {
    kind: 'provision',
    request: {
      gatewayName,
      message,
      eventId: event.id,
      eventSource: event.source,
      overrides: overrides.overrides,
    },
  };
}

const MISSING_GATEWAY = {
  reason: 'InvalidGatewayName',
  message:
    'data.gateway_name is missing or empty; name the pod-gateway to route through, e.g. {"gateway_name": "foo"}',
} as const;

function gatewayNameProblem(
  gatewayName: string,
  config: ProvisionerConfig,
): { reason: 'InvalidGatewayName' | 'UnknownGateway'; message: string } | undefined {
  if (!isLabelValue(gatewayName)) {
    return {
      reason: 'InvalidGatewayName',
      message: `data.gateway_name ${JSON.stringify(gatewayName)} is not a valid label value: at most 63 characters, letters and digits at both ends, '-', '_' or '.' inside`,
    };
  }
  if (config.allowedGateways && !config.allowedGateways.has(gatewayName)) {
    return {
      reason: 'UnknownGateway',
      message: `gateway "${gatewayName}" is not one of the configured gateways (${[...config.allowedGateways].join(', ')})`,
    };
  }
  return undefined;
}

/** Reads one field of the event data; `undefined` when absent. */
type DataField = (name: string) => unknown;

/** The event data as a JSON object (read through its fields), or why it is not one. */
function decodeData(data: unknown, contentType: unknown): DataField | string {
  const expected = 'expected a JSON object such as {"gateway_name": "foo"}';
  if (typeof contentType === 'string' && !isJsonContentType(contentType)) {
    return `datacontenttype "${contentType}" is not JSON; ${expected}, as application/json`;
  }
  if (data === undefined || data === null) return `the event has no data; ${expected}`;
  if (ArrayBuffer.isView(data)) return `the event data is binary; ${expected}`;
  if (typeof data !== 'object' || Array.isArray(data)) {
    return `the event data is ${describeJsonType(data)}; ${expected}`;
  }
  // Own properties only: a `__proto__` key in the JSON must not reach the prototype chain.
  const object = data as Readonly<Record<string, unknown>>;
  return (name) => (Object.hasOwn(object, name) ? object[name] : undefined);
}

/** `application/json`, `text/json` or a `+json` type such as `application/vnd.x+json`. */
function isJsonContentType(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type === 'text/json' || type.endsWith('+json');
}

/** `a number`, `an array`, `null`: what a JSON value is, for messages. */
export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function reject(message: string): RequestVerdict {
  return { kind: 'reject', message };
}
