// The request: turns an incoming CloudEvent into a provisioning request, or says why it cannot.
import { OVERRIDE_FIELDS, type ProvisionerConfig } from '../config/config.ts';
import { bounded, quoted } from '../formats/bounded-text.ts';
import { isLabelValue } from '../formats/names.ts';
import { REASON } from '../formats/reasons.ts';
import { readOverrides } from '../pods/overrides.ts';
import type { ProvisionRequest } from '../pods/provision-request.ts';
import {
  describeJsonType,
  hiddenCharacterProblem,
  MAX_ATTRIBUTE_LENGTH,
  misspeltFieldHint,
  readDataObject,
  unknownFieldWarnings,
} from './event-data.ts';

// Read by other modules from here too.
export { describeJsonType, MAX_ATTRIBUTE_LENGTH };

export const PENDING_TYPE = 'io.podgateway.client.pending';

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

/**
 * What to do with an event: provision, answer with a `failed` reply (the event was understood
 * but cannot be served as asked), or reject it with HTTP 400 (it is not an event we can read;
 * Knative does not retry a 400 and sends it to the dead letter sink).
 */
export type RequestVerdict =
  | { readonly kind: 'accepted'; readonly request: ProvisionRequest }
  | {
      readonly kind: 'failed';
      readonly reason:
        | typeof REASON.InvalidGatewayName
        | typeof REASON.UnknownGateway
        | typeof REASON.PolicyViolation;
      readonly message: string;
      readonly gatewayName: string | undefined;
      /** The ignored fields: a typo such as `imagee` may be the very cause of the failure. */
      readonly warnings?: readonly string[];
    }
  | { readonly kind: 'rejected'; readonly message: string };

export function readRequest(event: IncomingEvent, config: ProvisionerConfig): RequestVerdict {
  if (event.type !== PENDING_TYPE) {
    return reject(`event type ${quoted(event.type)} is not handled; expected "${PENDING_TYPE}"`);
  }
  const field = readDataObject(event.data, event.datacontenttype, '{"gateway_name": "foo"}');
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
  const hidden =
    message === undefined ? undefined : hiddenCharacterProblem('data.message', message);
  if (hidden !== undefined) return reject(hidden);

  const warnings = withWarnings(unknownFieldWarnings(event.data, PENDING_FIELDS));
  if (gatewayName === undefined || gatewayName === '') {
    const hint = misspeltFieldHint(event.data, 'gateway_name', PENDING_FIELDS);
    return {
      kind: 'failed',
      reason: MISSING_GATEWAY.reason,
      message: `${MISSING_GATEWAY.message}${hint}`,
      gatewayName,
      ...warnings,
    };
  }
  const problem = gatewayNameProblem(gatewayName, config);
  // Told back in the reply and the log: an invalid name may be kilobytes long.
  if (problem)
    return { kind: 'failed', ...problem, gatewayName: bounded(gatewayName), ...warnings };

  const overrides = readOverrides(field, config);
  if (overrides.kind !== 'accepted') {
    return overrides.kind === 'rejected'
      ? reject(overrides.message)
      : {
          kind: 'failed',
          reason: REASON.PolicyViolation,
          message: overrides.message,
          gatewayName,
          ...warnings,
        };
  }
  return {
    kind: 'accepted',
    request: {
      gatewayName,
      message,
      eventId: event.id,
      eventSource: event.source,
      overrides: overrides.overrides,
      ...warnings,
    },
  };
}

function withWarnings(warnings: string[]): { warnings?: readonly string[] } {
  return warnings.length === 0 ? {} : { warnings };
}

/** The data fields a pending event may carry. */
const PENDING_FIELDS = ['gateway_name', 'message', ...OVERRIDE_FIELDS];

const MISSING_GATEWAY = {
  reason: REASON.InvalidGatewayName,
  message:
    'data.gateway_name is missing or empty; name the pod-gateway to route through, e.g. {"gateway_name": "foo"}',
} as const;

function gatewayNameProblem(
  gatewayName: string,
  config: ProvisionerConfig,
):
  | { reason: typeof REASON.InvalidGatewayName | typeof REASON.UnknownGateway; message: string }
  | undefined {
  if (!isLabelValue(gatewayName)) {
    return {
      reason: REASON.InvalidGatewayName,
      message: `data.gateway_name ${quoted(gatewayName)} is not a valid label value: at most 63 characters, letters and digits at both ends, '-', '_' or '.' inside`,
    };
  }
  if (config.allowedGateways && !config.allowedGateways.has(gatewayName)) {
    return {
      reason: REASON.UnknownGateway,
      message: `gateway ${quoted(gatewayName)} is not one of the configured gateways (${[...config.allowedGateways].join(', ')})`,
    };
  }
  return undefined;
}

function reject(message: string): RequestVerdict {
  return { kind: 'rejected', message };
}
