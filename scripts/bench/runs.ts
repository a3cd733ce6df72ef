// The measurements: cold starts, steady-state load and soak, the API call as the function times
// it, the API server alone, and the WAIT_FOR=scheduled run.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/config.ts';
import { buildPod } from '../../src/pods/client-pod.ts';
import { type LoadResult, load, RUN_TAG, sendEvent } from './load.ts';
import {
  type BenchOptions,
  CONCURRENCIES,
  NAMESPACE,
  SOAK_SAMPLES,
  type Subject,
  WARMUP_EVENTS,
} from './options.ts';
import { cpuMs, rssMb, spawnSubject, startApiServer, stop } from './processes.ts';
import { percentile } from './stats.ts';

export interface Cold {
  readonly ms: number[];
  readonly rss: number[];
  readonly cpu: number[];
}

export interface RepeatResult {
  readonly load: Record<number, LoadResult>;
  /** RSS in MB after each tenth of the soak, [0] before it. */
  readonly rss: number[];
}

export interface ScheduledResult {
  readonly load: LoadResult;
  /** Most watches the API server had open at once during the run. */
  readonly maxWatches: number;
}

/** Spawn to first `done` reply: polls with an event every 2 ms until one is answered. */
export async function coldStart(
  subject: Subject,
): Promise<{ ms: number; rss: number; cpu: number }> {
  const started = performance.now();
  const running = await spawnSubject(subject);
  try {
    for (;;) {
      if (running.child.exitCode !== null) {
        throw new Error(`${subject.label} exited:\n${running.output()}`);
      }
      if (performance.now() - started > 30_000) {
        throw new Error(`${subject.label} did not answer:\n${running.output()}`);
      }
      try {
        if (await sendEvent(running.port, false)) {
          const ms = performance.now() - started;
          return { ms, rss: rssMb(running.child.pid), cpu: cpuMs(running.child.pid) };
        }
        throw new Error(`${subject.label} answered without a done event:\n${running.output()}`);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ECONNREFUSED' && code !== 'ECONNRESET') throw error;
        await sleep(2);
      }
    }
  } finally {
    await stop(running);
  }
}

export async function steadyState(
  subject: Subject,
  { durationMs, soakEvents, soakConcurrency }: BenchOptions,
): Promise<RepeatResult> {
  const running = await spawnSubject(subject);
  try {
    const deadline = performance.now() + 30_000;
    while (!(await sendEvent(running.port, false).catch(() => false))) {
      if (running.child.exitCode !== null || performance.now() > deadline) {
        throw new Error(`${subject.label} did not start:\n${running.output()}`);
      }
      await sleep(20);
    }
    await load(running.port, 16, { count: WARMUP_EVENTS });
    const results: Record<number, LoadResult> = {};
    for (const concurrency of CONCURRENCIES) {
      const cpuBefore = cpuMs(running.child.pid);
      const result = await load(running.port, concurrency, { durationMs });
      result.cpuPerEvent = (cpuMs(running.child.pid) - cpuBefore) / result.events;
      results[concurrency] = result;
    }
    const rss = [rssMb(running.child.pid)];
    const every = soakEvents / SOAK_SAMPLES;
    await load(running.port, soakConcurrency, { count: soakEvents }, (done) => {
      if (done % every === 0) rss.push(rssMb(running.child.pid));
    });
    return { load: results, rss };
  } finally {
    await stop(running);
  }
}

/** The function's own account of its Kubernetes API calls, warm: mean ms, from /metrics. */
export async function apiCallMeanMs(subject: Subject): Promise<number | undefined> {
  const running = await spawnSubject(subject);
  try {
    while (!(await sendEvent(running.port, false).catch(() => false))) await sleep(20);
    await load(running.port, 1, { count: 100 });
    const before = await apiCallTotals(running.port);
    await load(running.port, 1, { count: 500 });
    const after = await apiCallTotals(running.port);
    const count = after.count - before.count;
    return count > 0 ? ((after.sum - before.sum) / count) * 1000 : undefined;
  } finally {
    await stop(running);
  }
}

