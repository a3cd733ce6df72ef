// `npm run bench -- --oidc`: what checking the Broker's token costs per event, against the real
// control plane of test/cluster/ (as --cluster): the built function with OIDC_AUDIENCE off and on,
// every event carrying the same TokenRequest token; then the two ways of checking one token,
// side by side: the function's (its TokenVerifier, the issuer's keys fetched once) and
// kube-apiserver's TokenReview (one API call per token), in CPU and time.
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseOidcSettings } from '../../src/config/oidc.ts';
import { TokenVerifier } from '../../src/edge/token-verifier.ts';
import { makeKubeClient } from '../../src/kube/client.ts';
import { fetchIssuerKeys } from '../../src/kube/issuer-keys.ts';
import { type Cluster, startCluster } from '../../testbed/cluster/cluster.ts';
import { createObjects, loadKubeConfig } from '../../testbed/cluster/manifests.ts';
import { addressableAudience, triggerOidcServiceAccount } from '../../testbed/eventing-names.ts';
import {
  apiServerMetric,
  type ClusterResult,
  functionKubeconfig,
  meanOf,
  measure,
  npmStartSubject,
  tableOf,
} from './cluster.ts';
import { type BenchOptions, log, NAMESPACE } from './options.ts';
import { percentile } from './stats.ts';

const ACCOUNT_NAMESPACE = 'podgateway-provisioner';
const AUDIENCE = addressableAudience(
  'serving.knative.dev',
  'Service',
  ACCOUNT_NAMESPACE,
  'client-provisioner',
);
const ACCOUNT = triggerOidcServiceAccount('client-provisioner-function-trigger-0');
const SUBJECT = `system:serviceaccount:${ACCOUNT_NAMESPACE}:${ACCOUNT}`;
const REMEMBERED_CHECKS = 20_000;
/** Distinct tokens (TokenRequest makes a new one each time), each checked once: no remembering. */
const FIRST_CHECKS = 300;
const REVIEWS = 500;

interface CheckCost {
  /** This process's CPU per check, in µs. */
  readonly clientCpuUs: number;
  /** Wall time of one check, median, in µs. */
  readonly p50Us: number;
  /** kube-apiserver's CPU per check, in µs (its process_cpu_seconds_total). */
  readonly apiServerCpuUs: number;
  /** kube-apiserver requests per check. */
  readonly apiRequests: number;
}

export async function oidcBench(
  dir: string,
  { npmStart, provisionerEnv }: BenchOptions,
): Promise<void> {
  log('starting the control plane (the first build takes minutes)…');
  const cluster = await startCluster({ dir: join(dir, 'cluster'), log });
  try {
    const admin = loadKubeConfig(cluster.adminKubeconfig);
    await createObjects(admin, [
      {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: ACCOUNT, namespace: ACCOUNT_NAMESPACE },
      } as k8s.KubernetesObject,
    ]);
    const answer = await admin.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({
      name: ACCOUNT,
      namespace: ACCOUNT_NAMESPACE,
      body: { spec: { audiences: [AUDIENCE], expirationSeconds: 3600 } },
    });
    const token = answer.status?.token ?? '';
    const fresh: string[] = [];
    for (let index = 0; index < FIRST_CHECKS; index += 1) {
      const made = await admin.makeApiClient(k8s.CoreV1Api).createNamespacedServiceAccountToken({
        name: ACCOUNT,
        namespace: ACCOUNT_NAMESPACE,
        body: { spec: { audiences: [AUDIENCE], expirationSeconds: 3600 } },
      });
      fresh.push(made.status?.token ?? '');
    }
    const kubeconfig = await functionKubeconfig(cluster, dir);
    const kube = { KUBECONFIG: kubeconfig, CLIENT_NAMESPACE: NAMESPACE };
    const subject = (label: string, env: Record<string, string>) =>
      npmStartSubject(label, npmStart.args, { ...kube, ...provisionerEnv, ...env });
    // The same bytes either way: only the check differs.
    const authorization = { authorization: `Bearer ${token}` };
    const checked = subject('provisioner, OIDC_AUDIENCE set', {
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_SUBJECTS: SUBJECT,
    });
    const unchecked = subject('provisioner, OIDC_AUDIENCE empty', {});
    // In the order on, off, off, on: a cluster's first loads run slower (etcd and the
    // controllers warming up), which would otherwise count against whichever runs first.
    const runs: ClusterResult[] = [];
    for (const which of [checked, unchecked, unchecked, checked]) {
      runs.push(await measure(cluster, which, authorization));
    }
    const [on1, off1, off2, on2] = runs as [
      ClusterResult,
      ClusterResult,
      ClusterResult,
      ClusterResult,
    ];
    const on = meanOf(on1, on2);
    const off = meanOf(off1, off2);
    const local = await localChecks(cluster, kubeconfig, token, fresh);
    const review = await tokenReviews(cluster, admin, token);
    process.stdout.write(
      'Each column: two loads, run in the order checked, not checked, not checked, checked, averaged.\n\n',
    );
    process.stdout.write(tableOf(on, off, ['token checked', 'not checked']));
    process.stdout.write(`\n${checksTable([...local, review])}`);
  } finally {
    await cluster.stop();
  }
}

