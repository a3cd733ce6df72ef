// Validation of a submitted Pod, in two layers:
//  1. the OpenAPI schema (kubernetes-models): types, required properties, enums;
//  2. the rules the API server applies on top (k8s.io/apimachinery/pkg/util/validation,
//     pkg/apis/core/validation), with their messages.
// Each function returns every error it finds, as the real validation does.

import type { IPod } from 'kubernetes-models/v1/Pod';
import { Pod } from 'kubernetes-models/v1/Pod';
import { type FieldError, fieldError } from './kube-status.ts';

export type PodObject = IPod;
export type ObjectMeta = NonNullable<IPod['metadata']>;
export type PodSpec = NonNullable<IPod['spec']>;
export type Container = PodSpec['containers'][number];
export type ResourceRequirements = NonNullable<Container['resources']>;

// ---------------------------------------------------------------------------------------------
// Layer 1: the schema

interface SchemaViolation {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

function isSchemaViolation(value: unknown): value is SchemaViolation {
  return (
    typeof value === 'object' &&
    value !== null &&
    'instancePath' in value &&
    typeof value.instancePath === 'string' &&
    'keyword' in value &&
    typeof value.keyword === 'string'
  );
}

/** Schema errors of a decoded JSON body that is meant to be a Pod. */
export function podSchemaErrors(body: Record<string, unknown>): FieldError[] {
  try {
    new Pod(body as ConstructorParameters<typeof Pod>[0]).validate();
    return [];
  } catch (error) {
    const violations =
      error instanceof Error && 'errors' in error && Array.isArray(error.errors)
        ? error.errors.filter(isSchemaViolation)
        : [];
    if (violations.length === 0) {
      return [fieldError.invalid('', null, error instanceof Error ? error.message : String(error))];
    }
    return schemaViolationsToFieldErrors(violations, body);
  }
}

/** One field error per offending field, worded like the API server's own. */
export function schemaViolationsToFieldErrors(
  violations: readonly SchemaViolation[],
  body: unknown,
): FieldError[] {
  const byPath = new Map<string, SchemaViolation[]>();
  for (const violation of violations) {
    const list = byPath.get(violation.instancePath) ?? [];
    list.push(violation);
    byPath.set(violation.instancePath, list);
  }
  const errors: FieldError[] = [];
  for (const [pointer, list] of byPath) {
    const segments = pointerSegments(pointer);
    const field = fieldPath(segments);
    const value = valueAt(body, segments);
    // In a oneOf (a quantity: number or string), the branch of the value's own type says more
    // than "must be of type" the others.
    const specific = list.filter((v) => !['type', 'oneOf', 'anyOf'].includes(v.keyword));
    const types = [
      ...new Set(list.filter((v) => v.keyword === 'type').map((v) => String(v.params.type))),
    ];
    if (specific.length === 0 && types.length > 0) {
      errors.push(fieldError.typeInvalid(field, value, `must be of type ${types.join(' or ')}`));
    }
    for (const violation of specific) {
      errors.push(schemaViolationToFieldError(violation, field, value));
    }
    if (specific.length === 0 && types.length === 0) {
      errors.push(fieldError.invalid(field, value, list[0]?.message ?? 'is invalid'));
    }
  }
  return errors;
}

function schemaViolationToFieldError(
  violation: SchemaViolation,
  field: string,
  value: unknown,
): FieldError {
  switch (violation.keyword) {
    case 'required':
      return fieldError.required(childField(field, String(violation.params.missingProperty)));
    case 'enum': {
      const allowed = violation.params.allowedValues;
      return fieldError.notSupported(
        field,
        value,
        Array.isArray(allowed) ? allowed.map(String) : [],
      );
    }
    case 'format':
      if (violation.params.format === 'quantity') {
        return fieldError.invalid(
          field,
          value,
          `quantities must match the regular expression '${QUANTITY_REGEX_TEXT}'`,
        );
      }
      return fieldError.invalid(field, value, `must be a valid ${String(violation.params.format)}`);
    default:
      return fieldError.invalid(field, value, violation.message ?? violation.keyword);
  }
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Fields of a Pod that are maps: their keys render as `[key]`. */
const MAP_FIELDS = new Set([
  'labels',
  'annotations',
  'limits',
  'requests',
  'nodeSelector',
  'overhead',
  'allocatedResources',
]);

/** `/spec/containers/0/command` → `spec.containers[0].command` (field.Path rendering). */
function fieldPath(segments: readonly string[]): string {
  let path = '';
  let parent = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment) || MAP_FIELDS.has(parent)) path += `[${segment}]`;
    else path = childField(path, segment);
    parent = segment;
  }
  return path;
}

