// `npm run bench`: cold start, steady-state throughput and latency, and memory of the built
// function (build/index.js under faas-js-runtime, as `npm start` runs it, with the NODE_OPTIONS of
// deploy/service.yaml) against the Kubernetes API test server, next to the limit of this design
// (a bare node:http server making one keep-alive HTTPS pod create per event) and two baselines
// started the same way: an empty faas-js-runtime CloudEvent function and a bare node:http server.
// Then WAIT_FOR=scheduled at concurrency 64 against an API server with a scheduler, counting its
// open watches. Prints one markdown table on stdout (progress on stderr). Every process is
// separate: the API server, each function, and this load generator.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../src/config.ts';
import { buildPod } from '../src/pod.ts';
import { freePort } from '../test/support/function-process.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNTIME_CLI = fileURLToPath(import.meta.resolve('faas-js-runtime/bin/cli.js'));
const BUILT_FUNCTION = join(ROOT, 'build', 'index.js');
const NAMESPACE = 'client-system';
const DONE_TYPE = 'io.podgateway.client.scheduling.done';
const CONCURRENCIES = [1, 16, 64] as const;

const { values: flags } = parseArgs({
  options: {
    'cold-runs': { type: 'string', default: '7' },
    repeats: { type: 'string', default: '3' },
    'duration-ms': { type: 'string', default: '2000' },
    soak: { type: 'string', default: '10000' },
    /** Concurrency of the soak; default: the containerConcurrency of deploy/service.yaml. */
    'soak-concurrency': { type: 'string' },
    /** KEY=VALUE set in the provisioner's environment (over deploy/service.yaml's NODE_OPTIONS). */
    env: { type: 'string', multiple: true, default: [] },
    /** Subjects to run (provisioner,limit,empty,bare); the table shows n/a for the others. */
    subjects: { type: 'string', default: 'provisioner,limit,empty,bare' },
    /** The script of the `empty` column: a layer between it and the provisioner, to measure. */
    'empty-function': { type: 'string', default: 'scripts/bench/empty-function.js' },
    /** Skip the WAIT_FOR=scheduled run. */
    'no-scheduled': { type: 'boolean', default: false },
  },
});
const COLD_RUNS = Number(flags['cold-runs']);
const REPEATS = Number(flags.repeats);
const DURATION_MS = Number(flags['duration-ms']);
const SOAK_EVENTS = Number(flags.soak);
const WARMUP_EVENTS = 1000;
const SOAK_SAMPLES = 10;
const SERVICE = parseYaml(
  readFileSync(join(ROOT, 'deploy/service.yaml'), 'utf8').split('\n---')[0] ?? '',
) as {
  spec: {
    template: {
      spec: {
        containerConcurrency?: number;
        containers: Array<{ env?: Array<{ name: string; value: string }> }>;
      };
    };
  };
};
/** What the deployed container gets: the same V8 flags here. */
const DEPLOYED_NODE_OPTIONS =
  SERVICE.spec.template.spec.containers[0]?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ??
  '';
const SOAK_CONCURRENCY = Number(
  flags['soak-concurrency'] ?? (SERVICE.spec.template.spec.containerConcurrency || 64),
);
const PROVISIONER_ENV: Record<string, string> = {
  ...(DEPLOYED_NODE_OPTIONS ? { NODE_OPTIONS: DEPLOYED_NODE_OPTIONS } : {}),
  ...Object.fromEntries(
    (flags.env ?? []).map((pair) => {
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  ),
};
const SELECTED = new Set(flags.subjects.split(','));

type SubjectKey = 'provisioner' | 'limit' | 'empty' | 'bare';
const KEYS: readonly SubjectKey[] = ['provisioner', 'limit', 'empty', 'bare'];

interface Subject {
  readonly key: SubjectKey;
  readonly label: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
}

interface LoadResult {
  readonly eventsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly failures: number;
  readonly events: number;
  /** CPU time of the subject's process per event, in ms (set by the caller that knows it). */
  cpuPerEvent?: number;
}

interface Cold {
  readonly ms: number[];
  readonly rss: number[];
  readonly cpu: number[];
}

interface RepeatResult {
  readonly load: Record<number, LoadResult>;
  /** RSS in MB after each tenth of the soak, [0] before it. */
  readonly rss: number[];
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

// --- processes ----------------------------------------------------------------------------

async function startApiServer(
  dir: string,
  script = 'test/support/kube-api-server.ts',
): Promise<{ child: ChildProcess; kubeconfig: string }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, script),
      '--namespace',
      'default',
      '--namespace',
      NAMESPACE,
      '--kubeconfig-dir',
      dir,
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  if (!child.stdout) throw new Error('no stdout');
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  const { kubeconfig } = JSON.parse(line) as { kubeconfig: string };
  return { child, kubeconfig };
}

async function spawnSubject(subject: Subject): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, subject.args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      FUNC_PORT: String(port),
      ...subject.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, port, output: () => output };
}