/**
 * The function's check in this process, the keys fetched once at start: each of `fresh` seen
 * for the first time (signature and claims), then `token` again and again (remembered).
 */
async function localChecks(
  cluster: Cluster,
  kubeconfig: string,
  token: string,
  fresh: readonly string[],
): Promise<[CheckCost, CheckCost]> {
  const settings = parseOidcSettings(AUDIENCE, SUBJECT);
  if (settings === undefined) throw new Error('no OIDC settings');
  const kube = makeKubeClient({ KUBECONFIG: kubeconfig });
  const verifier = await TokenVerifier.start(settings, () =>
    fetchIssuerKeys(kube.kubeConfig, 5000),
  );
  const check = async (header: string) => {
    const verdict = await verifier.verify(header);
    if (!verdict.ok) throw new Error(`the token was refused: ${verdict.message}`);
  };
  const header = `Bearer ${token}`;
  for (let index = 0; index < 1000; index += 1) await check(header);
  let next = 0;
  const first = await costOf(cluster, fresh.length, () => check(`Bearer ${fresh[next++]}`));
  const remembered = await costOf(cluster, REMEMBERED_CHECKS, () => check(header));
  return [first, remembered];
}

/** kube-apiserver's check: a TokenReview per token, REVIEWS times, one at a time. */
async function tokenReviews(
  cluster: Cluster,
  admin: k8s.KubeConfig,
  token: string,
): Promise<CheckCost> {
  const api = admin.makeApiClient(k8s.AuthenticationV1Api);
  const review = async () => {
    const answer = await api.createTokenReview({
      body: { spec: { token, audiences: [AUDIENCE] } },
    });
    if (answer.status?.authenticated !== true) throw new Error('the token was not authenticated');
  };
  for (let index = 0; index < 50; index += 1) await review();
  return costOf(cluster, REVIEWS, review);
}

async function costOf(
  cluster: Cluster,
  count: number,
  check: () => Promise<void>,
): Promise<CheckCost> {
  const apiCpuBefore = await apiServerMetric(cluster, 'process_cpu_seconds_total');
  const requestsBefore = await apiServerMetric(cluster, 'apiserver_request_total{');
  const cpuBefore = process.cpuUsage();
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) {
    const started = performance.now();
    await check();
    times.push((performance.now() - started) * 1000);
  }
  const cpu = process.cpuUsage(cpuBefore);
  // The two reads of /metrics are requests too: not the checks'.
  const requests =
    (await apiServerMetric(cluster, 'apiserver_request_total{')) - requestsBefore - 1;
  const apiCpu = (await apiServerMetric(cluster, 'process_cpu_seconds_total')) - apiCpuBefore;
  times.sort((a, b) => a - b);
  return {
    clientCpuUs: (cpu.user + cpu.system) / count,
    p50Us: percentile(times, 0.5),
    apiServerCpuUs: (apiCpu * 1e6) / count,
    apiRequests: Math.max(0, requests) / count,
  };
}

function checksTable(costs: readonly CheckCost[]): string {
  const row = (what: string, of: (cost: CheckCost) => number, digits: number) =>
    `| ${what} | ${costs.map((cost) => of(cost).toFixed(digits)).join(' | ')} |`;
  return `${[
    `| one token checked, one at a time | TokenVerifier, a token's first check (${FIRST_CHECKS} tokens) | TokenVerifier, a token remembered (${REMEMBERED_CHECKS} checks) | TokenReview (${REVIEWS}) |`,
    '| --- | --- | --- | --- |',
    row('CPU of the checker per check (µs)', (c) => c.clientCpuUs, 1),
    row('time per check, median (µs)', (c) => c.p50Us, 1),
    row('kube-apiserver CPU per check (µs)', (c) => c.apiServerCpuUs, 0),
    row('kube-apiserver requests per check', (c) => c.apiRequests, 2),
  ].join('\n')}\n`;
}
