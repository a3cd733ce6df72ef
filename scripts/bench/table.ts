// The result: one markdown table on stdout, and the lines under it.
import { cpus, loadavg } from 'node:os';
import type { LoadResult } from './load.ts';
import {
  type BenchOptions,
  CONCURRENCIES,
  KEYS,
  REFERENCE,
  SOAK_SAMPLES,
  type Subject,
  type SubjectKey,
  WARMUP_EVENTS,
} from './options.ts';
import type { Cold, RepeatResult, ScheduledResult } from './runs.ts';
import { type Stat, stat } from './stats.ts';

/** Column heads of the subjects, in the order of KEYS. */
const HEADS: Record<SubjectKey, string> = {
  provisioner: 'provisioner',
  floor: 'floor: empty faas-js-runtime fn + one HTTPS create + its Event',
  limit: 'limit: node:http + one HTTPS create + its Event',
  empty: 'empty faas-js-runtime fn',
  bare: 'bare node:http',
};
/** The ratios: the provisioner against the floor first, then against the others for information. */
const AGAINST: readonly SubjectKey[] = KEYS.filter((key) => key !== 'provisioner');

/** What one bench run measured, for the table. */
export interface BenchResult {
  readonly subjects: readonly Subject[];
  readonly cold: Record<SubjectKey, Cold>;
  readonly steady: Record<SubjectKey, RepeatResult[]>;
  readonly scheduled: readonly ScheduledResult[];
  /** The provisioner's mean Kubernetes API call, by its own metric (ms). */
  readonly apiMeanMs: number | undefined;
  /** One create straight to the API server, p50 (ms). */
  readonly rawApiMs: number;
  /** The API server alone, creates per second at concurrency 16. */
  readonly rawApiPerSecond: number;
  readonly elapsedMs: number;
  /** The machine's 1-minute load average when the bench began. */
  readonly loadBefore: number;
}

export function printTable(result: BenchResult, options: BenchOptions): void {
  const { subjects, cold, steady, scheduled, apiMeanMs, rawApiMs, rawApiPerSecond } = result;
  const { elapsedMs, loadBefore } = result;
  const { coldRuns, repeats, durationMs, soakEvents, soakConcurrency } = options;
  const { deployedEnv, provisionerEnv } = options;
  const rows: string[][] = [];
  const row = (name: string, pick: (key: SubjectKey) => Stat, decimals: number, ratios = true) => {
    const p = pick('provisioner');
    rows.push([
      name,
      ...KEYS.map((key) => show(pick(key), decimals)),
      ...AGAINST.map((key) => (ratios ? ratio(p, pick(key)) : '')),
    ]);
  };
  const settings = (key: SubjectKey) =>
    subjects.find((subject) => subject.key === key)?.settings ?? 'not run';
  rows.push([
    'started as (deploy/service.yaml NODE_OPTIONS and MALLOC_ARENA_MAX for all)',
    ...KEYS.map(settings),
    ...AGAINST.map(() => ''),
  ]);
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
    `RSS after ${soakEvents.toLocaleString('en')} events at concurrency ${soakConcurrency} (MB)`,
    (k) => stat(steady[k].map((r) => r.rss.at(-1) ?? Number.NaN)),
    0,
  );
  row('highest RSS during the soak (MB)', (k) => stat(steady[k].map((r) => Math.max(...r.rss))), 0);
  const growth = (samples: number) => (r: RepeatResult) =>
    (r.rss.at(-1) ?? Number.NaN) - (r.rss.at(-1 - samples) ?? Number.NaN);
  for (const samples of [SOAK_SAMPLES / 2, 2]) {
    row(
      `RSS change over the last ${((soakEvents / SOAK_SAMPLES) * samples).toLocaleString('en')} events (MB)`,
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
    ...KEYS.map((key) => HEADS[key]),
    ...AGAINST.map((key) => `provisioner / ${key}`),
  ];
  const lines = [header, header.map(() => '---'), ...rows].map(
    (cells) => `| ${cells.join(' | ')} |`,
  );
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  const p50 = (k: SubjectKey) => stat(steady[k].map((r) => r.load[1]?.p50 ?? Number.NaN)).median;
  const added = p50('provisioner') - p50('empty') - rawApiMs;
  const beyondFloor = p50('provisioner') - p50(REFERENCE);
  const scheduledLine =
    scheduled.length === 0
      ? 'WAIT_FOR=scheduled: not run.'
      : `WAIT_FOR=scheduled, concurrency 64, each pod bound 5 ms after its creation by testbed/kube-api-server/scheduler.ts: ${show(stat(scheduled.map((s) => s.load.eventsPerSecond)), 0)} events/s, p50 ${show(stat(scheduled.map((s) => s.load.p50)), 2)} ms; the API server's open watches, sampled every 50 ms: at most ${Math.max(...scheduled.map((s) => s.maxWatches))}; replies not \`done\`: ${scheduled.reduce((sum, s) => sum + s.load.failures, 0)}.`;
  process.stdout.write(
    [
      `Benchmark of ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpu}, Node ${process.version}, ` +
        `${coldRuns} cold starts and ${repeats} steady-state runs (${durationMs} ms per concurrency, after ${WARMUP_EVENTS} warm-up events) per subject; ${Math.round(elapsedMs / 1000)} s in all; ` +
        `load average ${digits(loadBefore, 2)} before and ${digits(loadavg()[0] ?? Number.NaN, 2)} after (other work on the machine shows there). ` +
        `Every subject with ${variables(deployedEnv)} (deploy/service.yaml); the provisioner's environment: ${
          variables(provisionerEnv) || '(none)'
        }; soak at concurrency ${soakConcurrency}. Ratios: the provisioner against each subject, the floor first (the reference).`,
      '',
      ...lines,
      '',
      `Kubernetes API call (pod create) at concurrency 1: p50 ${digits(rawApiMs, 2)} ms sent straight to the API server over keep-alive HTTPS; ` +
        `mean ${apiMeanMs === undefined ? 'n/a' : digits(apiMeanMs, 2)} ms as the function times it through @kubernetes/client-node (podgateway_kube_api_request_duration_seconds, warm).`,
      `The API test server alone, pod creates at concurrency 16 sent straight to it over keep-alive HTTPS (not through the function and its client): ${digits(rawApiPerSecond, 0)}/s.`,
      `Added latency per event beyond the API call, concurrency 1: p50 provisioner − p50 empty function − p50 API call = ${digits(added, 2)} ms; beyond the floor: p50 provisioner − p50 floor = ${digits(beyondFloor, 2)} ms.`,
      scheduledLine,
      `Replies that were not \`done\`: ${KEYS.map((k, i) => `${k} ${failures[i]}`).join(', ')}.`,
      `Provisioner RSS (MB) every ${(soakEvents / SOAK_SAMPLES).toLocaleString('en')} events of the soak, per run: ${steady.provisioner.map((r) => r.rss.map((v) => v.toFixed(0)).join(' ')).join('; ')}.`,
      '',
    ].join('\n'),
  );
}

function digits(value: number, decimals: number): string {
  return Number.isFinite(value) ? value.toFixed(decimals) : 'n/a';
}

function show(s: Stat, decimals: number): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  return `${digits(s.median, decimals)} (${digits(s.min, decimals)}–${digits(s.max, decimals)})`;
}

function ratio(a: Stat, b: Stat): string {
  const value = a.median / b.median;
  return Number.isFinite(value) ? `${digits(value, 2)}×` : 'n/a';
}

/** `NAME="value"` pairs, space-separated: how a subject's environment reads in the table. */
function variables(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(' ');
}
