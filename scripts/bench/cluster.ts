// `npm run bench -- --cluster`: the built function and the node:http limit against the real
// control plane of testbed/cluster/ (kube-apiserver on etcd, the scheduler, kwok nodes, the
// pod-gateway webhooks as deploy/ registers them): events/s, p50/p99 latency, CPU per event and
// the requests kube-apiserver serves per event, side by side. What the function costs on a
// cluster, where every create goes through etcd and admission. Both subjects use the function's
// ServiceAccount token; the pods of one run are deleted before the next.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { type Cluster, startCluster } from '../../testbed/cluster/cluster.ts';
import { httpsGet } from '../../testbed/cluster/https-get.ts';
import { loadKubeConfig } from '../../testbed/cluster/manifests.ts';
import { writeKubeconfigFile } from '../../testbed/kube-api-server/auth.ts';
import { type ExtraHeaders, type LoadResult, load, sendEvent } from './load.ts';
import { type BenchOptions, log, NAMESPACE, ROOT, RUNTIME_CLI, type Subject } from './options.ts';
import { cpuMs, spawnSubject, stop } from './processes.ts';

const CONCURRENCY = 16;
const WARMUP_EVENTS = 50;
const MEASURED_EVENTS = 600;
const NODES = 8;

export interface ClusterResult {
  readonly load: LoadResult;
  /** kube-apiserver's own count of the requests it served, all clients, per event. */
  readonly apiRequestsPerEvent: number;
  /** The same by verb and resource (`POST pods`, `PATCH pods/status`, …), per event. */
  readonly requestsByKind?: Readonly<Record<string, number>>;
}

/**
 * Starts the control plane in `dir` and measures, side by side: the function; the limit with its
 * Event (one keep-alive HTTPS pod create, then the pod's Event, with the function's token: the
 * reference of every ratio); the plain limit (the create alone, for information); then both
 * again at WAIT_FOR=ready, where the limit waits on one shared watch of its own. Prints the
 * tables on stdout.
 */
export async function clusterBench(
  dir: string,
  { npmStart, provisionerEnv, deployedEnv }: BenchOptions,
): Promise<void> {
  log('starting the control plane (the first build takes minutes)…');
  // Room for every pod of one load (110 per node): none left unschedulable, which the scheduler
  // would retry and report, for every subject alike.
  const cluster = await startCluster({ dir: join(dir, 'cluster'), nodes: NODES, log });
  try {
    const kubeconfig = await functionKubeconfig(cluster, dir);
    const kube = { KUBECONFIG: kubeconfig, CLIENT_NAMESPACE: NAMESPACE };
    // The manifests' NODE_OPTIONS and MALLOC_ARENA_MAX for all, as deployed.
    const provisioner = (waitFor: string) =>
      npmStartSubject(`provisioner (build/index.js), WAIT_FOR=${waitFor}`, npmStart.args, {
        ...kube,
        ...provisionerEnv,
        WAIT_FOR: waitFor,
      });
    const limit = (label: string, env: Record<string, string>) => ({
      key: 'limit' as const,
      label,
      settings: 'node scripts/bench/limit.js',
      args: [join(ROOT, 'scripts/bench/limit.js')],
      env: { ...kube, ...deployedEnv, ...env },
    });
    const withEvent = (waitFor: string) =>
      limit(`limit + Event (scripts/bench/limit.js), WAIT_FOR=${waitFor}`, {
        LIMIT_EVENT: 'true',
        WAIT_FOR: waitFor,
      });
    // The floor of the design on the cluster: the empty function on faas-js-runtime, the same
    // create and Event (what the runtime costs, which the function cannot do without).
    const floor = {
      key: 'floor' as const,
      label: 'floor + Event (scripts/bench/runtime-https-event.js)',
      settings: "faas-js-runtime's CLI, scripts/bench/runtime-https-event.js",
      args: [RUNTIME_CLI, join(ROOT, 'scripts/bench/runtime-https-event.js')],
      env: { ...kube, ...deployedEnv },
    };
    // The plain limit first: a fresh cluster's first load runs slower, and it is for information.
    const plain = await measure(cluster, limit('limit (scripts/bench/limit.js)', {}));
    const r1 = await measure(cluster, withEvent('created'));
    const f1 = await measure(cluster, floor);
    const p1 = await measure(cluster, provisioner('created'));
    const p2 = await measure(cluster, provisioner('created'));
    const f2 = await measure(cluster, floor);
    const r2 = await measure(cluster, withEvent('created'));
    const created = { provisioner: meanOf(p1, p2), reference: meanOf(r1, r2) };
    const floorMean = meanOf(f1, f2);
    const ready = await sideBySide(cluster, provisioner('ready'), withEvent('ready'));
    process.stdout.write(
      tableOf(created.provisioner, created.reference, ['provisioner', 'limit + Event'], plain),
    );
    process.stdout.write(
      `\n${tableOf(created.provisioner, floorMean, ['provisioner', 'floor + Event'])}`,
    );
    process.stdout.write(
      `\n${tableOf(floorMean, created.reference, ['floor + Event', 'limit + Event'])}`,
    );
    process.stdout.write(
      `\n${tableOf(ready.provisioner, ready.reference, ['provisioner, WAIT_FOR=ready', 'limit + Event, WAIT_FOR=ready'])}`,
    );
    process.stdout.write(
      `\n${kindsTable([
        ['provisioner', created.provisioner],
        ['limit + Event', created.reference],
        ['limit', plain],
        ['floor + Event', floorMean],
        ['provisioner, ready', ready.provisioner],
        ['limit + Event, ready', ready.reference],
      ])}`,
    );
  } finally {
    await cluster.stop();
  }
}

