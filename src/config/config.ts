// The function's configuration: read once at start-up from the environment, validated, frozen.
// The value parsers are in src/config/values.ts, the error collection in src/config/errors.ts;
// both are re-exported here, so src/config/config.ts stays the one import for the configuration.
import { readFileSync } from 'node:fs';
import { parseReplyCorrelation, type ReplyCorrelation } from './correlation.ts';
import { ConfigError, parseAll } from './errors.ts';
import { type OidcSettings, parseOidcSettings } from './oidc.ts';
import { parseAllowedOrigins } from './origins.ts';
import {
  type ContainerResources,
  checkLimitsAboveZero,
  checkRequestsWithinLimits,
  MAX_CLIENT_GRACE_PERIOD_SECONDS,
  MAX_SWEEP_INTERVAL_SECONDS,
  type OverrideField,
  parseAllowedEnvNames,
  parseCommand,
  parseContainerName,
  parseEventSource,
  parseGatewayKey,
  parseGateways,
  parseImage,
  parseNamespace,
  parseOptionalBoolean,
  parseOverridePolicy,
  parsePingSource,
  parseResourceList,
  parseWaitFor,
  parseWholeNumber,
  type WaitFor,
} from './values.ts';

export type { ReplyCorrelation } from './correlation.ts';
export { ConfigError, ConfigErrors, parseAll } from './errors.ts';
export { type OidcSettings, subjectAllowed } from './oidc.ts';
export {
  type ContainerResources,
  OVERRIDE_FIELDS,
  type OverrideField,
  parseWholeNumber,
  type WaitFor,
} from './values.ts';

/** The containers the gateway's webhook adds (src/pods/routing.ts). */
export interface RoutingCheck {
  readonly initContainer: string;
  /** Undefined where the gateway's chart injects no sidecar. */
  readonly sidecarContainer: string | undefined;
}

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
  /**
   * Env names a request may set; undefined: any name but the loader's, shells' and
   * interpreters' (src/formats/env-names.ts), which only this list can admit.
   */
  readonly allowedEnvNames: ReadonlySet<string> | undefined;
  /** Images a request may ask for: references, `path/*` or `name:*` (src/formats/images.ts). */
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
  /** The grace period of the function's deletes of a client pod; undefined: the pod's own. */
  readonly clientGracePeriodSeconds: number | undefined;
  /** Failed client pods the sweep keeps, the newest, for their logs. */
  readonly failedPodsHistoryLimit: number;
  /** The gateway's containers a pod must carry to be done; undefined: not checked. */
  readonly routing: RoutingCheck | undefined;
  /** A sweep within this many seconds of the last complete one is answered from it; 0: none. */
  readonly sweepIntervalSeconds: number;
  /** The only `source` whose `dev.knative.sources.ping` events are served (as a sweep). */
  readonly pingSource: string;
  /** With OIDC_AUDIENCE: the token every event must bring, and who may send it; undefined: none. */
  readonly oidc: OidcSettings | undefined;
  /** RequestReply: the request's attribute read and the reply's attribute written. */
  readonly replyCorrelation: ReplyCorrelation;
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
  'CLIENT_REQUESTS',
  'CLIENT_LIMITS',
  'CLIENT_RUN_AS_NON_ROOT',
  'CLIENT_ACTIVE_DEADLINE_SECONDS',
  'ALLOWED_OVERRIDES',
  'ALLOWED_IMAGES',
  'ALLOWED_ENV_NAMES',
  'API_TIMEOUT_MS',
  'EVENT_DEADLINE_MS',
  'WAIT_FOR',
  'SHUTDOWN_GRACE_MS',
  'ALLOWED_ORIGINS',
  'CLIENT_TTL_SECONDS',
  'CLIENT_GRACE_PERIOD_SECONDS',
  'FAILED_PODS_HISTORY_LIMIT',
  'REQUIRE_ROUTING',
  'GATEWAY_INIT_CONTAINER',
  'GATEWAY_SIDECAR_CONTAINER',
  'SWEEP_INTERVAL_SECONDS',
  'PING_SOURCE',
  'OIDC_AUDIENCE',
  'OIDC_SUBJECTS',
  'REPLY_CORRELATION_ATTRIBUTE',
  'REPLY_ID_ATTRIBUTE',
] as const;

/**
 * Settings renamed, each under its name and the name it had: the former name still works, and
 * the start-up says so in one line (formerNameWarnings). Both set, to different values, stop it.
 */
export const FORMER_NAMES = {
  // Beside SHUTDOWN_GRACE_MS (the function's own), the bare name read as the function's.
  CLIENT_GRACE_PERIOD_SECONDS: 'GRACE_PERIOD_SECONDS',
} as const satisfies Partial<Record<(typeof CONFIG_VARIABLES)[number], string>>;

