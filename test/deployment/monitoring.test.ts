// deploy/monitoring/, the optional scraping, alerts and dashboard for the Prometheus Operator and
// Grafana: it renders with `kubectl kustomize`, selects the function's pods by the labels Knative
// gives them, stays out of `kubectl apply -k deploy/`, and every query of its alert rules and
// dashboard names only metrics and labels that the running function serves on /metrics.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { RELEASE_DONE_TYPE, RELEASE_TYPE } from '../../src/handlers/release.ts';
import { SWEEP_DONE_TYPE, SWEEP_TYPE } from '../../src/handlers/sweep.ts';
import { POD_CREATES } from '../../testbed/kube-api-server/faults.ts';
import {
  type Exposition,
  type LabelMatcher,
  parseExposition,
  type QueryNames,
  readQuery,
  readVariableQuery,
  type Sample,
  seriesNames,
} from '../../testbed/prometheus.ts';
import { pendingEvent, post, sendEvent } from '../support/events.ts';
import { type Harness, useHarness } from '../support/harness.ts';
import { arr, at, DEPLOY_DIR, type Doc, isDoc, obj, str } from '../support/manifests.ts';
import { ownPodMetadata } from '../support/own-pods.ts';
import { container, loadDeployment, service } from './support.ts';

const MONITORING_DIR = join(DEPLOY_DIR, 'monitoring');
const DASHBOARD_FILE = 'client-provisioner-dashboard.json';
const NAMESPACE = 'client-system';
/** The label Knative Serving puts on every pod of a Service, with the Service's name. */
const KNATIVE_SERVICE_LABEL = 'serving.knative.dev/service';
/** The name Knative gives the user container's port, whatever its containerPort. */
const KNATIVE_USER_PORT = 'user-port';
/**
 * Labels Prometheus puts on every series of a PodMonitor's targets: not on /metrics, so a query
 * may use them freely (job is the Service's name, by the PodMonitor's jobLabel).
 */
const TARGET_LABELS = new Set(['job', 'namespace', 'pod', 'container', 'endpoint', 'instance']);

const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
const noKubectl = kubectl.error ? `kubectl is not installed (${kubectl.error.message})` : false;
if (noKubectl) console.log(`# skipping the deploy/monitoring tests: ${noKubectl}`);

function render(dir: string): Doc[] {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return parseAllDocuments(result.stdout).map((document) => {
    const doc: unknown = document.toJS();
    assert.ok(isDoc(doc));
    return doc;
  });
}

