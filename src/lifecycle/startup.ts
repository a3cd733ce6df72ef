// Start-up: every setting read and checked at once, one plain line per problem and exit 1; then
// one line with the settings in effect, warnings for risky ones, and the access check.
import { isIP } from 'node:net';
import {
  ConfigError,
  ConfigErrors,
  type Environment,
  formerNameWarnings,
  loadConfig,
  type ProvisionerConfig,
  parseAll,
  parseWholeNumber,
} from '../config/config.ts';
import { TokenVerifier } from '../edge/token-verifier.ts';
import { describeSinkUrl, makeSink, readSink, type Sink } from '../events/sink.ts';
import { startAccessCheck } from '../kube/access-check.ts';
import { type KubeClient, makeKubeClient } from '../kube/client.ts';
import { fetchIssuerKeys } from '../kube/issuer-keys.ts';
import { PodWatch } from '../kube/pod-watch.ts';
import { apiCallMetrics, recordAccess } from '../observability/metrics.ts';
import type { Tracing } from '../observability/tracing.ts';
import {
  describeTracing,
  readTracingSettings,
  type TracingSettings,
} from '../observability/tracing-settings.ts';
import { OWN_PODS_SELECTOR } from '../pods/own-pods.ts';

export interface Provisioner {
  readonly config: ProvisionerConfig;
  readonly kube: KubeClient;
  /** Where replies go when K_SINK is set; undefined: in the HTTP response. */
  readonly sink: Sink | undefined;
  /** With WAIT_FOR=scheduled or ready: the one watch every waiting event shares. */
  readonly podWatch: PodWatch | undefined;
  /** With an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT): the spans of each event. */
  readonly tracing: Tracing | undefined;
  /** With OIDC_AUDIENCE: checks the bearer token of every event (src/edge/http-guard.ts). */
  readonly tokens: TokenVerifier | undefined;
}

/** What start-up read, before tracing (when asked for) is loaded and the issuer's keys fetched. */
export interface StartedUp extends Omit<Provisioner, 'tracing' | 'tokens'> {
  readonly tracingSettings: TracingSettings | undefined;
}

const PREFIX = 'podgateway client provisioner';

/** Largest FUNC_BODY_LIMIT: the runtime's own default; a `pending` event is a few hundred bytes. */
export const MAX_BODY_LIMIT = 1024 * 1024;

/** faas-js-runtime's log levels (pino's), for FUNC_LOG_LEVEL. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The problems found, one line each. */
export class StartupFailure extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'StartupFailure';
    this.problems = problems;
  }
}

/** The runtime's own variables, which it would otherwise refuse with a stack trace. */
export function checkRuntimeSettings(env: Environment): void {
  parseAll<object>({}, [
    () => {
      const level = env.FUNC_LOG_LEVEL;
      if (level === undefined || level === '' || LOG_LEVELS.some((name) => name === level)) return;
      throw new ConfigError('FUNC_LOG_LEVEL', `"${level}" is not one of ${LOG_LEVELS.join(', ')}`);
    },
    () => checkBodyLimit(env.FUNC_BODY_LIMIT),
    () => {
      const host = env.LISTEN_HOST;
      if (host === undefined || host === '' || host === 'localhost' || isIP(host) !== 0) return;
      throw new ConfigError(
        'LISTEN_HOST',
        `"${host}" is not an IP address (127.0.0.1, ::1, 0.0.0.0, ::) or localhost`,
      );
    },
    () => parseWholeNumber('FUNC_PORT', env.FUNC_PORT, { least: 1, most: 65535 }),
  ]);
}

/**
 * The runtime hands FUNC_BODY_LIMIT to Fastify as `Number(value)`: a bad value ended in a stack
 * trace, and an enormous one turned the limit off in effect. Plain decimal, 1 to the runtime's
 * own default (1 MiB).
 */
function checkBodyLimit(value: string | undefined): void {
  parseWholeNumber('FUNC_BODY_LIMIT', value, { least: 1, most: MAX_BODY_LIMIT, unit: 'bytes' });
}

function problemLines(error: unknown): string[] {
  if (error instanceof ConfigErrors) return error.problems.map((problem) => problem.message);
  return [error instanceof Error ? error.message : String(error)];
}

/** Reads everything; throws a StartupFailure listing every problem. */
export function startUp(env: Environment = process.env): StartedUp {
  const problems: string[] = [];
  const attempt = <T>(step: () => T): T | undefined => {
    try {
      return step();
    } catch (error) {
      problems.push(...problemLines(error));
      return undefined;
    }
  };
  attempt(() => checkRuntimeSettings(env));
  const config = attempt(() => loadConfig(env));
  const sinkUrl = attempt(() => readSink(env));
  // Every API call's attempts timed for the metric: kube/ reports them, knowing no metric.
  const kube = attempt(() => makeKubeClient(env, apiCallMetrics));
  const sink = sinkUrl && attempt(() => makeSink(sinkUrl));
  const tracingSettings = attempt(() => readTracingSettings(env));
  if (problems.length > 0 || config === undefined || kube === undefined) {
    throw new StartupFailure(problems);
  }
  const podWatch = config.waitFor !== 'created' ? watchOwnPods(config, kube) : undefined;
  return { config, kube, sink, podWatch, tracingSettings };
}