function childField(path: string, child: string): string {
  return path === '' ? child : `${path}.${child}`;
}

function valueAt(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (const segment of segments) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

// ---------------------------------------------------------------------------------------------
// Layer 2: k8s.io/apimachinery/pkg/util/validation

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL_ERR =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_ERR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_ERR =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_ERR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const ENV_VAR_NAME_FMT = '[-._a-zA-Z][-._a-zA-Z0-9]*';
const ENV_VAR_NAME_ERR =
  "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit";

const whole = (fmt: string) => new RegExp(`^${fmt}$`);
const DNS1123_LABEL = whole(DNS1123_LABEL_FMT);
const DNS1123_SUBDOMAIN = whole(DNS1123_SUBDOMAIN_FMT);
const QUALIFIED_NAME = whole(QUALIFIED_NAME_FMT);
const LABEL_VALUE = whole(LABEL_VALUE_FMT);
const ENV_VAR_NAME = whole(ENV_VAR_NAME_FMT);

export const DNS1123_LABEL_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
export const LABEL_VALUE_MAX_LENGTH = 63;
export const QUALIFIED_NAME_MAX_LENGTH = 63;
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}

export function regexError(message: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${fmt}')`;
  const listed = examples.map((e) => `'${e}', `).join(' or ');
  return `${message} (e.g. ${listed}regex used for validation is '${fmt}')`;
}

/** Go's len(): bytes of the UTF-8 encoding. */
function byteLength(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

export function isDns1123Label(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_LABEL_MAX_LENGTH) {
    errors.push(maxLenError(DNS1123_LABEL_MAX_LENGTH));
  }
  if (!DNS1123_LABEL.test(value)) {
    if (DNS1123_SUBDOMAIN.test(value)) errors.push('must not contain dots');
    else errors.push(regexError(DNS1123_LABEL_ERR, DNS1123_LABEL_FMT, 'my-name', '123-abc'));
  }
  return errors;
}

export function isDns1123Subdomain(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > DNS1123_SUBDOMAIN_MAX_LENGTH) {
    errors.push(maxLenError(DNS1123_SUBDOMAIN_MAX_LENGTH));
  }
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errors.push(regexError(DNS1123_SUBDOMAIN_ERR, DNS1123_SUBDOMAIN_FMT, 'example.com'));
  }
  return errors;
}

/** A label key or annotation key: `[prefix/]name`. */
export function isQualifiedName(value: string): string[] {
  const errors: string[] = [];
  const parts = value.split('/');
  let name: string;
  if (parts.length === 1) {
    name = value;
  } else if (parts.length === 2) {
    const [prefix = '', rest = ''] = parts;
    name = rest;
    if (prefix === '') errors.push('prefix part must be non-empty');
    else errors.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name === '') errors.push('name part must be non-empty');
  else if (byteLength(name) > QUALIFIED_NAME_MAX_LENGTH) {
    errors.push(`name part ${maxLenError(QUALIFIED_NAME_MAX_LENGTH)}`);
  }
  if (!QUALIFIED_NAME.test(name)) {
    errors.push(
      `name part ${regexError(QUALIFIED_NAME_ERR, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`,
    );
  }
  return errors;
}

