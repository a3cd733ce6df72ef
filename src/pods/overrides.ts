// Per-event changes to the client pod (image, command, args, env, resources), honoured only
// within the operator's policy: ALLOWED_OVERRIDES and ALLOWED_IMAGES.
import {
  type ContainerResources,
  isQuantity,
  OVERRIDE_FIELDS,
  type OverrideField,
  type ProvisionerConfig,
} from '../config/config.ts';
import { imageMatches, isImageReference } from '../formats/images.ts';

export interface PodOverrides {
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  readonly resources?: Partial<ContainerResources>;
}

/** Why not: `rejected` (malformed) is answered with a 400, `failed` (forbidden) with a PolicyViolation reply. */
export interface OverridesProblem {
  readonly kind: 'rejected' | 'failed';
  readonly message: string;
}

export type OverridesVerdict =
  | { readonly kind: 'accepted'; readonly overrides: PodOverrides }
  | OverridesProblem;

const MAX_WORDS = 64;
const MAX_WORD_LENGTH = 4096;
const MAX_ENV = 64;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'];

export function readOverrides(
  field: (name: string) => unknown,
  config: ProvisionerConfig,
): OverridesVerdict {
  const requested = OVERRIDE_FIELDS.filter((name) => field(name) !== undefined);
  const notAllowed = requested.filter((name) => !config.allowedOverrides.has(name));
  if (notAllowed.length > 0) {
    const allowed = [...config.allowedOverrides].join(', ') || 'none';
    return forbidden(
      `data.${notAllowed.join(', data.')}: this function does not let requests set ${notAllowed.join(', ')} (ALLOWED_OVERRIDES allows: ${allowed})`,
    );
  }
  const overrides: Record<string, unknown> = {};
  for (const name of requested) {
    const result = readOverride(name, field(name), config);
    if (result.kind !== 'value') return result;
    overrides[name] = result.value;
  }
  return { kind: 'accepted', overrides };
}

type FieldResult = { readonly kind: 'value'; readonly value: unknown } | OverridesProblem;

function readOverride(name: OverrideField, value: unknown, config: ProvisionerConfig): FieldResult {
  switch (name) {
    case 'image':
      return readImage(value, config.allowedImages);
    case 'command':
    case 'args':
      return readWords(name, value);
    case 'env':
      return readEnv(value);
    case 'resources':
      return readResources(value, config.clientResources.limits);
  }
}

function readImage(value: unknown, allowedImages: readonly string[]): FieldResult {
  if (typeof value !== 'string' || value.length > 512 || !isImageReference(value)) {
    const shown = typeof value === 'string' && value.length <= 200 ? JSON.stringify(value) : '';
    return malformed(
      `data.image must be an image reference such as "alpine/curl:8.5.0"${shown ? `, got ${shown}` : ''}`,
    );
  }
  if (!allowedImages.some((pattern) => imageMatches(value, pattern))) {
    return forbidden(
      `data.image "${value}" is not allowed (ALLOWED_IMAGES: ${allowedImages.join(', ')})`,
    );
  }
  return { kind: 'value', value };
}

function readWords(name: 'command' | 'args', value: unknown): FieldResult {
  const valid =
    Array.isArray(value) &&
    value.length <= MAX_WORDS &&
    value.every((word) => typeof word === 'string' && word.length <= MAX_WORD_LENGTH) &&
    (name === 'args' || value.length > 0);
  if (!valid) {
    return malformed(
      `data.${name} must be an array of strings (at most ${MAX_WORDS}, each at most ${MAX_WORD_LENGTH} characters${name === 'command' ? ', not empty' : ''})`,
    );
  }
  return { kind: 'value', value: [...value] };
}

function readEnv(value: unknown): FieldResult {
  if (!isPlainObject(value)) {
    return malformed(
      'data.env must be an object of names to string values, e.g. {"HTTP_PROXY": ""}',
    );
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_ENV) return malformed(`data.env has more than ${MAX_ENV} variables`);
  for (const [name, text] of entries) {
    if (!ENV_NAME.test(name)) return malformed(`data.env: "${name}" is not a valid variable name`);
    if (typeof text !== 'string') return malformed(`data.env.${name} must be a string`);
  }
  return { kind: 'value', value: Object.fromEntries(entries) };
}

function readResources(value: unknown, ceiling: Readonly<Record<string, string>>): FieldResult {
  if (!isPlainObject(value)) {
    return malformed('data.resources must be an object with requests and/or limits');
  }
  const resources: Record<string, Record<string, string>> = {};
  for (const [kind, list] of Object.entries(value)) {
    if ((kind !== 'requests' && kind !== 'limits') || !isPlainObject(list)) {
      return malformed('data.resources may hold only requests and limits, each an object');
    }
    const quantities: Record<string, string> = {};
    for (const [resource, quantity] of Object.entries(list)) {
      if (
        !RESOURCE_NAMES.includes(resource) ||
        typeof quantity !== 'string' ||
        !isQuantity(quantity)
      ) {
        return malformed(
          `data.resources.${kind}.${resource}: expected one of ${RESOURCE_NAMES.join(', ')} with a quantity such as "100m" or "64Mi"`,
        );
      }
      const cap = ceiling[resource];
      if (cap === undefined) {
        return forbidden(
          `data.resources.${kind}.${resource}: CLIENT_LIMITS sets no ceiling for ${resource}, so a request may not set it`,
        );
      }
      // Written so that a value that cannot be compared (NaN) is refused, not let through.
      if (!(quantityValue(quantity) <= quantityValue(cap))) {
        return forbidden(
          `data.resources.${kind}.${resource} ${quantity} is above the limit ${cap} (CLIENT_LIMITS)`,
        );
      }
      quantities[resource] = quantity;
    }
    resources[kind] = quantities;
  }
  return { kind: 'value', value: resources };
}

const SUFFIXES: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
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

/** The number a quantity stands for (cores, bytes), for comparing two of them. */
export function quantityValue(quantity: string): number {
  const match = /^\+?([\d.]+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/.exec(quantity);
  if (!match) return Number.NaN;
  const [, number = '', suffix = ''] = match;
  // An exponent (`1e3`), not the exa suffixes `E` and `Ei`.
  if (/^[eE][+-]?\d/.test(suffix)) return Number(number + suffix);
  return Number(number) * (SUFFIXES[suffix] ?? Number.NaN);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(message: string): OverridesProblem {
  return { kind: 'rejected', message };
}

function forbidden(message: string): OverridesProblem {
  return { kind: 'failed', message };
}
