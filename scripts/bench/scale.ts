// `npm run bench -- --cluster --scale` and `--cluster --throttle`: the built function on the real
// control plane of testbed/cluster/, the bench playing the Broker (testbed/cluster/broker-run.ts:
// it redelivers on 5xx and on no answer, with backoff; a tenth of the events twice, half of those
// at the same moment as the original).
// --scale: N events (--events, 10,000), an etcd compaction and a kube-apiserver restart halfway;
// events/s, the 503s and redeliveries, how long kube-apiserver was down, the function's RSS, and
// the pods counted through the API by event id: one per event, no duplicates.
// --throttle: N events (1,000) as they are, then as many with the function's ServiceAccount given
// a tiny API Priority and Fairness share (testbed/cluster/flow-control.ts): how much it slows,
// how many 429s the function met and how many 503s it answered, and still one pod per event.
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  BROKER_POLICY,
  type BrokerRunOptions,
  type BrokerTally,
  runAsBroker,
  tallyRun,
} from '../../testbed/cluster/broker-run.ts';
import { type Cluster, startCluster } from '../../testbed/cluster/cluster.ts';
import { throttle } from '../../testbed/cluster/flow-control.ts';
import { httpsGet } from '../../testbed/cluster/https-get.ts';
import { FUNCTION_SERVICE_ACCOUNT, loadKubeConfig } from '../../testbed/cluster/manifests.ts';
import { parseExposition } from '../../testbed/prometheus.ts';
import { functionKubeconfig, npmStartSubject } from './cluster.ts';
import { sendEvent } from './load.ts';
import { type BenchOptions, log, NAMESPACE } from './options.ts';
import { cpuMs, type Running, rssMb, spawnSubject, stop } from './processes.ts';

/** kwok's fake nodes take 110 pods each: enough that every pod of the run is scheduled. */
const PODS_PER_NODE = 100;

interface Measured {
  readonly tally: BrokerTally;
  readonly elapsedMs: number;
  readonly cpuPerEventMs: number;
  /** The function's RSS in MB: before the run, the most seen (sampled every second), after. */
  readonly rss: { readonly before: number; readonly max: number; readonly after: number };
  /** The function's API calls answered 429 during the run. */
  readonly throttledCalls: number;
}

