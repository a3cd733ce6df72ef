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
import { type BenchOptions, log, NAMESPACE, ROOT, type Subject } from './options.ts';
import { cpuMs, spawnSubject, stop } from './processes.ts';

const CONCURRENCY = 16;
const WARMUP_EVENTS = 50;
const MEASURED_EVENTS = 600;

export interface ClusterResult {
  readonly load: LoadResult;
  /** kube-apiserver's own count of the requests it served, all clients, per event. */
  readonly apiRequestsPerEvent: number;
}

/** Starts the control plane in `dir`, measures both subjects, prints the table on stdout. */
export async function clusterBench(
  dir: string,
  { npmStart, provisionerEnv }: BenchOptions,
): Promise<void> {
  log('starting the control plane (the first build takes minutes)…');
  const cluster = await startCluster({ dir: join(dir, 'cluster'), log });
  try {
    const kubeconfig = await functionKubeconfig(cluster, dir);
    const kube = { KUBECONFIG: kubeconfig, CLIENT_NAMESPACE: NAMESPACE };
    // The manifests' NODE_OPTIONS for both, as deployed.
    const nodeOptions = provisionerEnv.NODE_OPTIONS;
    const provisionerSubject = npmStartSubject('provisioner (build/index.js)', npmStart.args, {
      ...kube,
      ...provisionerEnv,
    });
    const limitSubject = {
      key: 'limit' as const,
      label: 'limit (scripts/bench/limit.js)',
      settings: 'node scripts/bench/limit.js',
      args: [join(ROOT, 'scripts/bench/limit.js')],
      env: { ...kube, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
    };
    const provisioner = await measure(cluster, provisionerSubject);
    const limit = await measure(cluster, limitSubject);
    process.stdout.write(tableOf(provisioner, limit));
  } finally {
    await cluster.stop();
  }
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
    const requestsBefore = await apiServerRequests(cluster);
    const cpuBefore = cpuMs(running.child.pid);
    const result = await load(
      running.port,
      CONCURRENCY,
      { count: MEASURED_EVENTS },
      undefined,
      extra,
    );
    result.cpuPerEvent = (cpuMs(running.child.pid) - cpuBefore) / result.events;
    // What the event set going (the scheduler's binding, kwok's status, the function's Event)
    // is served within moments of the reply: counted once it has settled.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const requests = (await apiServerRequests(cluster)) - requestsBefore;
    return { load: result, apiRequestsPerEvent: requests / result.events };
  } finally {
    await stop(running);
    await deleteClientPods(cluster);
  }
}

/** The sum of kube-apiserver's apiserver_request_total, every client and verb. */
function apiServerRequests(cluster: Cluster): Promise<number> {
  return apiServerMetric(cluster, 'apiserver_request_total{');
}

/** The sum of the samples of kube-apiserver's /metrics whose line starts with `prefix`. */
export async function apiServerMetric(cluster: Cluster, prefix: string): Promise<number> {
  const pki = join(cluster.dir, 'pki');
  const { status, body } = await httpsGet(`${cluster.server}/metrics`, {
    ca: cluster.caFile,
    client: { cert: join(pki, 'admin.crt'), key: join(pki, 'admin.key') },
  });
  if (status !== 200) throw new Error(`kube-apiserver /metrics answered ${status}`);
  let total = 0;
  for (const line of body.split('\n')) {
    if (line.startsWith(prefix)) total += Number(line.split(' ').at(-1));
  }
  return total;
}

async function deleteClientPods(cluster: Cluster): Promise<void> {
  const pods = loadKubeConfig(cluster.adminKubeconfig).makeApiClient(k8s.CoreV1Api);
  await pods.deleteCollectionNamespacedPod({ namespace: NAMESPACE, gracePeriodSeconds: 0 });
}

export function tableOf(
  provisioner: ClusterResult,
  limit: ClusterResult,
  columns = ['provisioner', 'limit'],
): string {
  const row = (what: string, of: (result: ClusterResult) => number, digits: number) => {
    const [p, l] = [of(provisioner), of(limit)];
    const ratio = l === 0 ? '–' : (p / l).toFixed(2);
    return `| ${what} | ${p.toFixed(digits)} | ${l.toFixed(digits)} | ${ratio} |`;
  };
  const [first, second] = columns;
  return `${[
    `| against the real kube-apiserver (concurrency ${CONCURRENCY}, ${MEASURED_EVENTS} events) | ${first} | ${second} | ${first} / ${second} |`,
    '| --- | --- | --- | --- |',
    row('events/s', (r) => r.load.eventsPerSecond, 0),
    row('p50 latency (ms)', (r) => r.load.p50, 1),
    row('p99 latency (ms)', (r) => r.load.p99, 1),
    row('CPU per event (ms)', (r) => r.load.cpuPerEvent ?? Number.NaN, 2),
    row('kube-apiserver requests per event (all clients)', (r) => r.apiRequestsPerEvent, 2),
    row('failed events', (r) => r.load.failures, 0),
  ].join('\n')}\n`;
}
