// `npm run bench`: cold start, steady-state throughput and latency, and memory of the built
// function (build/index.js under faas-js-runtime, as `npm start` runs it) against the Kubernetes
// API test server, next to the floor of its design (the empty faas-js-runtime function plus one
// keep-alive HTTPS pod create and the pod's Kubernetes Event: the reference of every ratio), the
// node:http limit (a bare node:http server making the same create and Event) and two baselines:
// an empty faas-js-runtime CloudEvent function and a bare node:http server. Every subject runs
// with the NODE_OPTIONS and MALLOC_ARENA_MAX of deploy/service.yaml.
// Then WAIT_FOR=scheduled at concurrency 64 against an API server with a scheduler, counting its
// open watches. Prints one markdown table on stdout (progress on stderr). Every process is
// separate: the API server, each function, and this load generator.
//
// The parts are in scripts/bench/: options.ts the flags, processes.ts the processes, load.ts the
// load generator, runs.ts the measurements, stats.ts the statistics, table.ts the table,
// limit-check.ts the check that the limit creates the provisioner's pod.
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { exitOnSignals, makeTempDir } from '../testbed/temp-dir.ts';
import { clusterBench } from './bench/cluster.ts';
import { limitPodProblem } from './bench/limit-check.ts';
import { oidcBench } from './bench/oidc.ts';
import {
  type BenchOptions,
  CONCURRENCIES,
  KEYS,
  log,
  NAMESPACE,
  ROOT,
  RUNTIME_CLI,
  readOptions,
  type Subject,
  type SubjectKey,
  USAGE,
} from './bench/options.ts';
import { startApiServer } from './bench/processes.ts';
import {
  apiCallMeanMs,
  type Cold,
  coldStart,
  type RepeatResult,
  rawApi,
  type ScheduledResult,
  scheduledRun,
  steadyState,
} from './bench/runs.ts';
import { scaleBench, throttleBench } from './bench/scale.ts';
import { printTable } from './bench/table.ts';
import { buildFirst } from './build-first.ts';

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = readOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`npm run bench: ${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  // The limit is the provisioner's own create, less the provisioner: the same pod.
  const drift = limitPodProblem();
  if (drift) {
    process.stderr.write(`npm run bench: ${drift}\n`);
    process.exit(1);
  }
  exitOnSignals();
  buildFirst();
  const dir = makeTempDir('provisioner-bench-');
  if (options.cluster && options.scale) {
    await scaleBench(dir, options);
    return;
  }
  if (options.cluster && options.throttle) {
    await throttleBench(dir, options);
    return;
  }
  if (options.cluster) {
    await clusterBench(dir, options);
    return;
  }
  if (options.oidc) {
    await oidcBench(dir, options);
    return;
  }
  await localBench(dir, options);
}

/** The subjects against the in-memory API server: the table of BENCHMARKS.md. */
async function localBench(dir: string, options: BenchOptions): Promise<void> {
  const { coldRuns, repeats, provisionerEnv, npmStart, emptyFunction } = options;
  const api = await startApiServer(dir);
  const deployed = options.deployedEnv;
  const kube = { KUBECONFIG: api.kubeconfig, CLIENT_NAMESPACE: NAMESPACE };
  // The Kubernetes Event on each created pod is the design's (issue 22): the floor and the limit
  // write it too.
  const limitEvent = { LIMIT_EVENT: 'true' };
  const runtimeOf = (script: string) => `faas-js-runtime's CLI from node_modules, ${script}`;
  const allSubjects: Subject[] = [
    {
      key: 'provisioner',
      label: 'provisioner (build/index.js)',
      settings: settingsOf(
        'npm start (build/start.cjs: compile cache, bundled runtime)',
        provisionerEnv,
      ),
      args: npmStart.args,
      env: { ...kube, ...provisionerEnv },
    },
    {
      key: 'floor',
      label: 'floor (empty faas-js-runtime fn + one HTTPS create + its Event)',
      settings: settingsOf(runtimeOf('scripts/bench/runtime-https-event.js'), deployed),
      args: [RUNTIME_CLI, join(ROOT, 'scripts/bench/runtime-https-event.js')],
      env: { ...kube, ...deployed },
    },
    {
      key: 'limit',
      label: 'limit (node:http + one HTTPS create + its Event)',
      settings: settingsOf('node scripts/bench/limit.js', { ...limitEvent, ...deployed }),
      args: [join(ROOT, 'scripts/bench/limit.js')],
      env: { ...kube, ...limitEvent, ...deployed },
    },
    {
      key: 'empty',
      label: 'empty faas-js-runtime function',
      settings: settingsOf(runtimeOf(emptyFunction), deployed),
      args: [RUNTIME_CLI, join(ROOT, emptyFunction)],
      env: { ...kube, ...deployed },
    },
    {
      key: 'bare',
      label: 'bare node:http',
      settings: settingsOf('node scripts/bench/bare-http.js', deployed),
      args: [join(ROOT, 'scripts/bench/bare-http.js')],
      env: deployed,
    },
  ];
  const subjects = allSubjects.filter((subject) => options.subjects.has(subject.key));
  const began = Date.now();
  const loadBefore = loadavg()[0] ?? Number.NaN;
  log(
    `provisioner environment: ${JSON.stringify(provisionerEnv)}; soak at concurrency ${options.soakConcurrency}`,
  );
  try {
    const cold = Object.fromEntries(
      KEYS.map((key) => [key, { ms: [], rss: [], cpu: [] }]),
    ) as unknown as Record<SubjectKey, Cold>;
    // One unmeasured start each first, so every measured one finds the files in the page cache.
    for (const subject of subjects) await coldStart(subject);
    for (let run = 1; run <= coldRuns; run += 1) {
      for (const subject of subjects) {
        const { ms, rss, cpu } = await coldStart(subject);
        cold[subject.key].ms.push(ms);
        cold[subject.key].rss.push(rss);
        cold[subject.key].cpu.push(cpu);
        log(
          `cold start ${run}/${coldRuns} ${subject.label}: ${ms.toFixed(0)} ms, ${rss.toFixed(0)} MB`,
        );
      }
    }

    const steady = Object.fromEntries(KEYS.map((key) => [key, []])) as unknown as Record<
      SubjectKey,
      RepeatResult[]
    >;
    for (let repeat = 1; repeat <= repeats; repeat += 1) {
      for (const subject of subjects) {
        const result = await steadyState(subject, options);
        steady[subject.key].push(result);
        const summary = CONCURRENCIES.map(
          (c) =>
            `c${c} ${result.load[c]?.eventsPerSecond.toFixed(0)}/s p50 ${result.load[c]?.p50.toFixed(2)} ms`,
        ).join(', ');
        log(
          `steady ${repeat}/${repeats} ${subject.label}: ${summary}; RSS ${result.rss.map((r) => r.toFixed(0)).join(' ')} MB`,
        );
      }
    }
    const scheduled: ScheduledResult[] = [];
    if (options.scheduledRun && options.subjects.has('provisioner')) {
      for (let repeat = 1; repeat <= repeats; repeat += 1) {
        const result = await scheduledRun(dir, options);
        scheduled.push(result);
        log(
          `WAIT_FOR=scheduled ${repeat}/${repeats}: c64 ${result.load.eventsPerSecond.toFixed(0)}/s p50 ${result.load.p50.toFixed(2)} ms, at most ${result.maxWatches} open watches, ${result.load.failures} not done`,
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
      {
        subjects,
        cold,
        steady,
        scheduled,
        apiMeanMs: apiMean,
        rawApiMs: raw1.p50,
        rawApiPerSecond: raw16.perSecond,
        elapsedMs: Date.now() - began,
        loadBefore,
      },
      options,
    );
  } finally {
    api.child.kill('SIGTERM');
    await once(api.child, 'exit');
    // dir: removed at exit (makeTempDir).
  }
}

/** The command and the environment that matter, as the table states them. */
function settingsOf(command: string, env: Readonly<Record<string, string>>): string {
  const variables = Object.entries(env).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return [command, ...variables].join('; ');
}

await main();
