// Prometheus metrics, served by faas-js-runtime on /metrics next to its own.
import { Counter, Gauge, Histogram, type Metric, Registry } from 'prom-client';
import { isLabelValue } from '../formats/names.ts';
import type { AccessVerdict } from '../kube/access-check.ts';
import type { ApiCallObserver } from '../kube/api-observer.ts';

export const requestsTotal = new Counter({
  name: 'podgateway_requests_total',
  help: 'Requests answered, events of every type and requests that are none, by outcome (created, existed, released, swept, failed, rejected, unavailable), reason and gateway',
  labelNames: ['outcome', 'reason', 'gateway'] as const,
  registers: [],
});

export const requestDuration = new Histogram({
  name: 'podgateway_request_duration_seconds',
  help: 'Time from a request to its answer, by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [],
});

/**
 * `current` under the name it had, for the dashboards and alerts written against that name: the
 * same series, read from `current` at each scrape, so nothing is counted twice per request.
 * Deprecated: to go once users have moved to the new name.
 */
function underFormerName(current: Counter<string> | Histogram<string>, name: string): Gauge {
  const help = `Deprecated: ${metricName(current)} under its former name`;
  const former = new Gauge({ name, help, registers: [] });
  former.get = async () => {
    const metric = await current.get();
    const values = metric.values.map((value) =>
      'metricName' in value && typeof value.metricName === 'string'
        ? { ...value, metricName: `${name}${value.metricName.slice(metric.name.length)}` }
        : value,
    );
    return { ...metric, name, help, values };
  };
  return former;
}

/** podgateway_requests_total's former name: it counts releases, sweeps and 400s too. */
export const formerProvisionsTotal = underFormerName(requestsTotal, 'podgateway_provisions_total');
export const formerProvisionDuration = underFormerName(
  requestDuration,
  'podgateway_provision_duration_seconds',
);

