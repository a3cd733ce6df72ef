// metav1.Status failures and field errors, worded as k8s.io/apimachinery words them
// (pkg/api/errors and pkg/util/validation/field).

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export function failure(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): Status {
  // The field order of the real server's JSON.
  return details === undefined
    ? { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }
    : {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason,
        details,
        code,
      };
}

/** `pods`, or `deployments.apps` for a named group: schema.GroupResource.String(). */
function groupResource(resource: string, group = ''): string {
  return group === '' ? resource : `${resource}.${group}`;
}

function nameDetails(resource: string, name: string, group = ''): StatusDetails {
  const details: StatusDetails = {};
  if (name !== '') details.name = name;
  if (group !== '') details.group = group;
  details.kind = resource;
  return details;
}

export function unauthorized(): Status {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export interface ForbiddenAttributes {
  readonly verb: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly apiGroup: string;
}

/** What the authorization filter answers when the authorizer says no. */
export function forbidden(user: string, attrs: ForbiddenAttributes): Status {
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const scope = attrs.namespace
    ? `in the namespace ${quote(attrs.namespace)}`
    : 'at the cluster scope';
  const reason = `User ${quote(user)} cannot ${attrs.verb} resource ${quote(resource)} in API group ${quote(attrs.apiGroup)} ${scope}`;
  return forbiddenBecause(attrs.resource, attrs.name ?? '', reason, attrs.apiGroup);
}

/** errors.NewForbidden: `pods "x" is forbidden: <reason>`. */
export function forbiddenBecause(
  resource: string,
  name: string,
  reason: string,
  group = '',
): Status {
  const subject =
    name === ''
      ? groupResource(resource, group)
      : `${groupResource(resource, group)} ${quote(name)}`;
  return failure(
    403,
    'Forbidden',
    `${subject} is forbidden: ${reason}`,
    nameDetails(resource, name, group),
  );
}

export function notFound(resource: string, name: string, group = ''): Status {
  return failure(
    404,
    'NotFound',
    `${groupResource(resource, group)} ${quote(name)} not found`,
    nameDetails(resource, name, group),
  );
}

/** The answer for a path no handler serves. */
export function pathNotFound(): Status {
  return failure(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function methodNotAllowed(): Status {
  return failure(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
    {},
  );
}

export function alreadyExists(resource: string, name: string, group = ''): Status {
  return failure(
    409,
    'AlreadyExists',
    `${groupResource(resource, group)} ${quote(name)} already exists`,
    nameDetails(resource, name, group),
  );
}

export function conflict(resource: string, name: string, reason: string, group = ''): Status {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${groupResource(resource, group)} ${quote(name)}: ${reason}`,
    nameDetails(resource, name, group),
  );
}

export const MODIFIED_CONFLICT =
  'the object has been modified; please apply your changes to the latest version and try again';

export function badRequest(message: string): Status {
  return failure(400, 'BadRequest', message);
}

export function unsupportedMediaType(contentType: string): Status {
  return failure(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`,
    { causes: [{ reason: 'UnexpectedServerResponse', message: contentType }] },
  );
}

export function requestEntityTooLarge(limit: number): Status {
  return failure(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

export function internalError(
  cause = 'an error on the server has prevented the request from succeeding',
): Status {
  return failure(500, 'InternalError', `Internal error occurred: ${cause}`, {
    causes: [{ message: cause }],
  });
}

export function serviceUnavailable(
  message = 'the server is currently unable to handle the request',
): Status {
  return failure(503, 'ServiceUnavailable', message);
}

export function timeout(
  message = 'request did not complete within the allotted timeout',
  retryAfterSeconds?: number,
): Status {
  const details: StatusDetails | undefined =
    retryAfterSeconds === undefined ? undefined : { retryAfterSeconds };
  return failure(504, 'Timeout', `Timeout: ${message}`, details);
}

export function expired(message: string): Status {
  return failure(410, 'Expired', message);
}

// ---------------------------------------------------------------------------------------------
// field.Error and errors.NewInvalid

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueTypeInvalid'
  | 'InternalError';

const FIELD_ERROR_WORDS: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueTypeInvalid: 'Invalid value',
  InternalError: 'Internal error',
};

/** Types whose message never shows the bad value. */
const VALUELESS: ReadonlySet<FieldErrorType> = new Set([
  'FieldValueRequired',
  'FieldValueForbidden',
  'FieldValueTooLong',
  'FieldValueTooMany',
  'InternalError',
]);

export interface FieldError {
  readonly type: FieldErrorType;
  /** e.g. `spec.containers[0].name` */
  readonly field: string;
  readonly value?: unknown;
  readonly detail: string;
}

export const fieldError = {
  required: (field: string, detail = ''): FieldError => ({
    type: 'FieldValueRequired',
    field,
    detail,
  }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({
    type: 'FieldValueInvalid',
    field,
    value,
    detail,
  }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldError => ({
    type: 'FieldValueTypeInvalid',
    field,
    value,
    detail,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({
    type: 'FieldValueDuplicate',
    field,
    value,
    detail: '',
  }),
  notFound: (field: string, value: unknown): FieldError => ({
    type: 'FieldValueNotFound',
    field,
    value,
    detail: '',
  }),
  notSupported: (field: string, value: unknown, supported: readonly string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    value,
    detail: supported.length > 0 ? `supported values: ${supported.map(quote).join(', ')}` : '',
  }),
  tooLong: (field: string, maxLength: number): FieldError => ({
    type: 'FieldValueTooLong',
    field,
    detail: `may not be more than ${maxLength} ${maxLength === 1 ? 'byte' : 'bytes'}`,
  }),
  forbidden: (field: string, detail: string): FieldError => ({
    type: 'FieldValueForbidden',
    field,
    detail,
  }),
};

/** field.Error.ErrorBody(): the message without the field path. */
export function fieldErrorBody(error: FieldError): string {
  let body = FIELD_ERROR_WORDS[error.type];
  if (!VALUELESS.has(error.type)) body += `: ${formatValue(error.value)}`;
  if (error.detail !== '') body += `: ${error.detail}`;
  return body;
}

export function fieldErrorMessage(error: FieldError): string {
  return `${error.field}: ${fieldErrorBody(error)}`;
}

/** errors.NewInvalid: `Pod "x" is invalid: <one error>` or `... is invalid: [<e1>, <e2>]`. */
export function invalid(
  kind: string,
  name: string,
  errors: readonly FieldError[],
  group = '',
): Status {
  // utilerrors.NewAggregate de-duplicates identical messages.
  const messages = [...new Set(errors.map(fieldErrorMessage))];
  const aggregate = messages.length === 1 ? messages[0] : `[${messages.join(', ')}]`;
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  const details: StatusDetails = { name, kind };
  if (group !== '') details.group = group;
  details.causes = errors.map((error) => ({
    reason: error.type,
    message: fieldErrorBody(error),
    field: error.field,
  }));
  return failure(
    422,
    'Invalid',
    messages.length === 0
      ? `${qualifiedKind} ${quote(name)} is invalid`
      : `${qualifiedKind} ${quote(name)} is invalid: ${aggregate}`,
    details,
  );
}

/** Go's %q for strings; %v for numbers and booleans; JSON for the rest (Go prints structs). */
function formatValue(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Go's %q is close enough to a JSON string for the printable ASCII these messages carry. */
export function quote(text: string): string {
  return JSON.stringify(text);
}
