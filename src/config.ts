// The function's configuration: read once at start-up from the environment, validated, frozen.
import { readFileSync } from 'node:fs';
import { imagePatternProblem, isImageReference } from './images.ts';
import { isDns1123Label, isLabelValue, isQualifiedName } from './names.ts';
import { parseAllowedOrigins } from './origins.ts';

export interface ProvisionerConfig {
  /** Namespace the client pods are created in. */
  readonly clientNamespace: string;
  readonly clientImage: string;
  readonly clientCommand: readonly string[];
  /** Label key the gateway admission webhook reads; undefined when disabled. */
  readonly gatewayLabel: string | undefined;
  /** Annotation key the gateway admission webhook reads; undefined when disabled. */
  readonly gatewayAnnotation: string | undefined;
  /** Gateways a request may name; undefined accepts any valid name. */
  readonly allowedGateways: ReadonlySet<string> | undefined;
  /** `source` of the reply events. */
  readonly eventSource: string;
  /** Resource requests and limits of the client container. */
  readonly clientResources: ContainerResources;
  /** Set `runAsNonRoot` on the client container; undefined leaves it to the image. */
  readonly clientRunAsNonRoot: boolean | undefined;
  readonly clientActiveDeadlineSeconds: number | undefined;
  /** Data fields a request may use to change its pod; none by default. */
  readonly allowedOverrides: ReadonlySet<OverrideField>;
  /** Images a request may ask for: references, `path/*` or `name:*` (src/images.ts). */
  readonly allowedImages: readonly string[];
  /** Browser origins that may post events (CORS); none by default. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** Longest wait for one Kubernetes API answer. */
  readonly apiTimeoutMs: number;
  /** Time an event may take, retries included, before the function answers 503. */
  readonly eventDeadlineMs: number;
  /** Reply `done` once the pod is created, once the scheduler has placed it, or once it is ready. */
  readonly waitFor: WaitFor;
  /** On SIGTERM, how long requests in flight may take before they are answered 503. */
  readonly shutdownGraceMs: number;
  /** A managed pod older than this is deleted by the sweep; undefined: pods live on. */
  readonly clientTtlSeconds: number | undefined;
  /** The grace period of a release's deletion; undefined: the pod's own. */
  readonly gracePeriodSeconds: number | undefined;
}

export const WAIT_FOR_VALUES = ['created', 'scheduled', 'ready'] as const;
export type WaitFor = (typeof WAIT_FOR_VALUES)[number];

/** Longest GRACE_PERIOD_SECONDS: a release must not leave a pod terminating for days. */
export const MAX_GRACE_PERIOD_SECONDS = 3600;

export interface ContainerResources {
  readonly requests: Readonly<Record<string, string>>;
  readonly limits: Readonly<Record<string, string>>;
}

export const OVERRIDE_FIELDS = ['image', 'command', 'args', 'env', 'resources'] as const;
export type OverrideField = (typeof OVERRIDE_FIELDS)[number];

export type Environment = Readonly<Record<string, string | undefined>>;

/** Every variable the configuration reads, so the manifests can be checked against it. */
export const CONFIG_VARIABLES = [
  'CLIENT_NAMESPACE',
  'CLIENT_IMAGE',
  'CLIENT_COMMAND',
  'GATEWAY_LABEL',
  'GATEWAY_ANNOTATION',
  'GATEWAYS',
  'EVENT_SOURCE',
  'CLIENT_REQUESTS',
  'CLIENT_LIMITS',
  'CLIENT_RUN_AS_NON_ROOT',
  'CLIENT_ACTIVE_DEADLINE_SECONDS',
  'ALLOWED_OVERRIDES',
  'ALLOWED_IMAGES',
  'API_TIMEOUT_MS',
  'EVENT_DEADLINE_MS',
  'WAIT_FOR',
  'SHUTDOWN_GRACE_MS',
  'ALLOWED_ORIGINS',
  'CLIENT_TTL_SECONDS',
  'GRACE_PERIOD_SECONDS',
] as const;