async function stop(running: Running): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  const exited = once(running.child, 'exit');
  running.child.kill('SIGKILL');
  await exited;
}

/** Resident set size of a process, in MB. */
function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

// --- events -------------------------------------------------------------------------------

let sequence = 0;
const RUN_TAG = `${process.pid}-${Date.now()}`;
const BODY = JSON.stringify({ gateway_name: 'foo' });

function eventHeaders(): Record<string, string | number> {
  sequence += 1;
  return {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(BODY),
    'ce-specversion': '1.0',
    'ce-id': `bench-${RUN_TAG}-${sequence}`,
    'ce-source': '/bench',
    'ce-type': 'io.podgateway.client.pending',
  };
}

/** Sends one pending event; resolves whether the reply was a `done` event. */
function sendEvent(port: number, agent: Agent | false): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/', agent, headers: eventHeaders() },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(res.statusCode === 200 && res.headers['ce-type'] === DONE_TYPE),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

/** CPU time (user + system, all threads) a process has used, in ms (10 ms ticks). */
function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Spawn to first `done` reply: polls with an event every 2 ms until one is answered. */
async function coldStart(subject: Subject): Promise<{ ms: number; rss: number; cpu: number }> {
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

/** `concurrency` senders over keep-alive connections, until `count` events or `durationMs`. */
async function load(
  port: number,
  concurrency: number,
  limit: { count?: number; durationMs?: number },
  onEvent?: (sent: number) => void,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let sent = 0;
  let failures = 0;
  const started = performance.now();
  const deadline = limit.durationMs === undefined ? Infinity : started + limit.durationMs;
  const count = limit.count ?? Infinity;
  const sender = async () => {
    while (sent < count && performance.now() < deadline) {
      sent += 1;
      const t0 = performance.now();
      const done = await sendEvent(port, agent);
      latencies.push(performance.now() - t0);
      if (!done) failures += 1;
      onEvent?.(latencies.length);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, sender));
  const elapsed = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    eventsPerSecond: (latencies.length / elapsed) * 1000,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    failures,
    events: latencies.length,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

async function steadyState(subject: Subject): Promise<RepeatResult> {
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
      const result = await load(running.port, concurrency, { durationMs: DURATION_MS });
      result.cpuPerEvent = (cpuMs(running.child.pid) - cpuBefore) / result.events;
      results[concurrency] = result;
    }
    const rss = [rssMb(running.child.pid)];
    const every = SOAK_EVENTS / SOAK_SAMPLES;
    await load(running.port, SOAK_CONCURRENCY, { count: SOAK_EVENTS }, (done) => {
      if (done % every === 0) rss.push(rssMb(running.child.pid));
    });
    return { load: results, rss };
  } finally {
    await stop(running);
  }
}