/** The watch on the client namespace, started now so the first waiting event finds it ready. */
function watchOwnPods(config: ProvisionerConfig, kube: KubeClient): PodWatch {
  const watch = new PodWatch({
    kubeConfig: kube.kubeConfig,
    api: kube.api,
    observer: kube.observer,
    namespace: config.clientNamespace,
    labelSelector: OWN_PODS_SELECTOR,
    apiTimeoutMs: config.apiTimeoutMs,
  });
  watch.start();
  return watch;
}

/** The settings in effect, in one line. */
export function settingsLine({ config, kube, sink, tracingSettings }: StartedUp): string {
  const gateways = config.allowedGateways
    ? `gateways ${[...config.allowedGateways].join(', ')}`
    : 'any gateway';
  const done = `once the pod is ${config.waitFor}`;
  const replies = sink ? `to K_SINK ${describeSinkUrl(sink.url)}` : 'in the HTTP response';
  return [
    `${PREFIX}: pods go to namespace "${config.clientNamespace}" through ${kube.server} (${kube.origin})`,
    gateways,
    `done ${done} (WAIT_FOR=${config.waitFor}) ${routingText(config.routing)}`,
    `deadlines: API call ${config.apiTimeoutMs} ms, event ${config.eventDeadlineMs} ms, shutdown grace ${config.shutdownGraceMs} ms`,
    `replies ${replies}`,
    describeTracing(tracingSettings),
  ].join('; ');
}

function routingText(routing: ProvisionerConfig['routing']): string {
  if (routing === undefined) return 'whether routed or not (REQUIRE_ROUTING=false)';
  const sidecar = routing.sidecarContainer ? ` and container ${routing.sidecarContainer}` : '';
  return `and routed (init container ${routing.initContainer}${sidecar} from the gateway's webhook)`;
}

/** Settings that work but are likely mistakes. */
export function settingsWarnings(config: ProvisionerConfig): string[] {
  const warnings: string[] = [];
  if (!config.allowedGateways) {
    warnings.push(
      'warning: GATEWAYS is empty: a pod is made for any gateway name an event gives; list the gateways, e.g. GATEWAYS=foo,bar',
    );
  }
  if (config.routing === undefined) {
    warnings.push(
      "warning: REQUIRE_ROUTING=false: a pod is done even without the gateway's containers, and its traffic may leave through the node's own network",
    );
  }
  if (config.eventDeadlineMs < config.apiTimeoutMs) {
    warnings.push(
      `warning: EVENT_DEADLINE_MS (${config.eventDeadlineMs} ms) is shorter than API_TIMEOUT_MS (${config.apiTimeoutMs} ms): an event runs out of time before a slow API call does, and is answered 503`,
    );
  }
  return warnings;
}

/**
 * Called from `init`: starts, or prints every problem on its own line and exits 1 (the runtime
 * would print a stack trace and a line of the bundle for an error thrown at it).
 */
export async function startOrExit(env: Environment = process.env): Promise<Provisioner> {
  let started: StartedUp;
  let tracing: Tracing | undefined;
  let tokens: TokenVerifier | undefined;
  try {
    started = startUp(env);
    tracing = started.tracingSettings && (await loadTracing(started.tracingSettings));
    tokens = await startTokenVerifier(started);
  } catch (error) {
    const problems = error instanceof StartupFailure ? error.problems : problemLines(error);
    for (const problem of problems) console.error(`${PREFIX}: cannot start: ${problem}`);
    process.exit(1);
  }
  console.log(settingsLine(started));
  console.log(
    tokens
      ? `${PREFIX}: ${tokens.describe()}`
      : `${PREFIX}: OIDC_AUDIENCE is empty: events are not asked for a token; whoever the NetworkPolicy lets reach the function may post`,
  );
  const warnings = [...formerNameWarnings(env), ...settingsWarnings(started.config)];
  for (const warning of warnings) console.warn(warning);
  void startAccessCheck(
    started.kube.kubeConfig,
    started.config.clientNamespace,
    started.config.apiTimeoutMs,
    recordAccess,
  );
  const { tracingSettings: _settings, ...provisioner } = started;
  return { ...provisioner, tracing, tokens };
}

/** With OIDC_AUDIENCE: the verifier, once the issuer's keys are fetched (a StartupFailure if not). */
async function startTokenVerifier({ config, kube }: StartedUp): Promise<TokenVerifier | undefined> {
  if (config.oidc === undefined) return undefined;
  const timeoutMs = config.apiTimeoutMs;
  try {
    return await TokenVerifier.start(
      config.oidc,
      () => fetchIssuerKeys(kube.kubeConfig, timeoutMs),
      {
        onRefetch: (why) => console.log(`${PREFIX}: ${why}`),
      },
    );
  } catch (error) {
    const cause = error instanceof Error ? error.message : String(error);
    throw new StartupFailure([`OIDC_AUDIENCE: the tokens cannot be checked: ${cause}`]);
  }
}

/** The SDK, imported only now that tracing is asked for: tracing off never loads it. */
async function loadTracing(settings: TracingSettings): Promise<Tracing> {
  try {
    const { startTracing } = await import('../observability/otel-sdk.ts');
    return await startTracing(settings);
  } catch (error) {
    const cause = error instanceof Error ? error.message : String(error);
    throw new StartupFailure([`tracing: the OpenTelemetry SDK could not be loaded: ${cause}`]);
  }
}