export const DEFAULTS = {
  clientImage: 'alpine/curl',
  clientCommand: ['sleep', 'infinity'],
  gatewayKey: 'setGateway',
  eventSource: 'podgateway/eventing/client/provisioner',
  namespaceOutsideCluster: 'default',
  clientRequests: 'cpu=10m,memory=16Mi',
  clientLimits: 'cpu=100m,memory=64Mi,ephemeral-storage=128Mi',
  apiTimeoutMs: 5000,
  eventDeadlineMs: 20000,
  shutdownGraceMs: 20000,
} as const;

/**
 * Ceilings of the duration settings: each is used as a Node timer, which takes at most
 * 2^31-1 ms (about 24.8 days) and turns anything longer into 1 ms. The ceilings are far lower:
 * Knative ends a request after its revision timeout (at most 10 minutes by default).
 */
export const MAXIMA = {
  apiTimeoutMs: 300_000,
  eventDeadlineMs: 600_000,
  shutdownGraceMs: 600_000,
  /** The API server's own bound for a pod's activeDeadlineSeconds (a 32-bit integer). */
  clientActiveDeadlineSeconds: 2 ** 31 - 1,
} as const;

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A configuration value that cannot be used; names the variable so the operator can fix it. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Every problem of a configuration at once, one ConfigError each: start-up reports them all. */
export class ConfigErrors extends ConfigError {
  readonly problems: readonly ConfigError[];
  constructor(problems: readonly ConfigError[]) {
    super(problems.map((problem) => problem.variable).join(', '), 'several problems');
    this.name = 'ConfigErrors';
    this.message = problems.map((problem) => problem.message).join('\n');
    this.problems = problems;
  }
}

/** The ConfigErrors inside `error` (one or several); rethrows anything else. */
export function configProblems(error: unknown): readonly ConfigError[] {
  if (error instanceof ConfigErrors) return error.problems;
  if (error instanceof ConfigError) return [error];
  throw error;
}

/** Throws nothing, the one problem, or all of them as ConfigErrors. */
export function throwProblems(problems: readonly ConfigError[]): void {
  const unique = problems.filter(
    (problem, index) => problems.findIndex((other) => other.message === problem.message) === index,
  );
  const [first] = unique;
  if (first === undefined) return;
  throw unique.length === 1 ? first : new ConfigErrors(unique);
}

type Parsers<T> = { readonly [K in keyof T]: () => T[K] };

/**
 * Runs every field's parser and every check, even after one has failed, so that a start-up
 * reports every bad variable at once. A parser or check reports a problem by throwing a
 * ConfigError; a problem reported twice is reported once.
 */
export function parseAll<T extends object>(
  parsers: Parsers<T>,
  checks: ReadonlyArray<() => void> = [],
): T {
  const problems: ConfigError[] = [];
  const attempt = <V>(parse: () => V): V | undefined => {
    try {
      return parse();
    } catch (error) {
      problems.push(...configProblems(error));
      return undefined;
    }
  };
  const parse: ReadonlyArray<readonly [string, () => unknown]> = Object.entries(parsers);
  const fields = parse.map(([key, parseField]) => [key, attempt(parseField)] as const);
  for (const check of checks) attempt(check);
  throwProblems(problems);
  // Every key of T has its parser's value: nothing failed.
  return Object.freeze(Object.fromEntries(fields)) as T;
}

/**
 * Parses the configuration from `env`. `ownNamespace` is the function's namespace when it runs
 * in a cluster: the default for CLIENT_NAMESPACE there. Throws a ConfigError, or ConfigErrors
 * listing every problem.
 */
