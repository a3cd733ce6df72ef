// Per-event changes to the client pod (image, command, args, env, resources), honoured only
// within the operator's policy: ALLOWED_OVERRIDES and ALLOWED_IMAGES.
import {
  type ContainerResources,
  OVERRIDE_FIELDS,
  type OverrideField,
  type ProvisionerConfig,
} from '../config/config.ts';
import { bounded, MAX_NAME_SHOWN, quoted } from '../formats/bounded-text.ts';
import { controlCharacterIn } from '../formats/control-characters.ts';
import { isEnvName, isRiskyEnvName } from '../formats/env-names.ts';
import { imageMatches, isImageReference } from '../formats/images.ts';
import {
  isAtMost,
  isPositiveQuantity,
  isQuantity,
  isResourceName,
  RESOURCE_NAMES,
  requestAboveLimit,
} from '../formats/quantities.ts';

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

export function readOverrides(
  field: (name: string) => unknown,
  config: ProvisionerConfig,
): OverridesVerdict {
  const requested = OVERRIDE_FIELDS.filter((name) => field(name) !== undefined);
  // A malformed field is a 400 whatever the policy: the request is wrong in itself, and a
  // producer that fixes the policy must not then learn of the malformation.
  const results = requested.map((name) => [name, readOverride(name, field(name), config)] as const);
  const malformedField = results.find(
    (entry): entry is readonly [OverrideField, OverridesProblem] => entry[1].kind === 'rejected',
  );
  if (malformedField) return malformedField[1];
  const notAllowed = requested.filter((name) => !config.allowedOverrides.has(name));
  if (notAllowed.length > 0) {
    const allowed = [...config.allowedOverrides].join(', ') || 'none';
    return forbidden(
      `data.${notAllowed.join(', data.')}: this function does not let requests set ${notAllowed.join(', ')} (ALLOWED_OVERRIDES allows: ${allowed})`,
    );
  }
  const overrides: Record<string, unknown> = {};
  for (const [name, result] of results) {
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
      return readEnv(value, config.allowedEnvNames);
    case 'resources':
      return readResources(value, config.clientResources);
  }
}

