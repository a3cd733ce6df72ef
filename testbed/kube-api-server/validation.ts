// Validation of a submitted Pod, in two layers:
//  1. the OpenAPI schema (kubernetes-models): types, required properties, enums;
//  2. the rules the API server applies on top (k8s.io/apimachinery/pkg/util/validation,
//     pkg/apis/core/validation), with their messages.
// Each function returns every error it finds, as the real validation does.

import type { IPod } from 'kubernetes-models/v1/Pod';
import {
  byteLength,
  isDns1123Label,
  isDns1123Subdomain,
  isEnvVarName,
  isQualifiedName,
  isValidLabelValue,
  maskTrailingDash,
  parseQuantity,
  QUANTITY_REGEX_TEXT,
  TOTAL_ANNOTATION_SIZE_LIMIT,
} from './apimachinery.ts';
import { type FieldError, fieldError } from './status.ts';

// Existing importers read these from here.
export * from './apimachinery.ts';
export { podSchemaErrors } from './schema.ts';

export type PodObject = IPod;
export type ObjectMeta = NonNullable<IPod['metadata']>;
export type PodSpec = NonNullable<IPod['spec']>;
export type Container = PodSpec['containers'][number];
export type ResourceRequirements = NonNullable<Container['resources']>;

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