type RenamedSetting = keyof typeof FORMER_NAMES;

/**
 * A renamed setting: its value under its name, else (unset or empty there) under its former one,
 * and the variable it came from, which a problem with the value names.
 */
function renamedSetting(
  env: Environment,
  name: RenamedSetting,
): { readonly variable: string; readonly value: string | undefined } {
  const value = env[name];
  const former = FORMER_NAMES[name];
  if ((value === undefined || value === '') && env[former] !== undefined) {
    return { variable: former, value: env[former] };
  }
  return { variable: name, value };
}

/** A setting set under both names, to different values: which one is meant cannot be told. */
function refuseBothNames(env: Environment, name: RenamedSetting): void {
  const former = FORMER_NAMES[name];
  const value = env[name];
  const formerValue = env[former];
  if (!value || !formerValue || value === formerValue) return;
  throw new ConfigError(
    name,
    `is set, and so is its former name ${former}, to another value; keep ${name} only`,
  );
}

/** One line for each former name set: it still works, under the name it has now. */
export function formerNameWarnings(env: Environment): string[] {
  return Object.entries(FORMER_NAMES)
    .filter(([, former]) => env[former] !== undefined)
    .map(
      ([name, former]) =>
        `warning: ${former} is the former name of ${name}: it is read as ${name}; rename it`,
    );
}

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
  failedPodsHistoryLimit: 3,
  /** The container names the pod-gateway webhook gives (gatewayPodMutator.go). */
  gatewayInitContainer: 'gateway-init',
  gatewaySidecarContainer: 'gateway-sidecar',
  sweepIntervalSeconds: 60,
  /** deploy/sweep.yaml's PingSource (knative/eventing ping_lifecycle.go PingSourceSource). */
  pingSource: '/apis/v1/namespaces/podgateway-provisioner/pingsources/client-provisioner-sweep',
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
  failedPodsHistoryLimit: 1000,
  /** The API server's own bound for a pod's activeDeadlineSeconds (a 32-bit integer). */
  clientActiveDeadlineSeconds: 2 ** 31 - 1,
} as const;

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Parses the configuration from `env`. `ownNamespace` is the function's namespace when it runs
 * in a cluster: the default for CLIENT_NAMESPACE there. Throws a ConfigError, or ConfigErrors
 * listing every problem.
 */