export function isValidLabelValue(value: string): string[] {
  const errors: string[] = [];
  if (byteLength(value) > LABEL_VALUE_MAX_LENGTH) errors.push(maxLenError(LABEL_VALUE_MAX_LENGTH));
  if (!LABEL_VALUE.test(value)) {
    errors.push(regexError(LABEL_VALUE_ERR, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  }
  return errors;
}

export function isEnvVarName(value: string): string[] {
  const errors: string[] = [];
  if (!ENV_VAR_NAME.test(value)) {
    errors.push(
      regexError(ENV_VAR_NAME_ERR, ENV_VAR_NAME_FMT, 'my.env-name', 'MY_ENV.NAME', 'MyEnvName1'),
    );
  }
  if (value === '.') errors.push("must not be '.'");
  else if (value === '..') errors.push("must not be '..'");
  else if (value.startsWith('..')) errors.push("must not start with '..'");
  return errors;
}

/** A generateName may end in '-': it is checked as if a character followed. */
function maskTrailingDash(name: string): string {
  return name.endsWith('-') ? `${name.slice(0, -1)}a` : name;
}

// ---------------------------------------------------------------------------------------------
// Resource quantities (k8s.io/apimachinery/pkg/api/resource)

export const QUANTITY_REGEX_TEXT = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
const QUANTITY =
  /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(|[numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]+)$/;
const QUANTITY_SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a quantity as a float (close enough to compare), or undefined if unparseable. */
export function parseQuantity(quantity: string | number): number | undefined {
  if (typeof quantity === 'number') return Number.isFinite(quantity) ? quantity : undefined;
  const match = QUANTITY.exec(quantity);
  if (match === null) return undefined;
  const [, number = '', suffix = ''] = match;
  const base = Number(number);
  if (/^[eE]/.test(suffix)) return base * 10 ** Number(suffix.slice(1));
  const multiplier = QUANTITY_SUFFIX[suffix];
  return multiplier === undefined ? undefined : base * multiplier;
}

// ---------------------------------------------------------------------------------------------
// ObjectMeta (k8s.io/apimachinery/pkg/api/validation/objectmeta.go)

export function validateLabels(
  labels: Record<string, string> | undefined,
  field: string,
): FieldError[] {
  const errors: FieldError[] = [];
  for (const key of Object.keys(labels ?? {}).sort()) {
    const value = labels?.[key] ?? '';
    for (const message of isQualifiedName(key))
      errors.push(fieldError.invalid(field, key, message));
    for (const message of isValidLabelValue(value)) {
      errors.push(fieldError.invalid(field, value, message));
    }
  }
  return errors;
}

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  field: string,
): FieldError[] {
  const errors: FieldError[] = [];
  let totalSize = 0;
  for (const key of Object.keys(annotations ?? {}).sort()) {
    // The rule is QualifiedName except that case doesn't matter.
    for (const message of isQualifiedName(key.toLowerCase())) {
      errors.push(fieldError.invalid(field, key, message));
    }
    totalSize += byteLength(key) + byteLength(annotations?.[key] ?? '');
  }
  if (totalSize > TOTAL_ANNOTATION_SIZE_LIMIT) {
    errors.push(fieldError.tooLong(field, TOTAL_ANNOTATION_SIZE_LIMIT));
  }
  return errors;
}

export function validateObjectMeta(meta: ObjectMeta, field = 'metadata'): FieldError[] {
  const errors: FieldError[] = [];
  const generateName = meta.generateName ?? '';
  if (generateName !== '') {
    for (const message of isDns1123Subdomain(maskTrailingDash(generateName))) {
      errors.push(fieldError.invalid(`${field}.generateName`, generateName, message));
    }
  }
  const name = meta.name ?? '';
  if (name === '') {
    errors.push(fieldError.required(`${field}.name`, 'name or generateName is required'));
  } else {
    for (const message of isDns1123Subdomain(name)) {
      errors.push(fieldError.invalid(`${field}.name`, name, message));
    }
  }
  errors.push(...validateLabels(meta.labels, `${field}.labels`));
  errors.push(...validateAnnotations(meta.annotations, `${field}.annotations`));
  return errors;
}

// ---------------------------------------------------------------------------------------------
// PodSpec (pkg/apis/core/validation/validation.go), the common parts

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

export function validatePodCreate(pod: PodObject): FieldError[] {
  return [
    ...validateObjectMeta(pod.metadata ?? {}, 'metadata'),
    ...validatePodSpec(pod.spec, 'spec'),
  ];
}

export function validatePodSpec(spec: PodSpec | undefined, field = 'spec'): FieldError[] {
  if (spec === undefined) return [fieldError.required(field)];
  const errors: FieldError[] = [];
  const volumeNames = new Set<string>();
  (spec.volumes ?? []).forEach((volume, i) => {
    const path = `${field}.volumes[${i}]`;
    if (volume.name === '') errors.push(fieldError.required(`${path}.name`));
    else {
      for (const message of isDns1123Label(volume.name)) {
        errors.push(fieldError.invalid(`${path}.name`, volume.name, message));
      }
      if (volumeNames.has(volume.name))
        errors.push(fieldError.duplicate(`${path}.name`, volume.name));
    }
    volumeNames.add(volume.name);
    const sources = Object.keys(volume).filter((key) => key !== 'name');
    if (sources.length === 0) errors.push(fieldError.required(path, 'must specify a volume type'));
    for (const extra of sources.slice(1)) {
      errors.push(
        fieldError.forbidden(`${path}.${extra}`, 'may not specify more than 1 volume type'),
      );
    }
  });

  const containerNames = new Set<string>();
  if (spec.containers.length === 0) errors.push(fieldError.required(`${field}.containers`));
  spec.containers.forEach((container, i) => {
    errors.push(
      ...validateContainer(container, `${field}.containers[${i}]`, containerNames, volumeNames),
    );
  });
  (spec.initContainers ?? []).forEach((container, i) => {
    errors.push(
      ...validateContainer(container, `${field}.initContainers[${i}]`, containerNames, volumeNames),
    );
  });

  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy)) {
    errors.push(
      fieldError.notSupported(`${field}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES),
    );
  }
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy)) {
    errors.push(fieldError.notSupported(`${field}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  }
  errors.push(...validateLabels(spec.nodeSelector, `${field}.nodeSelector`));
  if (spec.serviceAccountName) {
    for (const message of isDns1123Subdomain(spec.serviceAccountName)) {
      errors.push(
        fieldError.invalid(`${field}.serviceAccountName`, spec.serviceAccountName, message),
      );
    }
  }
  if (spec.nodeName) {
    for (const message of isDns1123Subdomain(spec.nodeName)) {
      errors.push(fieldError.invalid(`${field}.nodeName`, spec.nodeName, message));
    }
  }
  if (spec.activeDeadlineSeconds !== undefined) {
    const value = spec.activeDeadlineSeconds;
    if (value < 1 || value > 2147483647) {
      errors.push(
        fieldError.invalid(
          `${field}.activeDeadlineSeconds`,
          value,
          'must be between 1 and 2147483647, inclusive',
        ),
      );
    }
  }
  return errors;
}

function validateContainer(
  container: Container,
  path: string,
  seenNames: Set<string>,
  volumeNames: ReadonlySet<string>,
): FieldError[] {
  const errors: FieldError[] = [];
  if (container.name === '') errors.push(fieldError.required(`${path}.name`));
  else {
    for (const message of isDns1123Label(container.name)) {
      errors.push(fieldError.invalid(`${path}.name`, container.name, message));
    }
    if (seenNames.has(container.name)) {
      errors.push(fieldError.duplicate(`${path}.name`, container.name));
    }
    seenNames.add(container.name);
  }

  const image = container.image ?? '';
  if (image === '') errors.push(fieldError.required(`${path}.image`));
  else if (image.trim() !== image) {
    errors.push(
      fieldError.invalid(`${path}.image`, image, 'must not have leading or trailing whitespace'),
    );
  }

  (container.ports ?? []).forEach((port, i) => {
    const portPath = `${path}.ports[${i}]`;
    if (port.containerPort < 1 || port.containerPort > 65535) {
      errors.push(
        fieldError.invalid(
          `${portPath}.containerPort`,
          port.containerPort,
          'must be between 1 and 65535, inclusive',
        ),
      );
    }
    if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) {
      errors.push(fieldError.notSupported(`${portPath}.protocol`, port.protocol, PROTOCOLS));
    }
  });

  (container.env ?? []).forEach((env, i) => {
    const envPath = `${path}.env[${i}]`;
    if (env.name === '') errors.push(fieldError.required(`${envPath}.name`));
    else {
      for (const message of isEnvVarName(env.name)) {
        errors.push(fieldError.invalid(`${envPath}.name`, env.name, message));
      }
    }
    if (env.valueFrom !== undefined && (env.value ?? '') !== '') {
      errors.push(
        fieldError.invalid(
          `${envPath}.valueFrom`,
          '',
          'may not be specified when `value` is not empty',
        ),
      );
    }
  });

  (container.volumeMounts ?? []).forEach((mount, i) => {
    const mountPath = `${path}.volumeMounts[${i}]`;
    if (mount.name === '') errors.push(fieldError.required(`${mountPath}.name`));
    else if (!volumeNames.has(mount.name)) {
      errors.push(fieldError.notFound(`${mountPath}.name`, mount.name));
    }
    if (mount.mountPath === '') errors.push(fieldError.required(`${mountPath}.mountPath`));
  });

  errors.push(...validateResources(container.resources, `${path}.resources`));

  if (
    container.imagePullPolicy !== undefined &&
    !PULL_POLICIES.includes(container.imagePullPolicy)
  ) {
    errors.push(
      fieldError.notSupported(`${path}.imagePullPolicy`, container.imagePullPolicy, PULL_POLICIES),
    );
  }
  const messagePolicy = container.terminationMessagePolicy;
  if (messagePolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(messagePolicy)) {
    errors.push(
      fieldError.notSupported(
        `${path}.terminationMessagePolicy`,
        messagePolicy,
        TERMINATION_MESSAGE_POLICIES,
      ),
    );
  }
  return errors;
}