function onlyOfKind(docs: Doc[], kind: string): Doc {
  const found = docs.filter((doc) => doc.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`);
  return found[0] ?? {};
}

interface Query {
  /** Where the query is, for the messages: `alert X`, `panel "Y"`, `variable z`. */
  readonly where: string;
  readonly names: QueryNames;
}

function ruleQueries(rule: Doc): Query[] {
  return arr(at(rule, 'spec', 'groups')).flatMap((group) =>
    arr(obj(group).rules).map((entry) => {
      const { alert, record, expr } = obj(entry);
      return { where: `alert ${str(alert) || str(record)}`, names: readQuery(str(expr)) };
    }),
  );
}

function panelsOf(parent: Doc): Doc[] {
  // Rows hold their panels when collapsed.
  return arr(parent.panels).flatMap((panel) => [obj(panel), ...panelsOf(obj(panel))]);
}

function dashboardQueries(dashboard: Doc): Query[] {
  const targets = panelsOf(dashboard).flatMap((panel) =>
    arr(panel.targets).map((target) => ({
      where: `panel "${str(panel.title)}"`,
      names: readQuery(str(obj(target).expr)),
    })),
  );
  const variables = arr(at(dashboard, 'templating', 'list'))
    .map(obj)
    .filter((variable) => variable.type === 'query')
    .map((variable) => ({
      where: `variable ${str(variable.name)}`,
      names: readVariableQuery(str(variable.query) || str(obj(variable.query).query)),
    }));
  return [...targets, ...variables];
}

function metricsOf(queries: Query[]): Set<string> {
  return new Set(queries.flatMap((query) => query.names.selectors.map((s) => s.metric)));
}

function valuesOf(samples: readonly Sample[], label: string): string[] {
  return [...new Set(samples.flatMap((sample) => sample.labels[label] ?? []))];
}

/** What is wrong with one label matcher of a selector, given the samples of its metric. */
function matcherProblems(
  matcher: LabelMatcher,
  samples: readonly Sample[],
  jobName: string,
): string[] {
  const { label, operator, value } = matcher;
  if (TARGET_LABELS.has(label)) {
    return label === 'job' && value !== jobName ? [`job="${value}", not "${jobName}"`] : [];
  }
  const seen = valuesOf(samples, label);
  if (seen.length === 0) return [`no label ${label}`];
  // A Grafana variable: any value the user picks.
  if (value.includes('$')) return [];
  if (operator === '!=' || operator === '!~') return [];
  // Each alternative of a regex on its own: `failed|rejectd` must not pass for matching `failed`.
  const wanted = operator === '=~' ? alternativesOf(value) : [value];
  const matches = (want: string, actual: string) =>
    operator === '=~' ? new RegExp(`^(?:${want})$`).test(actual) : actual === want;
  return wanted
    .filter((want) => !seen.some((actual) => matches(want, actual)))
    .map((want) => `${label}${operator}"${want}" matches no series (${label}: ${seen.join(', ')})`);
}

/** The top-level alternatives of a regex without groups (`a|b.c`), else the regex whole. */
function alternativesOf(regex: string): string[] {
  return /[()]/.test(regex) ? [regex] : regex.split('|');
}

/** What a query names that the scrape does not have: metrics, labels, label values. */
function queryProblems(query: Query, scrape: Exposition, jobName: string): string[] {
  const served = seriesNames(scrape);
  const problems: string[] = [];
  const labelsOfItsMetrics = new Set<string>();
  for (const { metric, matchers } of query.names.selectors) {
    if (!served.has(metric)) {
      problems.push(`${metric} is not served on /metrics`);
      continue;
    }
    const samples = scrape.samples.filter((sample) => sample.name === metric);
    if (samples.length === 0) problems.push(`${metric} has no series after the traffic`);
    for (const sample of samples) for (const label in sample.labels) labelsOfItsMetrics.add(label);
    problems.push(...matchers.flatMap((m) => matcherProblems(m, samples, jobName)));
  }
  for (const label of query.names.groupingLabels) {
    if (!TARGET_LABELS.has(label) && !labelsOfItsMetrics.has(label)) {
      problems.push(`groups by ${label}, a label none of its metrics has`);
    }
  }
  return problems.map((problem) => `${query.where}: ${problem}`);
}

const h = useHarness(
  { CLIENT_NAMESPACE: NAMESPACE, GATEWAYS: 'foo,bar' },
  { namespaces: ['default', NAMESPACE] },
);

/**
 * One event of each kind the queries look at, so that each labelled series exists: created,
 * failed, rejected, unavailable (a 429 past the deadline), API calls answered 2xx, 500, 429 and
 * not at all, a pod released and one swept.
 */
async function sendTrafficOfEveryKind({ fn, server }: Harness): Promise<void> {
  const created = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
  assert.equal(created.event?.type, DONE_TYPE, created.text);
  const unknown = await sendEvent(fn.url, pendingEvent({ gateway_name: 'baz' }), 'binary');
  assert.equal(unknown.event?.type, FAILED_TYPE, unknown.text);
  assert.equal((await post(fn.url, { 'content-type': 'application/json' }, '{}')).status, 400);

  server.injectFault({ method: 'POST', path: POD_CREATES, status: 500 });
  const afterServerError = await sendEvent(fn.url, pendingEvent({ gateway_name: 'bar' }), 'binary');
  assert.equal(afterServerError.event?.type, DONE_TYPE, afterServerError.text);
  server.injectFault({ method: 'POST', path: POD_CREATES, drop: true });
  const afterNoAnswer = await sendEvent(fn.url, pendingEvent({ gateway_name: 'bar' }), 'binary');
  assert.equal(afterNoAnswer.event?.type, DONE_TYPE, afterNoAnswer.text);
  server.injectFault({ method: 'POST', path: POD_CREATES, status: 429, retryAfterSeconds: 32 });
  const throttled = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
  assert.equal(throttled.status, 503, throttled.text);

  const podName = String(created.event?.data?.pod_name);
  const release = pendingEvent({ pod_name: podName }, { type: RELEASE_TYPE });
  assert.equal((await sendEvent(fn.url, release, 'binary')).event?.type, RELEASE_DONE_TYPE);
  server.addPod({
    metadata: ownPodMetadata('finished', NAMESPACE),
    spec: { containers: [{ name: 'client', image: 'alpine/curl' }] },
    status: { phase: 'Succeeded' },
  });
  const sweep = pendingEvent({}, { type: SWEEP_TYPE });
  assert.equal((await sendEvent(fn.url, sweep, 'binary')).event?.type, SWEEP_DONE_TYPE);
}

async function scrape(url: string): Promise<Exposition> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  return parseExposition(await response.text());
}

let rendered: Doc[] = [];
let dashboardFile = '';
let dashboard: Doc = {};
let rules: Query[] = [];
let panels: Query[] = [];

before(async () => {
  await loadDeployment();
  dashboardFile = await readFile(join(MONITORING_DIR, DASHBOARD_FILE), 'utf8');
  dashboard = obj(JSON.parse(dashboardFile));
  panels = dashboardQueries(dashboard);
  if (noKubectl) return;
  rendered = render(MONITORING_DIR);
  rules = ruleQueries(onlyOfKind(rendered, 'PrometheusRule'));
});

describe('deploy/monitoring/', { skip: noKubectl }, () => {
  it('renders a PodMonitor, a PrometheusRule and the dashboard’s ConfigMap, in the function’s namespace', () => {
    const kinds = rendered.map((doc) => `${str(doc.apiVersion)}/${str(doc.kind)}`).sort();
    assert.deepEqual(kinds, [
      'monitoring.coreos.com/v1/PodMonitor',
      'monitoring.coreos.com/v1/PrometheusRule',
      'v1/ConfigMap',
    ]);
    for (const doc of rendered) assert.equal(at(doc, 'metadata', 'namespace'), service.namespace);
  });

  it('scrapes /metrics on the user container’s port of the Knative Service’s pods, job named after it', () => {
    const monitor = onlyOfKind(rendered, 'PodMonitor');
    assert.deepEqual(at(monitor, 'spec', 'selector', 'matchLabels'), {
      [KNATIVE_SERVICE_LABEL]: service.name,
    });
    assert.equal(at(monitor, 'spec', 'jobLabel'), KNATIVE_SERVICE_LABEL);
    assert.equal(at(monitor, 'spec', 'namespaceSelector'), undefined, 'its own namespace only');
    // Knative allows one port, which it names user-port: the function's, not queue-proxy's.
    assert.equal(arr(obj(container).ports).length, 1);
    const endpoints = arr(at(monitor, 'spec', 'podMetricsEndpoints')).map(obj);
    assert.deepEqual(
      endpoints.map((endpoint) => [endpoint.port, endpoint.path]),
      [[KNATIVE_USER_PORT, '/metrics']],
    );
  });

  it('carries the dashboard’s JSON file as it is, in a ConfigMap labelled for Grafana’s sidecar', () => {
    const configMap = onlyOfKind(rendered, 'ConfigMap');
    assert.equal(at(configMap, 'metadata', 'labels', 'grafana_dashboard'), '1');
    assert.deepEqual(obj(configMap.data), { [DASHBOARD_FILE]: dashboardFile });
  });

  it('stays out of `kubectl apply -k deploy/`, which must work without the Prometheus Operator', () => {
    const kinds = render(DEPLOY_DIR).map((doc) => str(doc.apiVersion));
    assert.ok(kinds.length > 0);
    assert.ok(kinds.every((apiVersion) => !apiVersion.startsWith('monitoring.coreos.com/')));
  });

  it('alerts on failures by reason, API errors and 429s, 503s, API access and the latency SLO', () => {
    const alerts = new Map(rules.map((rule) => [rule.where, rule.names]));
    const uses = (where: string, metric: string, label: string, value: string) =>
      alerts
        .get(`alert ${where}`)
        ?.selectors.some(
          (s) =>
            s.metric === metric &&
            s.matchers.some((m) => m.label === label && new RegExp(m.value).test(value)),
        );
    assert.ok(uses('PodgatewayEventsFailing', 'podgateway_requests_total', 'outcome', 'failed'));
    assert.ok(
      alerts.get('alert PodgatewayEventsFailing')?.groupingLabels.includes('reason'),
      'by reason',
    );
    const apiCalls = 'podgateway_kube_api_request_duration_seconds_count';
    assert.ok(uses('PodgatewayKubeApiErrors', apiCalls, 'code', '503'));
    assert.ok(uses('PodgatewayKubeApiThrottled', apiCalls, 'code', '429'));
    assert.ok(
      uses('PodgatewayEventsUnavailable', 'podgateway_requests_total', 'outcome', 'unavailable'),
    );
    assert.ok(uses('PodgatewayNoApiAccess', 'podgateway_api_access_allowed', 'job', service.name));
    const latency = 'podgateway_request_duration_seconds_bucket';
    for (const burn of ['PodgatewayLatencySLOFastBurn', 'PodgatewayLatencySLOSlowBurn']) {
      assert.ok(uses(burn, latency, 'le', '1'), burn);
    }
  });
});

describe('the dashboard', () => {
  it('shows events by outcome and reason, latency, API calls, pods released and swept, and RSS', () => {
    const metrics = metricsOf(panels);
    for (const metric of [
      'podgateway_requests_total',
      'podgateway_request_duration_seconds_bucket',
      'podgateway_kube_api_request_duration_seconds_bucket',
      'podgateway_kube_api_request_duration_seconds_count',
      'podgateway_pods_released_total',
      'podgateway_pods_swept_total',
      'process_resident_memory_bytes',
    ]) {
      assert.ok(metrics.has(metric), metric);
    }
    // The runtime's own memory and CPU gauges are on their way out (prom-client's are kept).
    assert.deepEqual(
      [...metrics].filter((metric) => /^faas_(mem|cpu)/.test(metric)),
      [],
    );
  });
});

describe('the PromQL reader', () => {
  it('reads metric names, label matchers and grouping labels, not functions, keywords or ranges', () => {
    const names = readQuery(
      `histogram_quantile(0.99, sum by (le, verb) (rate(x_bucket{job="a", code=~"5..|<error>"}[$__rate_interval])))
       / ignoring (reason) group_left sum without (pod) (y offset 5m) and on() z > (14.4 * 0.01)`,
    );
    assert.deepEqual(names.selectors, [
      {
        metric: 'x_bucket',
        matchers: [
          { label: 'job', operator: '=', value: 'a' },
          { label: 'code', operator: '=~', value: '5..|<error>' },
        ],
      },
      { metric: 'y', matchers: [] },
      { metric: 'z', matchers: [] },
    ]);
    assert.deepEqual(names.groupingLabels, ['le', 'verb', 'reason', 'pod']);
  });

  it('reads a Grafana label_values() variable as its selector and label', () => {
    const names = readVariableQuery('label_values(up{job="a"}, namespace)');
    assert.deepEqual(names.selectors, [
      { metric: 'up', matchers: [{ label: 'job', operator: '=', value: 'a' }] },
    ]);
    assert.deepEqual(names.groupingLabels, ['namespace']);
  });

  it('refuses what it cannot read rather than miss a name', () => {
    assert.throws(() => readQuery('{__name__="x"}'), /without a metric name/);
    assert.throws(() => readQuery('x{job}'), /label matcher expected/);
  });
});

describe('every query against the running function’s /metrics', { skip: noKubectl }, () => {
  let metrics: Exposition;
  before(async () => {
    await sendTrafficOfEveryKind(h);
    metrics = await scrape(h.fn.url);
  });

  it('names only metrics, labels and label values it serves', () => {
    const queries = [...rules, ...panels];
    assert.ok(rules.length >= 7 && panels.length >= 9, `${rules.length} rules, ${panels.length}`);
    const problems = queries.flatMap((query) => queryProblems(query, metrics, service.name));
    assert.deepEqual(problems, []);
  });

  it('finds a name, label or value it does not serve, and a histogram named without its suffix', () => {
    const check = (expression: string) =>
      queryProblems({ where: 'q', names: readQuery(expression) }, metrics, service.name);
    assert.deepEqual(check('rate(podgateway_requests_total{outcome="failed"}[5m])'), []);
    assert.match(check('podgateway_request_total').join(), /not served/);
    assert.match(check('podgateway_request_duration_seconds').join(), /not served/);
    assert.match(check('podgateway_requests_total_count').join(), /not served/);
    assert.match(check('sum by (gateway_name) (podgateway_requests_total)').join(), /gateway_name/);
    assert.match(check('podgateway_requests_total{outcome="failure"}').join(), /matches no/);
    assert.match(
      check('podgateway_requests_total{outcome=~"failed|rejectd"}').join(),
      /outcome=~"rejectd" matches no/,
    );
    assert.match(check('podgateway_request_duration_seconds_bucket{le="2"}').join(), /matches/);
    assert.match(check('podgateway_inflight_requests{job="provisioner"}').join(), /job=/);
  });

  it('labels none of its series with a label Prometheus sets on its targets', () => {
    const clashes = metrics.samples.flatMap((sample) =>
      Object.keys(sample.labels).filter((label) => TARGET_LABELS.has(label)),
    );
    assert.deepEqual([...new Set(clashes)], []);
  });
});
