// The parsers of single configuration values: each returns the value, or throws a ConfigError
// naming its variable and what was expected. src/config/config.ts puts them together.

import { isEnvName } from '../formats/env-names.ts';
import { imagePatternProblem, isImageReference } from '../formats/images.ts';
import { isDns1123Label, isLabelValue, isQualifiedName } from '../formats/names.ts';
import {
  isPositiveQuantity,
  isQuantity,
  isResourceName,
  RESOURCE_NAMES,
  requestAboveLimit,
} from '../formats/quantities.ts';
import { ConfigError } from './errors.ts';

export const WAIT_FOR_VALUES = ['created', 'scheduled', 'ready'] as const;
export type WaitFor = (typeof WAIT_FOR_VALUES)[number];

/** Longest CLIENT_GRACE_PERIOD_SECONDS: a release must not leave a pod terminating for days. */
export const MAX_CLIENT_GRACE_PERIOD_SECONDS = 3600;

export interface ContainerResources {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

export const OVERRIDE_FIELDS = ['image', 'command', 'args', 'env', 'resources'] as const;
export type OverrideField = (typeof OVERRIDE_FIELDS)[number];

/** The fields a request may override, and the images it may ask for. */
export interface OverridePolicy {
  readonly allowedOverrides: ReadonlySet<OverrideField>;
  readonly allowedImages: readonly string[];
}

export function parseNamespace(value: string): string {
  if (!isDns1123Label(value)) {
    throw new ConfigError(
      'CLIENT_NAMESPACE',
      `"${value}" is not a namespace name (lowercase letters, digits and '-', at most 63 characters)`,
    );
  }
  return value;
}

export function parseImage(value: string): string {
  if (!isImageReference(value)) {
    throw new ConfigError(
      'CLIENT_IMAGE',
      `"${value}" is not an image reference such as alpine/curl or ghcr.io/acme/client:1.2`,
    );
  }
  return value;
}

/** A JSON array of strings, or words separated by spaces (no quoting). */
export function parseCommand(value: string): string[] {
  const trimmed = value.trim();
  const words = trimmed.startsWith('[') ? parseJsonStringArray(trimmed) : trimmed.split(/\s+/);
  if (words.length === 0 || words[0]?.trim() === '') {
    throw new ConfigError('CLIENT_COMMAND', 'is empty; give a command such as "sleep infinity"');
  }
  return words;
}

function parseJsonStringArray(value: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError('CLIENT_COMMAND', 'starts with "[" but is not a JSON array');
  }
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) {
    throw new ConfigError('CLIENT_COMMAND', 'must be a JSON array of strings');
  }
  return parsed;
}

/** A label or annotation key; empty disables it. */
export function parseGatewayKey(
  variable: 'GATEWAY_LABEL' | 'GATEWAY_ANNOTATION',
  value: string,
): string | undefined {
  if (value === '') return undefined;
  if (!isQualifiedName(value)) {
    throw new ConfigError(variable, `"${value}" is not a valid label/annotation key`);
  }
  return value;
}

export function parseGateways(value: string | undefined): ReadonlySet<string> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const names = value.split(',').map((name) => name.trim());
  const invalid = names.filter((name) => name === '' || !isLabelValue(name));
  if (invalid.length > 0) {
    throw new ConfigError(
      'GATEWAYS',
      `${invalid.map((name) => JSON.stringify(name)).join(', ')} is not a gateway name (a comma-separated list of label values)`,
    );
  }
  return Object.freeze(new Set(names));
}

export function parseEventSource(value: string): string {
  // A URI-reference: reject what cannot appear in one rather than parse the full grammar. It is
  // ASCII, and it travels as a reply header (ce-source): a control or non-ASCII character there
  // would make every reply fail.
  if (value === '' || /[^\x21-\x7e]|[<>"{}|\\^`]/.test(value)) {
    throw new ConfigError('EVENT_SOURCE', `"${value}" is not a URI-reference`);
  }
  return value;
}

/** `cpu=10m,memory=16Mi`; an empty value sets none. */
export function parseResourceList(
  variable: string,
  value: string,
): Readonly<Record<string, string>> {
  const resources: Record<string, string> = {};
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const [name = '', quantity = ''] = entry.split('=').map((part) => part.trim());
    if (!isResourceName(name) || !isQuantity(quantity)) {
      throw new ConfigError(
        variable,
        `"${entry}" is not <resource>=<quantity> with resource one of ${RESOURCE_NAMES.join(', ')} (e.g. cpu=10m,memory=16Mi)`,
      );
    }
    if (Object.hasOwn(resources, name)) {
      throw new ConfigError(variable, `sets ${name} twice; give each resource once`);
    }
    resources[name] = quantity;
  }
  return Object.freeze(resources);
}

/** A container name: a DNS-1123 label, as the API server validates it. */
export function parseContainerName(variable: string, value: string): string {
  if (!isDns1123Label(value)) {
    throw new ConfigError(
      variable,
      `"${value}" is not a container name: lowercase letters, digits and '-', at most 63 characters`,
    );
  }
  return value;
}