function readImage(value: unknown, allowedImages: readonly string[]): FieldResult {
  if (typeof value !== 'string' || value.length > 512 || !isImageReference(value)) {
    const shown = typeof value === 'string' ? quoted(value, 200) : '';
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
  const problem = value
    .map((word: string, index: number) => printedRawProblem(`data.${name}[${index}]`, word))
    .find((found) => found !== undefined);
  if (problem !== undefined) return malformed(problem);
  return { kind: 'value', value: [...value] };
}

/**
 * A control, line-separator or bidirectional character in a value the pod's spec keeps: `kubectl
 * describe pod` prints command, args and env values raw, so an ESC or OSC sequence would act on
 * the operator's terminal (the CVE-2021-25743 class), and a newline would forge lines.
 */
function printedRawProblem(field: string, text: string): string | undefined {
  const where = controlCharacterIn(text);
  if (where === undefined) return undefined;
  return `${field} holds a control, line-separator or bidirectional character (${where}): kubectl describe would print it raw`;
}

function readEnv(value: unknown, allowedNames: ReadonlySet<string> | undefined): FieldResult {
  if (!isPlainObject(value)) {
    return malformed(
      'data.env must be an object of names to string values, e.g. {"TARGET_URL": "https://example.com"}',
    );
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_ENV) return malformed(`data.env has more than ${MAX_ENV} variables`);
  for (const [name, text] of entries) {
    if (!isEnvName(name))
      return malformed(`data.env: ${quoted(name, MAX_NAME_SHOWN)} is not a valid variable name`);
    if (typeof text !== 'string') return malformed(`data.env.${name} must be a string`);
    const problem = printedRawProblem(`data.env.${name}`, text);
    if (problem !== undefined) return malformed(problem);
  }
  for (const [name] of entries) {
    const problem = envNamePolicyProblem(name, allowedNames);
    if (problem) return forbidden(problem);
  }
  return { kind: 'value', value: Object.fromEntries(entries) };
}

/** Why the policy forbids setting `name`; undefined when it allows it. */
function envNamePolicyProblem(
  name: string,
  allowedNames: ReadonlySet<string> | undefined,
): string | undefined {
  if (allowedNames !== undefined && !allowedNames.has(name)) {
    return `data.env.${name}: not a name a request may set (ALLOWED_ENV_NAMES: ${[...allowedNames].join(', ')})`;
  }
  if (allowedNames === undefined && isRiskyEnvName(name)) {
    return `data.env.${name}: a loader, shell, interpreter, proxy or TLS variable, which could change what the client runs, where it connects or whom it trusts; a request may set it only when ALLOWED_ENV_NAMES names it`;
  }
  return undefined;
}

function readResources(value: unknown, configured: ContainerResources): FieldResult {
  const shape = readResourceShape(value);
  if (shape.kind !== 'resources') return shape;
  const asked = shape.resources;
  for (const kind of ['limits', 'requests'] as const) {
    for (const [resource, quantity] of Object.entries(asked[kind] ?? {})) {
      const problem = quantityPolicyProblem(kind, resource, quantity, configured.limits);
      if (problem) return forbidden(problem);
    }
  }
  // What the pod will carry once the defaults are applied: a request above its limit would be
  // refused by the API server, so it is refused here first, naming the field to change.
  const requests = { ...configured.requests, ...asked.requests };
  const limits = { ...configured.limits, ...asked.limits };
  const resource = requestAboveLimit(requests, limits);
  if (resource !== undefined) {
    return forbidden(requestAboveLimitMessage(resource, asked, configured));
  }
  return { kind: 'value', value: asked };
}

type ResourceShape =
  | { readonly kind: 'resources'; readonly resources: Partial<ContainerResources> }
  | OverridesProblem;

/** `{"requests": {...}, "limits": {...}}` with known resources and valid quantities, or a 400. */
function readResourceShape(value: unknown): ResourceShape {
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
      if (!isResourceName(resource) || typeof quantity !== 'string' || !isQuantity(quantity)) {
        return malformed(
          `data.resources.${kind}.${bounded(resource, MAX_NAME_SHOWN)}: expected one of ${RESOURCE_NAMES.join(', ')} with a quantity such as "100m" or "64Mi"`,
        );
      }
      quantities[resource] = quantity;
    }
    resources[kind] = quantities;
  }
  return { kind: 'resources', resources };
}

/** Why one asked quantity is outside the policy; undefined when it is inside. */
function quantityPolicyProblem(
  kind: 'requests' | 'limits',
  resource: string,
  quantity: string,
  ceilings: Readonly<Record<string, string>>,
): string | undefined {
  const field = `data.resources.${kind}.${resource}`;
  const ceiling = ceilings[resource];
  if (ceiling === undefined) {
    return `${field}: CLIENT_LIMITS sets no ceiling for ${resource}, so a request may not set it`;
  }
  if (kind === 'limits' && !isPositiveQuantity(quantity)) {
    return `${field} ${quantity} is not above zero: the kubelet reads a zero limit as no limit (the ceiling is ${ceiling}, CLIENT_LIMITS)`;
  }
  if (!isAtMost(quantity, ceiling)) {
    return `${field} ${quantity} is above the limit ${ceiling} (CLIENT_LIMITS)`;
  }
  return undefined;
}

function requestAboveLimitMessage(
  resource: string,
  asked: Partial<ContainerResources>,
  configured: ContainerResources,
): string {
  const askedRequest = asked.requests?.[resource];
  const askedLimit = asked.limits?.[resource];
  const limit = askedLimit ?? configured.limits[resource];
  if (askedRequest !== undefined) {
    const limitFrom =
      askedLimit === undefined ? 'CLIENT_LIMITS' : `data.resources.limits.${resource}`;
    return `data.resources.requests.${resource} ${askedRequest} is above the limit ${limit} (${limitFrom}): a request may not exceed its limit`;
  }
  return `data.resources.limits.${resource} ${limit} is below the request ${configured.requests[resource]} (CLIENT_REQUESTS): a limit may not be under its request`;
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