export function parseConfig(env: Environment, ownNamespace?: string): ProvisionerConfig {
  const overridePolicy = () => parseOverridePolicy(env.ALLOWED_OVERRIDES, env.ALLOWED_IMAGES);
  return parseAll<ProvisionerConfig>(
    {
      clientNamespace: () =>
        parseNamespace(env.CLIENT_NAMESPACE ?? ownNamespace ?? DEFAULTS.namespaceOutsideCluster),
      clientImage: () => parseImage(env.CLIENT_IMAGE ?? DEFAULTS.clientImage),
      clientCommand: () =>
        Object.freeze(
          env.CLIENT_COMMAND === undefined
            ? [...DEFAULTS.clientCommand]
            : parseCommand(env.CLIENT_COMMAND),
        ),
      gatewayLabel: () => parseGatewayKey(env, 'GATEWAY_LABEL'),
      gatewayAnnotation: () => parseGatewayKey(env, 'GATEWAY_ANNOTATION'),
      allowedGateways: () => parseGateways(env.GATEWAYS),
      eventSource: () => parseEventSource(env.EVENT_SOURCE ?? DEFAULTS.eventSource),
      clientResources: () =>
        Object.freeze({
          requests: parseResourceList(
            'CLIENT_REQUESTS',
            env.CLIENT_REQUESTS ?? DEFAULTS.clientRequests,
          ),
          limits: parseResourceList('CLIENT_LIMITS', env.CLIENT_LIMITS ?? DEFAULTS.clientLimits),
        }),
      clientRunAsNonRoot: () =>
        parseOptionalBoolean('CLIENT_RUN_AS_NON_ROOT', env.CLIENT_RUN_AS_NON_ROOT),
      clientActiveDeadlineSeconds: () =>
        parseOptionalInteger(
          'CLIENT_ACTIVE_DEADLINE_SECONDS',
          env.CLIENT_ACTIVE_DEADLINE_SECONDS,
          MAXIMA.clientActiveDeadlineSeconds,
        ),
      allowedOverrides: () => overridePolicy().allowedOverrides,
      allowedImages: () => overridePolicy().allowedImages,
      apiTimeoutMs: () =>
        parseOptionalInteger('API_TIMEOUT_MS', env.API_TIMEOUT_MS, MAXIMA.apiTimeoutMs) ??
        DEFAULTS.apiTimeoutMs,
      eventDeadlineMs: () =>
        parseOptionalInteger('EVENT_DEADLINE_MS', env.EVENT_DEADLINE_MS, MAXIMA.eventDeadlineMs) ??
        DEFAULTS.eventDeadlineMs,
      waitFor: () => parseWaitFor(env.WAIT_FOR),
      shutdownGraceMs: () =>
        parseOptionalInteger('SHUTDOWN_GRACE_MS', env.SHUTDOWN_GRACE_MS, MAXIMA.shutdownGraceMs) ??
        DEFAULTS.shutdownGraceMs,
      allowedOrigins: () => parseAllowedOrigins(env.ALLOWED_ORIGINS),
      clientTtlSeconds: () =>
        parseOptionalInteger(
          'CLIENT_TTL_SECONDS',
          env.CLIENT_TTL_SECONDS,
          MAXIMA.clientActiveDeadlineSeconds,
        ),
      gracePeriodSeconds: () => parseGracePeriod(env.GRACE_PERIOD_SECONDS),
    },
    [() => requireGatewayKey(env)],
  );
}

function requireGatewayKey(env: Environment): void {
  if (env.GATEWAY_LABEL === '' && env.GATEWAY_ANNOTATION === '') {
    throw new ConfigError(
      'GATEWAY_LABEL',
      'GATEWAY_LABEL and GATEWAY_ANNOTATION are both empty; at least one is needed for the gateway webhook to see the pod',
    );
  }
}

/** Reads the configuration of this process: the environment, and the namespace file in a cluster. */
export function loadConfig(env: Environment = process.env): ProvisionerConfig {
  return parseConfig(env, env.KUBERNETES_SERVICE_HOST ? readOwnNamespace() : undefined);
}