/**
 * `subject` and `reference` loaded twice each, in the order reference, subject, subject,
 * reference, and averaged: whichever runs first on a cluster runs slower.
 */
async function sideBySide(
  cluster: Cluster,
  subject: Subject,
  reference: Subject,
): Promise<{ provisioner: ClusterResult; reference: ClusterResult }> {
  const r1 = await measure(cluster, reference);
  const s1 = await measure(cluster, subject);
  const s2 = await measure(cluster, subject);
  const r2 = await measure(cluster, reference);
  return { provisioner: meanOf(s1, s2), reference: meanOf(r1, r2) };
}

/** Two loads of one subject, averaged (p99 included: a mean of two p99s, not a p99). */
export function meanOf(a: ClusterResult, b: ClusterResult): ClusterResult {
  const mean = (x: number | undefined, y: number | undefined) => ((x ?? 0) + (y ?? 0)) / 2;
  const kinds = new Set([
    ...Object.keys(a.requestsByKind ?? {}),
    ...Object.keys(b.requestsByKind ?? {}),
  ]);
  return {
    load: {
      eventsPerSecond: mean(a.load.eventsPerSecond, b.load.eventsPerSecond),
      p50: mean(a.load.p50, b.load.p50),
      p99: mean(a.load.p99, b.load.p99),
      failures: a.load.failures + b.load.failures,
      events: a.load.events + b.load.events,
      cpuPerEvent: mean(a.load.cpuPerEvent, b.load.cpuPerEvent),
    },
    apiRequestsPerEvent: mean(a.apiRequestsPerEvent, b.apiRequestsPerEvent),
    requestsByKind: Object.fromEntries(
      [...kinds].map((kind) => [kind, mean(a.requestsByKind?.[kind], b.requestsByKind?.[kind])]),
    ),
  };
}