function validateResourceName(name: string, field: string): FieldError[] {
  if (!name.includes('/')) {
    if (STANDARD_CONTAINER_RESOURCES.has(name) || name.startsWith('hugepages-')) return [];
    return [fieldError.invalid(field, name, 'must be a standard resource for containers')];
  }
  return isQualifiedName(name).map((message) => fieldError.invalid(field, name, message));
}

export function validateResources(
  resources: ResourceRequirements | undefined,
  field: string,
): FieldError[] {
  const errors: FieldError[] = [];
  const limits = resources?.limits ?? {};
  const requests = resources?.requests ?? {};
  const check = (name: string, quantity: string | number, keyField: string): number | undefined => {
    errors.push(...validateResourceName(name, keyField));
    const value = parseQuantity(quantity);
    if (value === undefined) {
      errors.push(
        fieldError.invalid(
          keyField,
          String(quantity),
          `quantities must match the regular expression '${QUANTITY_REGEX_TEXT}'`,
        ),
      );
    } else if (value < 0) {
      errors.push(
        fieldError.invalid(keyField, String(quantity), 'must be greater than or equal to 0'),
      );
    }
    return value;
  };
  for (const name of Object.keys(limits).sort()) {
    const quantity = limits[name];
    if (quantity !== undefined) check(name, quantity, `${field}.limits[${name}]`);
  }
  for (const name of Object.keys(requests).sort()) {
    const quantity = requests[name];
    if (quantity === undefined) continue;
    const request = check(name, quantity, `${field}.requests[${name}]`);
    const limitQuantity = limits[name];
    const limit = limitQuantity === undefined ? undefined : parseQuantity(limitQuantity);
    if (request !== undefined && limit !== undefined && request > limit) {
      errors.push(
        fieldError.invalid(
          `${field}.requests`,
          String(quantity),
          `must be less than or equal to ${name} limit of ${String(limitQuantity)}`,
        ),
      );
    }
  }
  return errors;
}