/** The function's own account of its Kubernetes API calls, warm: mean ms, from /metrics. */
async function apiCallMeanMs(subject: Subject): Promise<number | undefined> {
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
async function rawApi(kubeconfigPath: string, concurrency: number, count: number) {
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

// --- the table ----------------------------------------------------------------------------

interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function stat(values: readonly number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median =
    sorted.length % 2 === 1
      ? (sorted[Math.floor(middle)] ?? Number.NaN)
      : ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
  return { median, min: sorted[0] ?? Number.NaN, max: sorted.at(-1) ?? Number.NaN };
}

function digits(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : 'n/a';
}

function show(s: Stat, decimals: number): string {
  return `${digits(s.median, decimals)} (${digits(s.min, decimals)}–${digits(s.max, decimals)})`;
}

function ratio(a: Stat, b: Stat): string {
  return `${digits(a.median / b.median, 2)}×`;
}

interface ScheduledResult {
  readonly load: LoadResult;
  /** Most watches the API server had open at once during the run. */
  readonly maxWatches: number;
}

/**
 * WAIT_FOR=scheduled at concurrency 64: the provisioner against an API server with a scheduler
 * that binds each pod 5 ms after its creation, its open watches sampled every 50 ms.
 */
async function scheduledRun(dir: string): Promise<ScheduledResult> {
  const api = await startApiServer(join(dir, 'scheduled'), 'test/support/kube-scheduler.ts');
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
    args: [RUNTIME_CLI, BUILT_FUNCTION],
    env: {
      KUBECONFIG: api.kubeconfig,
      CLIENT_NAMESPACE: NAMESPACE,
      WAIT_FOR: 'scheduled',
      ...PROVISIONER_ENV,
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
    const result = await load(running.port, 64, { durationMs: DURATION_MS });
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

async function main(): Promise<void> {
  if (!existsSync(BUILT_FUNCTION)) {
    throw new Error(
      `${BUILT_FUNCTION} is missing: run \`npm run build\` first (npm run bench does)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'provisioner-bench-'));
  const api = await startApiServer(dir);
  const allSubjects: Subject[] = [
    {
      key: 'provisioner',
      label: 'provisioner (build/index.js)',
      args: [RUNTIME_CLI, BUILT_FUNCTION],
      env: { KUBECONFIG: api.kubeconfig, CLIENT_NAMESPACE: NAMESPACE, ...PROVISIONER_ENV },
    },
    {
      key: 'limit',
      label: 'limit (node:http + one HTTPS create)',
      args: [join(ROOT, 'scripts/bench/limit.js')],
      env: { KUBECONFIG: api.kubeconfig, CLIENT_NAMESPACE: NAMESPACE },
    },
    {
      key: 'empty',
      label: 'empty faas-js-runtime function',
      args: [RUNTIME_CLI, join(ROOT, flags['empty-function'])],
      env: { KUBECONFIG: api.kubeconfig, CLIENT_NAMESPACE: NAMESPACE },
    },
    {
      key: 'bare',
      label: 'bare node:http',
      args: [join(ROOT, 'scripts/bench/bare-http.js')],
      env: {},
    },
  ];
  const subjects = allSubjects.filter((subject) => SELECTED.has(subject.key));
  const began = Date.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  log(
    `provisioner environment: ${JSON.stringify(PROVISIONER_ENV)}; soak at concurrency ${SOAK_CONCURRENCY}`,
  );
  try {
    const cold = Object.fromEntries(
      KEYS.map((key) => [key, { ms: [], rss: [], cpu: [] }]),
    ) as unknown as Record<SubjectKey, Cold>;
    // One unmeasured start each first, so every measured one finds the files in the page cache.
    for (const subject of subjects) await coldStart(subject);
    for (let run = 1; run <= COLD_RUNS; run += 1) {
      for (const subject of subjects) {
        const { ms, rss, cpu } = await coldStart(subject);
        cold[subject.key].ms.push(ms);
        cold[subject.key].rss.push(rss);
        cold[subject.key].cpu.push(cpu);
        log(
          `cold start ${run}/${COLD_RUNS} ${subject.label}: ${ms.toFixed(0)} ms, ${rss.toFixed(0)} MB`,
        );
      }
    }

    const steady = Object.fromEntries(KEYS.map((key) => [key, []])) as unknown as Record<
      SubjectKey,
      RepeatResult[]
    >;
    for (let repeat = 1; repeat <= REPEATS; repeat += 1) {
      for (const subject of subjects) {
        const result = await steadyState(subject);
        steady[subject.key].push(result);
        const summary = CONCURRENCIES.map(
          (c) =>
            `c${c} ${result.load[c]?.eventsPerSecond.toFixed(0)}/s p50 ${result.load[c]?.p50.toFixed(2)} ms`,
        ).join(', ');
        log(
          `steady ${repeat}/${REPEATS} ${subject.label}: ${summary}; RSS ${result.rss.map((r) => r.toFixed(0)).join(' ')} MB`,
        );
      }
    }
    const scheduled: ScheduledResult[] = [];
    if (!flags['no-scheduled'] && SELECTED.has('provisioner')) {
      for (let repeat = 1; repeat <= REPEATS; repeat += 1) {
        const result = await scheduledRun(dir);
        scheduled.push(result);
        log(
          `WAIT_FOR=scheduled ${repeat}/${REPEATS}: c64 ${result.load.eventsPerSecond.toFixed(0)}/s p50 ${result.load.p50.toFixed(2)} ms, at most ${result.maxWatches} open watches, ${result.load.failures} not done`,
        );
      }
    }
    const provisioner = subjects.find((subject) => subject.key === 'provisioner');
    const apiMean = provisioner ? await apiCallMeanMs(provisioner) : undefined;
    const raw1 = await rawApi(api.kubeconfig, 1, 500);
    const raw16 = await rawApi(api.kubeconfig, 16, 2000);
    log(
      `API call: ${apiMean?.toFixed(2)} ms in the function, ${raw1.p50.toFixed(2)} ms raw; API server alone at concurrency 16: ${raw16.perSecond.toFixed(0)}/s`,
    );

    printTable(
      cold,
      steady,
      scheduled,
      apiMean,
      raw1.p50,
      raw16.perSecond,
      Date.now() - began,
      loadBefore,
    );
  } finally {
    api.child.kill('SIGTERM');
    await once(api.child, 'exit');
    await rm(dir, { recursive: true, force: true });
  }
}

function printTable(
  cold: Record<SubjectKey, Cold>,
  steady: Record<SubjectKey, RepeatResult[]>,
  scheduled: readonly ScheduledResult[],
  apiMeanMs: number | undefined,
  rawApiMs: number,
  rawApiPerSecond: number,
  elapsedMs: number,
  loadBefore: number,
): void {
  const rows: string[][] = [];
  const row = (name: string, pick: (key: SubjectKey) => Stat, decimals: number, ratios = true) => {
    const [p, l, e, b] = KEYS.map(pick) as [Stat, Stat, Stat, Stat];
    rows.push([
      name,
      show(p, decimals),
      show(l, decimals),
      show(e, decimals),
      show(b, decimals),
      ratios ? ratio(p, l) : '',
      ratios ? ratio(p, e) : '',
      ratios ? ratio(p, b) : '',
    ]);
  };
  row('cold start: spawn to first `done` (ms)', (k) => stat(cold[k].ms), 0);
  row('CPU time to first `done`, all threads (ms)', (k) => stat(cold[k].cpu), 0);
  row('RSS at first reply (MB)', (k) => stat(cold[k].rss), 0);
  for (const c of CONCURRENCIES) {
    const loadStat = (k: SubjectKey, f: (r: LoadResult) => number) =>
      stat(steady[k].map((r) => (r.load[c] ? f(r.load[c]) : Number.NaN)));
    row(`events/s, concurrency ${c}`, (k) => loadStat(k, (r) => r.eventsPerSecond), 0);
    row(`p50 latency, concurrency ${c} (ms)`, (k) => loadStat(k, (r) => r.p50), 2);
    row(`p99 latency, concurrency ${c} (ms)`, (k) => loadStat(k, (r) => r.p99), 2);
    row(
      `CPU time per event, concurrency ${c} (ms)`,
      (k) => loadStat(k, (r) => r.cpuPerEvent ?? Number.NaN),
      3,
    );
  }
  row('RSS before the soak (MB)', (k) => stat(steady[k].map((r) => r.rss[0] ?? Number.NaN)), 0);
  row(
    `RSS after ${SOAK_EVENTS.toLocaleString('en')} events at concurrency ${SOAK_CONCURRENCY} (MB)`,
    (k) => stat(steady[k].map((r) => r.rss.at(-1) ?? Number.NaN)),
    0,
  );
  row('highest RSS during the soak (MB)', (k) => stat(steady[k].map((r) => Math.max(...r.rss))), 0);
  const growth = (samples: number) => (r: RepeatResult) =>
    (r.rss.at(-1) ?? Number.NaN) - (r.rss.at(-1 - samples) ?? Number.NaN);
  for (const samples of [SOAK_SAMPLES / 2, 2]) {
    row(
      `RSS change over the last ${((SOAK_EVENTS / SOAK_SAMPLES) * samples).toLocaleString('en')} events (MB)`,
      (k) => stat(steady[k].map(growth(samples))),
      1,
      false,
    );
  }
  const failures = KEYS.map((k) =>
    steady[k].reduce(
      (sum, r) => sum + CONCURRENCIES.reduce((s, c) => s + (r.load[c]?.failures ?? 0), 0),
      0,
    ),
  );

  const header = [
    'metric (median of runs, min–max)',
    'provisioner',
    'limit: node:http + one HTTPS create',
    'empty faas-js-runtime fn',
    'bare node:http',
    'provisioner / limit',
    'provisioner / empty',
    'provisioner / bare',
  ];
  const lines = [header, header.map(() => '---'), ...rows].map(
    (cells) => `| ${cells.join(' | ')} |`,
  );
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const p50 = (k: SubjectKey) => stat(steady[k].map((r) => r.load[1]?.p50 ?? Number.NaN)).median;
  const added = p50('provisioner') - p50('empty') - rawApiMs;
  const scheduledLine =
    scheduled.length === 0
      ? 'WAIT_FOR=scheduled: not run.'
      : `WAIT_FOR=scheduled, concurrency 64, each pod bound 5 ms after its creation by test/support/kube-scheduler.ts: ${show(stat(scheduled.map((s) => s.load.eventsPerSecond)), 0)} events/s, p50 ${show(stat(scheduled.map((s) => s.load.p50)), 2)} ms; the API server's open watches, sampled every 50 ms: at most ${Math.max(...scheduled.map((s) => s.maxWatches))}; replies not \`done\`: ${scheduled.reduce((sum, s) => sum + s.load.failures, 0)}.`;
  process.stdout.write(
    [
      `Benchmark of ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpu}, Node ${process.version}, ` +
        `${COLD_RUNS} cold starts and ${REPEATS} steady-state runs (${DURATION_MS} ms per concurrency, after ${WARMUP_EVENTS} warm-up events) per subject; ${Math.round(elapsedMs / 1000)} s in all; ` +
        `load average ${digits(loadBefore, 2)} before and ${digits(loadavg()[0] ?? Number.NaN, 2)} after (other work on the machine shows there). ` +
        `Provisioner environment: ${
          Object.entries(PROVISIONER_ENV)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(' ') || '(none)'
        }.`,
      '',
      ...lines,
      '',
      `Kubernetes API call (pod create) at concurrency 1: p50 ${digits(rawApiMs, 2)} ms sent straight to the API server over keep-alive HTTPS; ` +
        `mean ${apiMeanMs === undefined ? 'n/a' : digits(apiMeanMs, 2)} ms as the function times it through @kubernetes/client-node (podgateway_kube_api_request_duration_seconds, warm).`,
      `The API test server alone, pod creates at concurrency 16 sent straight to it over keep-alive HTTPS (not through the function and its client): ${digits(rawApiPerSecond, 0)}/s.`,
      `Added latency per event beyond the API call, concurrency 1: p50 provisioner − p50 empty function − p50 API call = ${digits(added, 2)} ms.`,
      scheduledLine,
      `Replies that were not \`done\`: ${KEYS.map((k, i) => `${k} ${failures[i]}`).join(', ')}.`,
      `Provisioner RSS (MB) every ${(SOAK_EVENTS / SOAK_SAMPLES).toLocaleString('en')} events of the soak, per run: ${steady.provisioner.map((r) => r.rss.map((v) => v.toFixed(0)).join(' ')).join('; ')}.`,
      '',
    ].join('\n'),
  );
}

await main();