/** The built function as `npm start` runs it, with `env`: the subject every cluster run measures. */
export function npmStartSubject(
  label: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Subject {
  return { key: 'provisioner', label, settings: 'npm start', args, env };
}

/**
 * The function's bound token in a kubeconfig of the form the limit reads (the in-memory API
 * server's: JSON-quoted scalars, the CA inline), which the function reads as well.
 */
export async function functionKubeconfig(cluster: Cluster, dir: string): Promise<string> {
  const token = loadKubeConfig(cluster.functionKubeconfig).getCurrentUser()?.token;
  if (!token) throw new Error(`no token in ${cluster.functionKubeconfig}`);
  return writeKubeconfigFile(join(dir, 'bench-kubeconfig'), {
    url: cluster.server,
    caPem: await readFile(cluster.caFile, 'utf8'),
    namespace: NAMESPACE,
    user: { token },
  });
}

/** Loads `subject` against the cluster; every event carries `extra` (an Authorization header). */
export async function measure(
  cluster: Cluster,
  subject: Subject,
  extra: ExtraHeaders = {},
): Promise<ClusterResult> {
  log(`cluster: ${subject.label}`);
  const running = await spawnSubject(subject);
  try {
    const deadline = performance.now() + 60_000;
    while (!(await sendEvent(running.port, false, extra).catch(() => false))) {
      if (running.child.exitCode !== null || performance.now() > deadline) {
        throw new Error(`${subject.label} did not serve against the cluster:\n${running.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await load(running.port, CONCURRENCY, { count: WARMUP_EVENTS }, undefined, extra);
    const requestsBefore = await apiServerRequestsByKind(cluster);
    const cpuBefore = cpuMs(running.child.pid);
    const result = await load(
      running.port,
      CONCURRENCY,
      { count: MEASURED_EVENTS },
      undefined,
      extra,
    );
    result.cpuPerEvent = (cpuMs(running.child.pid) - cpuBefore) / result.events;
    // What the event set going (the function's Event, the scheduler's binding and its Event,
    // kwok's status) is served after the reply, and later the faster the subject: counted once
    // it has settled, or a fast subject's count would lack what the cluster still owes it.
    const requestsAfter = await settledRequests(cluster);
    const requestsByKind: Record<string, number> = {};
    let requests = 0;
    for (const [kind, after] of requestsAfter) {
      const grown = after - (requestsBefore.get(kind) ?? 0);
      requests += grown;
      if (grown > 0) requestsByKind[kind] = grown / result.events;
    }
    const measured = {
      load: result,
      apiRequestsPerEvent: requests / result.events,
      requestsByKind,
    };
    log(`  ${JSON.stringify(measured)}`);
    return measured;
  } finally {
    await stop(running);
    await deleteClientPods(cluster);
  }
}

/** How long the requests on pods and Events must stay still to count as settled. */
const SETTLED_MS = 1500;
const SETTLE_LIMIT_MS = 60_000;

/**
 * kube-apiserver's requests by kind once those on pods and Events (the subject's, the
 * scheduler's, kwok's) have not grown for SETTLED_MS; the nodes' leases go on meanwhile.
 */
async function settledRequests(cluster: Cluster): Promise<Map<string, number>> {
  const onPods = (totals: Map<string, number>) =>
    [...totals].reduce((sum, [kind, n]) => (/ (pods|events)/.test(kind) ? sum + n : sum), 0);
  const until = performance.now() + SETTLE_LIMIT_MS;
  let last = await apiServerRequestsByKind(cluster);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, SETTLED_MS));
    const now = await apiServerRequestsByKind(cluster);
    if (onPods(now) === onPods(last) || performance.now() > until) return now;
    last = now;
  }
}

/**
 * kube-apiserver's apiserver_request_total, every client, summed by verb and resource: `POST
 * pods`, `PATCH pods/status`, `WATCH pods`, `POST events.events.k8s.io`, … (its labels name no
 * client; the verbs and resources tell them apart here).
 */
async function apiServerRequestsByKind(cluster: Cluster): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  for (const line of (await apiServerMetrics(cluster)).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1], match[2]]),
    );
    const resource = `${labels.resource || labels.component}${labels.subresource ? `/${labels.subresource}` : ''}`;
    const kind = `${labels.verb} ${labels.group ? `${resource}.${labels.group}` : resource}`;
    totals.set(kind, (totals.get(kind) ?? 0) + Number(line.split(' ').at(-1)));
  }
  return totals;
}

/** The sum of the samples of kube-apiserver's /metrics whose line starts with `prefix`. */
export async function apiServerMetric(cluster: Cluster, prefix: string): Promise<number> {
  let total = 0;
  for (const line of (await apiServerMetrics(cluster)).split('\n')) {
    if (line.startsWith(prefix)) total += Number(line.split(' ').at(-1));
  }
  return total;
}

/** kube-apiserver's /metrics, read with the admin's certificate. */
async function apiServerMetrics(cluster: Cluster): Promise<string> {
  const pki = join(cluster.dir, 'pki');
  const { status, body } = await httpsGet(`${cluster.server}/metrics`, {
    ca: cluster.caFile,
    client: { cert: join(pki, 'admin.crt'), key: join(pki, 'admin.key') },
  });
  if (status !== 200) throw new Error(`kube-apiserver /metrics answered ${status}`);
  return body;
}

async function deleteClientPods(cluster: Cluster): Promise<void> {
  const pods = loadKubeConfig(cluster.adminKubeconfig).makeApiClient(k8s.CoreV1Api);
  await pods.deleteCollectionNamespacedPod({ namespace: NAMESPACE, gracePeriodSeconds: 0 });
}

/**
 * The subject against the reference, the ratio of the two; with `info`, a third column (the
 * plain limit) and the subject's ratio to it, for information.
 */
export function tableOf(
  provisioner: ClusterResult,
  reference: ClusterResult,
  columns = ['provisioner', 'limit'],
  info?: ClusterResult,
): string {
  const [first, second] = columns;
  const ratio = (p: number, l: number) => (l === 0 ? '–' : (p / l).toFixed(2));
  const row = (what: string, of: (result: ClusterResult) => number, digits: number) => {
    const [p, l] = [of(provisioner), of(reference)];
    const cells = [what, p.toFixed(digits), l.toFixed(digits)];
    if (info) cells.push(of(info).toFixed(digits));
    cells.push(ratio(p, l));
    if (info) cells.push(ratio(p, of(info)));
    return `| ${cells.join(' | ')} |`;
  };
  const head = [
    `against the real kube-apiserver (concurrency ${CONCURRENCY}, ${MEASURED_EVENTS} events)`,
    first,
    second,
    ...(info ? ['limit'] : []),
    `${first} / ${second}`,
    ...(info ? [`${first} / limit`] : []),
  ];
  return `${[
    `| ${head.join(' | ')} |`,
    `|${head.map(() => ' --- |').join('')}`,
    row('events/s', (r) => r.load.eventsPerSecond, 0),
    row('p50 latency (ms)', (r) => r.load.p50, 1),
    row('p99 latency (ms)', (r) => r.load.p99, 1),
    row('CPU per event (ms)', (r) => r.load.cpuPerEvent ?? Number.NaN, 2),
    row('kube-apiserver requests per event (all clients)', (r) => r.apiRequestsPerEvent, 2),
    row('failed events', (r) => r.load.failures, 0),
  ].join('\n')}\n`;
}

/** kube-apiserver's requests per event by verb and resource, one column per subject. */
function kindsTable(results: ReadonlyArray<readonly [string, ClusterResult]>): string {
  const kinds = new Set(results.flatMap(([, result]) => Object.keys(result.requestsByKind ?? {})));
  const rows = [...kinds]
    .map((kind) => ({
      kind,
      counts: results.map(([, result]) => result.requestsByKind?.[kind] ?? 0),
    }))
    // What happens less than once in 100 events is the control plane's own background.
    .filter(({ counts }) => counts.some((count) => count >= 0.01))
    .sort((a, b) => a.kind.localeCompare(b.kind))
    .map(({ kind, counts }) => `| ${kind} | ${counts.map((c) => c.toFixed(2)).join(' | ')} |`);
  const head = [
    'kube-apiserver requests per event, by verb and resource',
    ...results.map(([n]) => n),
  ];
  return `${[`| ${head.join(' | ')} |`, `|${head.map(() => ' --- |').join('')}`, ...rows].join('\n')}\n`;
}