async function apiCallTotals(port: number): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const totals = { sum: 0, count: 0 };
  for (const line of text.split('\n')) {
    const match = /^podgateway_kube_api_request_duration_seconds_(sum|count)\{[^}]*\} (\S+)$/.exec(
      line,
    );
    if (match?.[1] === 'sum' || match?.[1] === 'count') totals[match[1]] += Number(match[2]);
  }
  return totals;
}

/**
 * The API server alone: pod creates sent straight to it over keep-alive HTTPS, the first 100
 * not counted. At concurrency 1 its p50 is the API call an event cannot do without; at 16 its
 * rate is the most events/s any provisioner could reach against this server on this machine.
 */
export async function rawApi(kubeconfigPath: string, concurrency: number, count: number) {
  const text = readFileSync(kubeconfigPath, 'utf8');
  const field = (name: string) => {
    const match = new RegExp(`${name}: (".*")`).exec(text);
    if (!match?.[1]) throw new Error(`no ${name} in the kubeconfig`);
    return JSON.parse(match[1]) as string;
  };
  const server = new URL(field('server'));
  const token = field('token');
  const agent = new HttpsAgent({
    keepAlive: true,
    maxSockets: concurrency,
    ca: Buffer.from(field('certificate-authority-data'), 'base64'),
  });
  const config = loadConfig({ CLIENT_NAMESPACE: NAMESPACE });
  const createPod = (i: number) => {
    const body = JSON.stringify(
      buildPod(config, {
        gatewayName: 'foo',
        message: undefined,
        eventId: `raw-${RUN_TAG}-${concurrency}-${i}`,
        eventSource: '/bench/raw',
        overrides: {},
      }),
    );
    return new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: server.hostname,
          port: server.port,
          method: 'POST',
          path: `/api/v1/namespaces/${NAMESPACE}/pods`,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 201 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  const latencies: number[] = [];
  let next = 0;
  let started = 0;
  const sender = async () => {
    while (next < count + 100) {
      const i = next++;
      if (i === 100) started = performance.now();
      const t0 = performance.now();
      await createPod(i);
      if (i >= 100) latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const elapsed = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 0.5), perSecond: (latencies.length / elapsed) * 1000 };
}

/**
 * WAIT_FOR=scheduled at concurrency 64: the provisioner against an API server with a scheduler
 * that binds each pod 5 ms after its creation, its open watches sampled every 50 ms.
 */
export async function scheduledRun(
  dir: string,
  { npmStart, provisionerEnv, durationMs }: BenchOptions,
): Promise<ScheduledResult> {
  const api = await startApiServer(join(dir, 'scheduled'), 5);
  const { child } = api;
  if (!child.stdin || !child.stdout) throw new Error('no stdio');
  const answers = createInterface({ input: child.stdout });
  const watches = async (): Promise<number> => {
    child.stdin?.write('stats\n');
    const [line] = (await once(answers, 'line')) as [string];
    return (JSON.parse(line) as { watches: number }).watches;
  };
  const running = await spawnSubject({
    key: 'provisioner',
    label: 'provisioner, WAIT_FOR=scheduled',
    settings: 'npm start; WAIT_FOR=scheduled',
    args: npmStart.args,
    env: {
      KUBECONFIG: api.kubeconfig,
      CLIENT_NAMESPACE: NAMESPACE,
      WAIT_FOR: 'scheduled',
      ...provisionerEnv,
    },
  });
  try {
    while (!(await sendEvent(running.port, false).catch(() => false))) {
      if (running.child.exitCode !== null) throw new Error(running.output());
      await sleep(20);
    }
    await load(running.port, 16, { count: WARMUP_EVENTS });
    let maxWatches = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxWatches = Math.max(maxWatches, await watches());
        await sleep(50);
      }
    })();
    const result = await load(running.port, 64, { durationMs });
    sampling = false;
    await sampler;
    return { load: result, maxWatches };
  } finally {
    await stop(running);
    answers.close();
    child.stdin.end();
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}
