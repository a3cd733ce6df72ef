// REPLY_CORRELATION_ATTRIBUTE / REPLY_ID_ATTRIBUTE: the attribute names of Knative Eventing's
// RequestReply (its spec.correlationAttribute and spec.replyAttribute). The request carries the
// correlation id in the first; every reply carries it back in the second.
import { ConfigError } from './errors.ts';

export interface ReplyCorrelation {
  /** The request's attribute that holds the correlation id. */
  readonly requestAttribute: string;
  /** The reply's attribute the correlation id is copied into. */
  readonly replyAttribute: string;
}

export const CORRELATION_DEFAULTS: ReplyCorrelation = {
  requestAttribute: 'correlationid',
  replyAttribute: 'replyid',
};

/**
 * The attributes a reply sets itself, or reads from the request for itself: naming one of them
 * would overwrite a reply's own attribute, or read the correlation id from the event's id.
 */
const RESERVED = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
  'inresponseto',
  'traceparent',
  'tracestate',
];

/** CloudEvents attribute names: lowercase letters and digits; the spec asks for at most 20. */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;

export function parseReplyCorrelation(
  requestValue: string | undefined,
  replyValue: string | undefined,
): ReplyCorrelation {
  const requestAttribute = attributeName(
    'REPLY_CORRELATION_ATTRIBUTE',
    requestValue ?? CORRELATION_DEFAULTS.requestAttribute,
  );
  const replyAttribute = attributeName(
    'REPLY_ID_ATTRIBUTE',
    replyValue ?? CORRELATION_DEFAULTS.replyAttribute,
  );
  if (requestAttribute === replyAttribute) {
    throw new ConfigError(
      'REPLY_ID_ATTRIBUTE',
      `"${replyAttribute}" is also REPLY_CORRELATION_ATTRIBUTE: a reply carrying it would look like a new request to a RequestReply; choose two names`,
    );
  }
  return Object.freeze({ requestAttribute, replyAttribute });
}

function attributeName(variable: string, value: string): string {
  if (!ATTRIBUTE_NAME.test(value)) {
    throw new ConfigError(
      variable,
      `"${value}" is not a CloudEvents attribute name: 1 to 20 lowercase letters a-z and digits, e.g. correlationid`,
    );
  }
  if (RESERVED.includes(value)) {
    throw new ConfigError(
      variable,
      `"${value}" is an attribute every reply sets or reads for itself (${RESERVED.join(', ')}); choose another`,
    );
  }
  return value;
}