function readOwnNamespace(): string | undefined {
  try {
    return readFileSync(`${SERVICE_ACCOUNT_DIR}/namespace`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function parseNamespace(value: string): string {
  if (!isDns1123Label(value)) {
    throw new ConfigError(
      'CLIENT_NAMESPACE',
      `"${value}" is not a namespace name (lowercase letters, digits and '-', at most 63 characters)`,
    );
  }
  return value;
}

function parseImage(value: string): string {
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
  if (words.length === 0 || words[0] === '') {
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

function parseGatewayKey(env: Environment, variable: 'GATEWAY_LABEL' | 'GATEWAY_ANNOTATION') {
  const value = env[variable] ?? DEFAULTS.gatewayKey;
  if (value === '') return undefined;
  if (!isQualifiedName(value)) {
    throw new ConfigError(variable, `"${value}" is not a valid label/annotation key`);
  }
  return value;
}

function parseGateways(value: string | undefined): ReadonlySet<string> | undefined {
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

function parseEventSource(value: string): string {
  // A URI-reference: reject what cannot appear in one rather than parse the full grammar. It is
  // ASCII, and it travels as a reply header (ce-source): a control or non-ASCII character there
  // would make every reply fail.
  if (value === '' || /[^\x21-\x7e]|[<>"{}|\\^`]/.test(value)) {
    throw new ConfigError('EVENT_SOURCE', `"${value}" is not a URI-reference`);
  }
  return value;
}

/** A Kubernetes quantity: `100m`, `64Mi`, `1.5`, `1e3`. */
export function isQuantity(value: string): boolean {
  return /^[+]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/.test(value);
}

const RESOURCE_NAMES = ['cpu', 'memory', 'ephemeral-storage'];

/** `cpu=10m,memory=16Mi`; an empty value sets none. */
function parseResourceList(variable: string, value: string): Readonly<Record<string, string>> {
  const resources: Record<string, string> = {};
  for (const entry of value.split(',').map((part) => part.trim())) {
    if (entry === '') continue;
    const [name = '', quantity = ''] = entry.split('=').map((part) => part.trim());
    if (!RESOURCE_NAMES.includes(name) || !isQuantity(quantity)) {
      throw new ConfigError(
        variable,
        `"${entry}" is not <resource>=<quantity> with resource one of ${RESOURCE_NAMES.join(', ')} (e.g. cpu=10m,memory=16Mi)`,
      );
    }
    resources[name] = quantity;
  }
  return Object.freeze(resources);
}

function parseOptionalBoolean(variable: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(variable, `"${value}" is not true or false`);
}

function parseOptionalInteger(
  variable: string,
  value: string | undefined,
  maximum: number,
): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new ConfigError(variable, `"${value}" is not a positive whole number`);
  }
  if (number > maximum) {
    throw new ConfigError(variable, `${value} is above the maximum, ${maximum}`);
  }
  return number;
}

function parseWaitFor(value: string | undefined): WaitFor {
  if (value === undefined || value === '') return 'created';
  const known = WAIT_FOR_VALUES.find((candidate) => candidate === value);
  if (known) return known;
  throw new ConfigError('WAIT_FOR', `"${value}" is not "created", "scheduled" or "ready"`);
}

/** 0 (delete at once) up to MAX_GRACE_PERIOD_SECONDS; empty: the pod's own grace period. */
function parseGracePeriod(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!/^\d+$/.test(value.trim()) || seconds > MAX_GRACE_PERIOD_SECONDS) {
    throw new ConfigError(
      'GRACE_PERIOD_SECONDS',
      `"${value}" is not a whole number of seconds from 0 to ${MAX_GRACE_PERIOD_SECONDS}`,
    );
  }
  return seconds;
}

function parseOverridePolicy(
  overrides: string | undefined,
  images: string | undefined,
): Pick<ProvisionerConfig, 'allowedOverrides' | 'allowedImages'> {
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