export function parseConfig(env: Environment, ownNamespace?: string): ProvisionerConfig {
  const overridePolicy = () => parseOverridePolicy(env.ALLOWED_OVERRIDES, env.ALLOWED_IMAGES);
  const clientResources = (): ContainerResources =>
    Object.freeze({
      requests: parseResourceList(
        'CLIENT_REQUESTS',
        env.CLIENT_REQUESTS ?? DEFAULTS.clientRequests,
      ),
      limits: parseResourceList('CLIENT_LIMITS', env.CLIENT_LIMITS ?? DEFAULTS.clientLimits),
    });
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
      gatewayLabel: () =>
        parseGatewayKey('GATEWAY_LABEL', env.GATEWAY_LABEL ?? DEFAULTS.gatewayKey),
      gatewayAnnotation: () =>
        parseGatewayKey('GATEWAY_ANNOTATION', env.GATEWAY_ANNOTATION ?? DEFAULTS.gatewayKey),
      allowedGateways: () => parseGateways(env.GATEWAYS),
      eventSource: () => parseEventSource(env.EVENT_SOURCE ?? DEFAULTS.eventSource),
      clientResources,
      clientRunAsNonRoot: () =>
        parseOptionalBoolean('CLIENT_RUN_AS_NON_ROOT', env.CLIENT_RUN_AS_NON_ROOT),
      clientActiveDeadlineSeconds: () =>
        parseWholeNumber('CLIENT_ACTIVE_DEADLINE_SECONDS', env.CLIENT_ACTIVE_DEADLINE_SECONDS, {
          least: 1,
          most: MAXIMA.clientActiveDeadlineSeconds,
          unit: 'seconds',
        }),
      allowedOverrides: () => overridePolicy().allowedOverrides,
      allowedImages: () => overridePolicy().allowedImages,
      allowedEnvNames: () => parseAllowedEnvNames(env.ALLOWED_ENV_NAMES),
      apiTimeoutMs: () =>
        parseWholeNumber('API_TIMEOUT_MS', env.API_TIMEOUT_MS, {
          least: 1,
          most: MAXIMA.apiTimeoutMs,
          unit: 'milliseconds',
        }) ?? DEFAULTS.apiTimeoutMs,
      eventDeadlineMs: () =>
        parseWholeNumber('EVENT_DEADLINE_MS', env.EVENT_DEADLINE_MS, {
          least: 1,
          most: MAXIMA.eventDeadlineMs,
          unit: 'milliseconds',
        }) ?? DEFAULTS.eventDeadlineMs,
      waitFor: () => parseWaitFor(env.WAIT_FOR),
      shutdownGraceMs: () =>
        parseWholeNumber('SHUTDOWN_GRACE_MS', env.SHUTDOWN_GRACE_MS, {
          least: 1,
          most: MAXIMA.shutdownGraceMs,
          unit: 'milliseconds',
        }) ?? DEFAULTS.shutdownGraceMs,
      allowedOrigins: () => parseAllowedOrigins(env.ALLOWED_ORIGINS),
      clientTtlSeconds: () =>
        parseWholeNumber('CLIENT_TTL_SECONDS', env.CLIENT_TTL_SECONDS, {
          least: 1,
          most: MAXIMA.clientActiveDeadlineSeconds,
          unit: 'seconds',
        }),
      // 0 deletes at once; unset: the pod's own grace period.
      clientGracePeriodSeconds: () => {
        const { variable, value } = renamedSetting(env, 'CLIENT_GRACE_PERIOD_SECONDS');
        return parseWholeNumber(variable, value, {
          least: 0,
          most: MAX_CLIENT_GRACE_PERIOD_SECONDS,
          unit: 'seconds',
        });
      },
      failedPodsHistoryLimit: () =>
        parseWholeNumber('FAILED_PODS_HISTORY_LIMIT', env.FAILED_PODS_HISTORY_LIMIT, {
          least: 0,
          most: MAXIMA.failedPodsHistoryLimit,
        }) ?? DEFAULTS.failedPodsHistoryLimit,
      routing: () => parseRouting(env),
      sweepIntervalSeconds: () =>
        // 0: every sweep runs.
        parseWholeNumber('SWEEP_INTERVAL_SECONDS', env.SWEEP_INTERVAL_SECONDS, {
          least: 0,
          most: MAX_SWEEP_INTERVAL_SECONDS,
          unit: 'seconds',
        }) ?? DEFAULTS.sweepIntervalSeconds,
      pingSource: () => parsePingSource(env.PING_SOURCE || DEFAULTS.pingSource),
      oidc: () => parseOidcSettings(env.OIDC_AUDIENCE, env.OIDC_SUBJECTS),
      replyCorrelation: () =>
        parseReplyCorrelation(env.REPLY_CORRELATION_ATTRIBUTE, env.REPLY_ID_ATTRIBUTE),
    },
    [
      () => refuseBothNames(env, 'CLIENT_GRACE_PERIOD_SECONDS'),
      () => requireGatewayKey(env),
      () => refuseOwnKey('GATEWAY_LABEL', env.GATEWAY_LABEL, OWN_LABEL_KEYS),
      () => refuseOwnKey('GATEWAY_ANNOTATION', env.GATEWAY_ANNOTATION, OWN_ANNOTATION_KEYS),
      () => checkLimitsAboveZero(clientResources().limits),
      () => checkRequestsWithinLimits(clientResources()),
    ],
  );
}

/** The keys the function writes on every pod for itself (src/pods/client-pod.ts, fingerprint.ts). */
const OWN_LABEL_KEYS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/managed-by',
];
const OWN_ANNOTATION_KEYS = [
  'podgateway.io/event-source',
  'podgateway.io/event-id',
  'podgateway.io/message',
  'podgateway.io/request-digests',
  'podgateway.io/trace-id',
];

/** A gateway key that is one of the function's own would overwrite it with the gateway's name. */
function refuseOwnKey(
  variable: 'GATEWAY_LABEL' | 'GATEWAY_ANNOTATION',
  value: string | undefined,
  ownKeys: readonly string[],
): void {
  if (value === undefined || !ownKeys.includes(value)) return;
  throw new ConfigError(
    variable,
    `"${value}" is a key the function sets on every pod for itself (${ownKeys.join(', ')}); choose another`,
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

/**
 * The routing check: on unless REQUIRE_ROUTING=false. GATEWAY_SIDECAR_CONTAINER empty: the
 * gateway's chart injects no sidecar, and only the init container is required.
 */
function parseRouting(env: Environment): RoutingCheck | undefined {
  if (parseOptionalBoolean('REQUIRE_ROUTING', env.REQUIRE_ROUTING) === false) return undefined;
  const initContainer = parseContainerName(
    'GATEWAY_INIT_CONTAINER',
    env.GATEWAY_INIT_CONTAINER ?? DEFAULTS.gatewayInitContainer,
  );
  const sidecar = env.GATEWAY_SIDECAR_CONTAINER ?? DEFAULTS.gatewaySidecarContainer;
  return {
    initContainer,
    sidecarContainer:
      sidecar === '' ? undefined : parseContainerName('GATEWAY_SIDECAR_CONTAINER', sidecar),
  };
}