export const kubeApiRequestDuration = new Histogram({
  name: 'podgateway_kube_api_request_duration_seconds',
  help: 'Kubernetes API calls, by verb and HTTP status (2xx on success, <error> when no answer came)',
  labelNames: ['verb', 'code'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [],
});

export const inflightRequests = new Gauge({
  name: 'podgateway_inflight_requests',
  help: 'Requests being handled by the function right now',
  registers: [],
});

export const apiAccessAllowed = new Gauge({
  name: 'podgateway_api_access_allowed',
  help: 'Whether the credentials may make an API call the function needs (1) or not (0), as checked at start (src/kube/access-check.ts); absent when it could not be checked',
  labelNames: ['verb', 'resource'] as const,
  registers: [],
});

export const podsReleasedTotal = new Counter({
  name: 'podgateway_pods_released_total',
  help: 'Release events done, by outcome: deleted, or gone (the pod was already deleted)',
  labelNames: ['outcome'] as const,
  registers: [],
});

export const podsSweptTotal = new Counter({
  name: 'podgateway_pods_swept_total',
  help: 'Pods deleted by the sweep, by reason: Succeeded, Failed, Expired (older than CLIENT_TTL_SECONDS)',
  labelNames: ['reason'] as const,
  registers: [],
});

export const podAgeAtRelease = new Histogram({
  name: 'podgateway_pod_age_at_release_seconds',
  help: 'Age of the client pods deleted by a release event, from their creation',
  buckets: [10, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 3 * 86400],
  registers: [],
});

export const podEventsFailedTotal = new Counter({
  name: 'podgateway_pod_events_failed_total',
  help: 'Kubernetes Events on client pods that could not be written (created or patched), by the API failure reason; the replies are not affected',
  labelNames: ['reason'] as const,
  registers: [],
});

export const logLinesDroppedTotal = new Counter({
  name: 'podgateway_log_lines_dropped_total',
  help: 'Log lines dropped because stdout was backed up (its buffer in the process was full): lost, not written later',
  registers: [],
});

const OUR_METRICS: readonly Metric[] = [
  requestsTotal,
  requestDuration,
  formerProvisionsTotal,
  formerProvisionDuration,
  kubeApiRequestDuration,
  inflightRequests,
  apiAccessAllowed,
  podsReleasedTotal,
  podsSweptTotal,
  podAgeAtRelease,
  podEventsFailedTotal,
  logLinesDroppedTotal,
];

/**
 * faas-js-runtime's OS gauges: each scrape ran shell commands through node-os-utils (`ip -s
 * link` among them), so flooding /metrics slowed every event. prom-client's default metrics,
 * which the runtime also registers, give the process's own CPU and memory.
 */
const RUNTIME_OS_GAUGES: ReadonlySet<string> = new Set([
  'faas_cpu_utilization',
  'faas_mem_utilization',
  'faas_netio_utilization',
]);

let exposed = false;

/**
 * Puts our metrics in every registry the process renders. faas-js-runtime serves a registry
 * of its own, made when it starts listening and not reachable from the function, so ours join
 * it when it is first rendered (the first scrape of /metrics). This relies on the runtime and
 * us sharing one prom-client: it is a dependency of both, at the same major version, and stays
 * outside the bundle (scripts/build.ts).
 */
export function exposeMetrics(): void {
  if (exposed) return;
  exposed = true;
  startKnownSeries();
  // Never registered, so never collected: the runtime makes them after `init`, as it starts.
  const register = Registry.prototype.registerMetric;
  Registry.prototype.registerMetric = function registerUnlessOsGauge(this: Registry, metric) {
    if (RUNTIME_OS_GAUGES.has(metricName(metric))) return;
    register.call(this, metric);
  };
  const render = Registry.prototype.metrics;
  Registry.prototype.metrics = function metricsWithProvisioner(this: Registry) {
    for (const metric of OUR_METRICS) this.registerMetric(metric);
    return render.call(this);
  };
}

/** The label values the release and sweep counters can take (src/handlers/release.ts, sweep.ts). */
const RELEASE_OUTCOMES = ['deleted', 'gone'] as const;
const SWEEP_REASONS = ['Succeeded', 'Failed', 'Expired'] as const;

/**
 * A labelled counter has no series until its first increment, so dashboards and alerts see
 * nothing, not 0, until the first release or sweep: the known label values start at 0, as
 * Prometheus' instrumentation guidance advises.
 */
function startKnownSeries(): void {
  for (const outcome of RELEASE_OUTCOMES) podsReleasedTotal.inc({ outcome }, 0);
  for (const reason of SWEEP_REASONS) podsSweptTotal.inc({ reason }, 0);
}

/** A metric's name: prom-client keeps it on the object, its types do not show it. */
function metricName(metric: Metric): string {
  const { name } = metric as unknown as { readonly name?: unknown };
  return typeof name === 'string' ? name : '';
}

/**
 * Times each attempt of a Kubernetes API call by verb and status (2xx on success, <error> when
 * no answer came): plugged into the client at start (src/kube/api-observer.ts).
 */
export const apiCallMetrics: ApiCallObserver = {
  attempt({ verb }) {
    const stop = kubeApiRequestDuration.startTimer({ verb });
    return {
      ended(failure) {
        if (failure === undefined) stop({ code: '2xx' });
        else stop({ code: failure.code === undefined ? '<error>' : String(failure.code) });
      },
    };
  },
};

/** Sets podgateway_api_access_allowed from the start's access check (src/kube/access-check.ts). */
export function recordAccess(verdicts: readonly AccessVerdict[]): void {
  for (const { verb, resource, allowed } of verdicts) {
    if (allowed !== undefined) apiAccessAllowed.set({ verb, resource }, allowed ? 1 : 0);
  }
}

/** Most distinct gateway names labelled when GATEWAYS does not list them; the rest are `other`. */
export const MAX_GATEWAY_LABELS = 50;
const seenGateways = new Set<string>();

/**
 * The `gateway` label for a name taken from an event. Labels must stay few: a listed gateway is
 * its own label and an unlisted one `unknown`; with no list, valid names up to
 * MAX_GATEWAY_LABELS distinct ones, then `other`. Invalid names are `invalid`, none `none`.
 */
export function gatewayLabel(
  name: string | undefined,
  allowed: ReadonlySet<string> | undefined,
): string {
  if (name === undefined || name === '') return 'none';
  if (!isLabelValue(name)) return 'invalid';
  if (allowed) return allowed.has(name) ? name : 'unknown';
  if (seenGateways.has(name)) return name;
  if (seenGateways.size >= MAX_GATEWAY_LABELS) return 'other';
  seenGateways.add(name);
  return name;
}

/** A `reason` label: Kubernetes reasons are CamelCase words; anything else is `Other`. */
export function reasonLabel(reason: string | undefined): string {
  if (reason === undefined) return '';
  return /^[A-Za-z]{1,64}$/.test(reason) ? reason : 'Other';
}