/** Starts the control plane with room for the run's pods, the function in it; runs `body`. */
async function withFunction(
  dir: string,
  options: BenchOptions,
  pods: number,
  body: (cluster: Cluster, running: Running) => Promise<void>,
): Promise<void> {
  const nodes = Math.ceil(pods / PODS_PER_NODE) + 2;
  log(`starting the control plane with ${nodes} kwok nodes…`);
  const cluster = await startCluster({ dir: join(dir, 'cluster'), nodes, log });
  try {
    const kubeconfig = await functionKubeconfig(cluster, dir);
    const subject = npmStartSubject('provisioner (build/index.js)', options.npmStart.args, {
      KUBECONFIG: kubeconfig,
      CLIENT_NAMESPACE: NAMESPACE,
      REQUIRE_ROUTING: 'true',
      ...options.provisionerEnv,
    });
    const running = await spawnSubject(subject);
    try {
      const deadline = performance.now() + 60_000;
      while (!(await sendEvent(running.port, false).catch(() => false))) {
        if (running.child.exitCode !== null || performance.now() > deadline) {
          throw new Error(`the function did not serve against the cluster:\n${running.output()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await body(cluster, running);
    } finally {
      await stop(running);
    }
  } finally {
    await cluster.stop();
  }
}

/** One run of the Broker against the running function, with its RSS, CPU and 429s. */
async function measureRun(
  cluster: Cluster,
  running: Running,
  run: Omit<BrokerRunOptions, 'url' | 'gateways' | 'policy'>,
): Promise<Measured> {
  const pid = running.child.pid;
  const rssBefore = rssMb(pid);
  let rssMax = rssBefore;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, rssMb(pid));
  }, 1000);
  const cpuBefore = cpuMs(pid);
  const throttledBefore = await apiAnswers(running.port, '429');
  let reported = 0;
  const result = await runAsBroker({
    ...run,
    url: `http://127.0.0.1:${running.port}`,
    gateways: ['foo', 'bar'],
    policy: BROKER_POLICY,
    onProgress: (finished, total) => {
      if (finished - reported >= total / 10) {
        reported = finished;
        log(`  ${finished}/${total} deliveries finished`);
      }
    },
  });
  clearInterval(sampler);
  const cpuPerEventMs = (cpuMs(pid) - cpuBefore) / run.events;
  const rssAfter = rssMb(pid);
  const throttledCalls = (await apiAnswers(running.port, '429')) - throttledBefore;
  const admin = loadKubeConfig(cluster.adminKubeconfig);
  const tally = await tallyRun(result, admin, NAMESPACE, run.idPrefix);
  return {
    tally,
    elapsedMs: result.elapsedMs,
    cpuPerEventMs,
    rss: { before: rssBefore, max: Math.max(rssMax, rssAfter), after: rssAfter },
    throttledCalls,
  };
}

/** The function's Kubernetes API calls answered with HTTP `code`, from its /metrics. */
async function apiAnswers(port: number, code: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return parseExposition(text)
    .samples.filter(
      (sample) =>
        sample.name === 'podgateway_kube_api_request_duration_seconds_count' &&
        sample.labels.code === code,
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

/**
 * Runs `restart` while asking kube-apiserver's /readyz every 100 ms: the longest stretch without
 * a 200 (no answer, or not ready), in ms. The restart's own time includes the graceful stop.
 */
async function downtimeOf(cluster: Cluster, restart: () => Promise<void>): Promise<number> {
  const pki = join(cluster.dir, 'pki');
  const tls = {
    ca: cluster.caFile,
    client: { cert: join(pki, 'admin.crt'), key: join(pki, 'admin.key') },
  };
  let downSince: number | undefined;
  let longest = 0;
  let restarting = true;
  const poll = async () => {
    while (restarting) {
      const asked = performance.now();
      const ready = await httpsGet(`${cluster.server}/readyz`, tls)
        .then((answer) => answer.status === 200)
        .catch(() => false);
      if (!ready) downSince ??= asked;
      else if (downSince !== undefined) {
        longest = Math.max(longest, performance.now() - downSince);
        downSince = undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const polling = poll();
  await restart();
  restarting = false;
  await polling;
  if (downSince !== undefined) longest = Math.max(longest, performance.now() - downSince);
  return longest;
}

/** Up to five of each kind of problem, on stderr: what a figure above zero was. */
function logProblems(tally: BrokerTally): void {
  for (const [what, list] of [
    ['not done', tally.notDone],
    ['duplicate', tally.duplicates],
    ['without a pod', tally.missing],
  ] as const) {
    for (const example of list.slice(0, 5)) log(`  ${what}: ${example}`);
  }
}

/** --scale: the events through a compaction and a restart of kube-apiserver, halfway. */
export async function scaleBench(dir: string, options: BenchOptions): Promise<void> {
  const events = options.events ?? 10_000;
  const loadBefore = loadavg()[0] ?? Number.NaN;
  await withFunction(dir, options, events, async (cluster, running) => {
    let compactMs = Number.NaN;
    let restartMs = Number.NaN;
    let downMs = Number.NaN;
    const measured = await measureRun(cluster, running, {
      events,
      concurrency: options.soakConcurrency,
      redeliveredShare: 0.1,
      idPrefix: `scale-${Date.now()}`,
      midway: async () => {
        log('  halfway: etcd compaction, then kube-apiserver restart');
        let began = performance.now();
        await cluster.compactEtcd();
        compactMs = performance.now() - began;
        began = performance.now();
        downMs = await downtimeOf(cluster, () => cluster.restartApiServer());
        restartMs = performance.now() - began;
      },
    });
    const { tally } = measured;
    logProblems(tally);
    const rows: Array<[string, string]> = [
      ['events (distinct ids)', String(tally.events)],
      ['deliveries (a tenth twice, half of those at once)', String(tally.deliveries)],
      ['events/s (distinct, first send to last answer)', tally.eventsPerSecond.toFixed(0)],
      ['HTTP requests', String(tally.httpRequests)],
      ['redeliveries (after a 5xx or no answer)', String(tally.redeliveries)],
      ['5xx answers, by reason', describeCounts(tally.serverErrors)],
      ['503s without Retry-After', String(tally.withoutRetryAfter)],
      ['no answer (connection errors)', String(tally.connectionErrors)],
      ['most HTTP requests for one delivery', String(tally.mostAttempts)],
      ['etcd compaction (ms)', compactMs.toFixed(0)],
      ['kube-apiserver restart: graceful stop, start, until /readyz (ms)', restartMs.toFixed(0)],
      ['kube-apiserver down: longest stretch without a /readyz 200 (ms)', downMs.toFixed(0)],
      ...commonRows(measured),
    ];
    process.stdout.write(
      `${table(`--scale, concurrency ${options.soakConcurrency}, load ${loadBefore.toFixed(2)} | figure`, rows)}\n`,
    );
  });
}

/** --throttle: the same events without, then with, the function's tiny APF share. */
export async function throttleBench(dir: string, options: BenchOptions): Promise<void> {
  const events = options.events ?? 1000;
  const concurrency = options.soakConcurrency * 4;
  const loadBefore = loadavg()[0] ?? Number.NaN;
  await withFunction(dir, options, 2 * events, async (cluster, running) => {
    const run = { events, concurrency, redeliveredShare: 0.1 };
    log(`without a throttle: ${events} events at concurrency ${concurrency}`);
    const free = await measureRun(cluster, running, { ...run, idPrefix: `free-${Date.now()}` });
    const admin = loadKubeConfig(cluster.adminKubeconfig);
    const throttled = await throttle(admin, loadKubeConfig(cluster.functionKubeconfig), {
      name: 'podgateway-bench-throttle',
      serviceAccount: FUNCTION_SERVICE_ACCOUNT,
      queueLength: 1,
    });
    log(`with the function's APF share (1 of ~246 shares, one queue of 1): ${events} events`);
    const slow = await measureRun(cluster, running, { ...run, idPrefix: `slow-${Date.now()}` });
    await throttled.remove();
    logProblems(free.tally);
    logProblems(slow.tally);
    const both = (what: string, of: (m: Measured) => string): [string, string] => [
      what,
      `${of(free)} | ${of(slow)}`,
    ];
    const rows: Array<[string, string]> = [
      both('events/s', (m) => m.tally.eventsPerSecond.toFixed(0)),
      both('API calls answered 429', (m) => String(m.throttledCalls)),
      both('redeliveries', (m) => String(m.tally.redeliveries)),
      both('5xx answers, by reason', (m) => describeCounts(m.tally.serverErrors)),
      both('503s without Retry-After', (m) => String(m.tally.withoutRetryAfter)),
      both('most HTTP requests for one delivery', (m) => String(m.tally.mostAttempts)),
      both('CPU per event (ms)', (m) => m.cpuPerEventMs.toFixed(2)),
      both('pods (one per event id)', (m) => String(m.tally.pods)),
      both('duplicates', (m) => String(m.tally.duplicates.length)),
      both('event ids without a pod', (m) => String(m.tally.missing.length)),
      both('deliveries not ending done', (m) => String(m.tally.notDone.length)),
    ];
    const slowdown = free.tally.eventsPerSecond / slow.tally.eventsPerSecond;
    process.stdout.write(
      `${table(`--throttle, concurrency ${concurrency}, load ${loadBefore.toFixed(2)} | without | with the APF share`, rows, 3)}\n` +
        `slowed ${slowdown.toFixed(1)}× by the throttle\n`,
    );
  });
}

function commonRows(m: Measured): Array<[string, string]> {
  return [
    ['pods, counted through the API by event id', String(m.tally.pods)],
    ['duplicates (pods beyond one per event id)', String(m.tally.duplicates.length)],
    ['event ids without a pod', String(m.tally.missing.length)],
    ['deliveries not ending done', String(m.tally.notDone.length)],
    ['CPU per event (ms)', m.cpuPerEventMs.toFixed(2)],
    [
      'RSS of the function (MB): before, most, after',
      `${m.rss.before.toFixed(0)}, ${m.rss.max.toFixed(0)}, ${m.rss.after.toFixed(0)}`,
    ],
    ['elapsed (s)', (m.elapsedMs / 1000).toFixed(1)],
  ];
}

function describeCounts(counts: Readonly<Record<string, number>>): string {
  const entries = Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? 'none' : entries.map(([key, n]) => `${key}: ${n}`).join(', ');
}

function table(title: string, rows: ReadonlyArray<[string, string]>, columns = 2): string {
  const header = `| ${title} |`;
  const rule = `|${' --- |'.repeat(columns)}`;
  return [header, rule, ...rows.map(([what, value]) => `| ${what} | ${value} |`)].join('\n');
}
