// The function's configuration: read once at start-up from the environment, validated, frozen.
import { readFileSync } from 'node:fs';
import { isDns1123Label, isLabelValue, isQualifiedName } from './names.ts';

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
}

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
] as const;

export const DEFAULTS = {
  clientImage: 'alpine/curl',
  clientCommand: ['sleep', 'infinity'],
  gatewayKey: 'setGateway',
  eventSource: 'podgateway/eventing/client/provisioner',
  namespaceOutsideCluster: 'default',
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

/**
 * Parses the configuration from `env`. `ownNamespace` is the function's namespace when it runs
 * in a cluster: the default for CLIENT_NAMESPACE there.
 */
export function parseConfig(env: Environment, ownNamespace?: string): ProvisionerConfig {
  const gatewayLabel = parseGatewayKey(env, 'GATEWAY_LABEL');
  const gatewayAnnotation = parseGatewayKey(env, 'GATEWAY_ANNOTATION');
  if (gatewayLabel === undefined && gatewayAnnotation === undefined) {
    throw new ConfigError(
      'GATEWAY_LABEL',
      'GATEWAY_LABEL and GATEWAY_ANNOTATION are both empty; at least one is needed for the gateway webhook to see the pod',
    );
  }
  return Object.freeze({
    clientNamespace: parseNamespace(
      env.CLIENT_NAMESPACE ?? ownNamespace ?? DEFAULTS.namespaceOutsideCluster,
    ),
    clientImage: parseImage(env.CLIENT_IMAGE ?? DEFAULTS.clientImage),
    clientCommand: Object.freeze(
      env.CLIENT_COMMAND === undefined
        ? [...DEFAULTS.clientCommand]
        : parseCommand(env.CLIENT_COMMAND),
    ),
    gatewayLabel,
    gatewayAnnotation,
    allowedGateways: parseGateways(env.GATEWAYS),
    eventSource: parseEventSource(env.EVENT_SOURCE ?? DEFAULTS.eventSource),
  });
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
  if (value.trim() === '' || /\s/.test(value)) {
    throw new ConfigError('CLIENT_IMAGE', `"${value}" is not an image reference`);
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
  // A URI-reference: reject what cannot appear in one rather than parse the full grammar.
  if (value === '' || /[\s<>"{}|\\^`]/.test(value)) {
    throw new ConfigError('EVENT_SOURCE', `"${value}" is not a URI-reference`);
  }
  return value;
}