export function parseOptionalBoolean(
  variable: string,
  value: string | undefined,
): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(variable, `"${value}" is not true or false`);
}

/** What a whole-number setting may be: from `least` to `most`, counted in `unit` when it has one. */
export interface WholeNumberRange {
  readonly least: number;
  readonly most: number;
  readonly unit?: 'seconds' | 'milliseconds' | 'bytes' | 'characters';
}

/**
 * The one reader of whole-number settings: plain decimal digits (Number() would also read "0x10",
 * "1e3", " 16 " and "16.0"), within the range; undefined when unset or empty.
 */
export function parseWholeNumber(
  variable: string,
  value: string | undefined,
  { least, most, unit }: WholeNumberRange,
): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (/^\d+$/.test(value) && number > most) {
    throw new ConfigError(variable, `${value} is above the maximum, ${most}`);
  }
  if (!/^\d+$/.test(value) || number < least) {
    const of = unit === undefined ? '' : ` of ${unit}`;
    throw new ConfigError(
      variable,
      `"${value}" is not a whole number${of} from ${least} to ${most}`,
    );
  }
  return number;
}

export function parseWaitFor(value: string | undefined): WaitFor {
  if (value === undefined || value === '') return 'created';
  const known = WAIT_FOR_VALUES.find((candidate) => candidate === value);
  if (known) return known;
  throw new ConfigError('WAIT_FOR', `"${value}" is not "created", "scheduled" or "ready"`);
}

/** Longest SWEEP_INTERVAL_SECONDS: the PingSource of deploy/ sweeps every ten minutes. */
export const MAX_SWEEP_INTERVAL_SECONDS = 3600;

/** The `source` a Knative PingSource gives its events: /apis/v1/namespaces/<ns>/pingsources/<name>. */
export function parsePingSource(value: string): string {
  if (
    !/^\/apis\/v1\/namespaces\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/pingsources\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/.test(
      value,
    )
  ) {
    throw new ConfigError(
      'PING_SOURCE',
      `"${value}" is not a PingSource's source such as /apis/v1/namespaces/podgateway-provisioner/pingsources/client-provisioner-sweep`,
    );
  }
  return value;
}

/** Limits above zero: a kubelet reads a zero CPU or memory limit as no limit at all. */
export function checkLimitsAboveZero(limits: Readonly<Record<string, string>>): void {
  const zero = RESOURCE_NAMES.filter((name) => {
    const limit = limits[name];
    return limit !== undefined && !isPositiveQuantity(limit);
  });
  if (zero.length === 0) return;
  throw new ConfigError(
    'CLIENT_LIMITS',
    `${zero.join(', ')} is zero: a kubelet reads a zero limit as no limit at all; leave it out to set none`,
  );
}

/** Each request at most its limit: the API server would refuse every pod. */
export function checkRequestsWithinLimits(resources: ContainerResources): void {
  const above = requestAboveLimit(resources.requests, resources.limits);
  if (above === undefined) return;
  throw new ConfigError(
    'CLIENT_REQUESTS',
    `${above}=${resources.requests[above]} is above its limit ${resources.limits[above]} (CLIENT_LIMITS)`,
  );
}

/** ALLOWED_ENV_NAMES: comma-separated variable names; empty: any name but the risky ones. */
export function parseAllowedEnvNames(value: string | undefined): ReadonlySet<string> | undefined {
  const names = (value ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (names.length === 0) return undefined;
  const invalid = names.filter((name) => !isEnvName(name));
  if (invalid.length > 0) {
    throw new ConfigError(
      'ALLOWED_ENV_NAMES',
      `${invalid.map((name) => JSON.stringify(name)).join(', ')} is not an environment variable name`,
    );
  }
  return Object.freeze(new Set(names));
}

/** ALLOWED_OVERRIDES and ALLOWED_IMAGES, checked together. */
export function parseOverridePolicy(
  overrides: string | undefined,
  images: string | undefined,
): OverridePolicy {
  const fields = (overrides ?? '')
    .split(',')
    .map((field) => field.trim())
    .filter(Boolean);
  const unknown = fields.filter((field) => !isOverrideField(field));
  if (unknown.length > 0) {
    throw new ConfigError(
      'ALLOWED_OVERRIDES',
      `${unknown.join(', ')}: not a field that can be overridden (${OVERRIDE_FIELDS.join(', ')})`,
    );
  }
  const allowedImages = (images ?? '')
    .split(',')
    .map((image) => image.trim())
    .filter(Boolean);
  for (const pattern of allowedImages) {
    const problem = imagePatternProblem(pattern);
    if (problem !== undefined) throw new ConfigError('ALLOWED_IMAGES', problem);
  }
  if (fields.includes('image') && allowedImages.length === 0) {
    throw new ConfigError(
      'ALLOWED_IMAGES',
      'is empty while ALLOWED_OVERRIDES allows image: list the images a request may ask for',
    );
  }
  return {
    allowedOverrides: Object.freeze(new Set(fields.filter(isOverrideField))),
    allowedImages: Object.freeze(allowedImages),
  };
}

function isOverrideField(field: string): field is OverrideField {
  return (OVERRIDE_FIELDS as readonly string[]).includes(field);
}
