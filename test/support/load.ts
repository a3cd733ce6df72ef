// Load with redelivery, shared by test/load.test.ts and scripts/soak.ts: a client that redelivers
// as Knative does, a mixer that makes a share of the Kubernetes API calls fail, and the run that
// sends many events (some twice) and counts what came of each: pods, replies, duplicates, losses.
import { podNameFor } from '../../src/pod.ts';
import { DONE_TYPE, FAILED_TYPE } from '../../src/reply.ts';
import { PENDING_TYPE } from '../../src/request.ts';
import type { Fault, KubeApiServer } from './kube-api-server.ts';

// ---------------------------------------------------------------------------------------------
// Randomness that a seed repeats

export type Random = () => number;

/** A small seeded generator (xorshift32 scaled to [0, 1)): the same seed, the same run. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

// ---------------------------------------------------------------------------------------------
// The fault mixer

export type FaultKind = 'http500' | 'http503' | 'http429' | 'drop' | 'delay' | 'race';

/** Relative weights of the kinds of fault; a kind left out is never injected. */
export type FaultMix = Partial<Record<FaultKind, number>>;

/** Every kind: server errors, throttling, dropped connections, slow answers, lost races. */
export const ALL_FAULTS: FaultMix = {
  http500: 2,
  http503: 2,
  http429: 2,
  drop: 2,
  delay: 2,
  race: 1,
};

/** Faults the function survives without retrying the API: slow answers and lost create races. */
export const BENIGN_FAULTS: FaultMix = { delay: 3, race: 1 };

const POD_PATH = /^\/api\/v1\/namespaces\/[^/]+\/pods(\/[^/]+)?$/;

export interface FaultMixer {
  /** Called before each delivery attempt: injects one fault with the mixer's probability. */
  maybeInject(): void;
  /** Faults injected so far, by kind. */
  readonly injected: Readonly<Record<string, number>>;
  /** Injected faults not yet met by an API call. */
  pending(): number;
}

export function faultMixer(
  server: KubeApiServer,
  rate: number,
  mix: FaultMix,
  random: Random,
): FaultMixer {
  const kinds = Object.entries(mix).filter(([, weight]) => (weight ?? 0) > 0) as Array<
    [FaultKind, number]
  >;
  const total = kinds.reduce((sum, [, weight]) => sum + weight, 0);
  const injected: Record<string, number> = {};
  const choose = (): FaultKind => {
    let at = random() * total;
    for (const [kind, weight] of kinds) {
      at -= weight;
      if (at < 0) return kind;
    }
    return kinds[kinds.length - 1]?.[0] ?? 'delay';
  };
  const faultOf = (kind: FaultKind): Fault => {
    // Most faults meet the create; a few the read that follows a 409.
    const method = kind === 'race' || random() < 0.85 ? 'POST' : 'GET';
    const common: Fault = { method, path: POD_PATH };
    switch (kind) {
      case 'http500':
        return { ...common, status: 500 };
      case 'http503':
        return { ...common, status: 503 };
      case 'http429':
        return { ...common, status: 429, retryAfterSeconds: 0 };
      case 'drop':
        return { ...common, drop: true };
      case 'delay':
        return { ...common, delayMs: 20 + Math.floor(random() * 180) };
      case 'race':
        return { ...common, race: true };
    }
  };
  return {
    maybeInject() {
      if (total === 0 || random() >= rate) return;
      const kind = choose();
      server.injectFault(faultOf(kind));
      injected[kind] = (injected[kind] ?? 0) + 1;
    },
    injected,
    pending: () => server.faults.length,
  };
}

// ---------------------------------------------------------------------------------------------
// The redelivering client

export interface PendingEvent {
  readonly id: string;
  readonly source: string;
  readonly gatewayName: string;
  readonly mode: 'binary' | 'structured';
}

/** How one HTTP attempt ended. */
export type Answer =
  | { readonly kind: 'done'; readonly podName: string }
  | { readonly kind: 'failed'; readonly reason: string; readonly message: string }
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterSeconds?: number }
  | { readonly kind: 'connection'; readonly message: string };

export interface Attempt {
  readonly answer: Answer;
  readonly ms: number;
}

export interface Delivery {
  readonly event: PendingEvent;
  readonly attempts: readonly Attempt[];
  /** The last answer: what the producer is left with. */
  readonly final: Answer;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface RedeliveryPolicy {
  /** Attempts per delivery, the first included. */
  readonly maxAttempts: number;
  /** Exponential backoff: base × 2^(attempt−1), capped, with jitter; Retry-After wins, capped. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly requestTimeoutMs: number;
}

/** Knative redelivers on 5xx, 429 and when no answer came; 2xx and other 4xx are final. */
export function isRetriable(answer: Answer): boolean {
  if (answer.kind === 'connection') return true;
  return answer.kind === 'status' && (answer.status >= 500 || answer.status === 429);
}

function requestOf(event: PendingEvent): { headers: Record<string, string>; body: string } {
  const data = JSON.stringify({ gateway_name: event.gatewayName });
  if (event.mode === 'binary') {
    return {
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': event.id,
        'ce-source': event.source,
        'ce-type': PENDING_TYPE,
      },
      body: data,
    };
  }
  const envelope = `{"specversion":"1.0","id":${JSON.stringify(event.id)},"source":${JSON.stringify(event.source)},"type":"${PENDING_TYPE}","datacontenttype":"application/json","data":${data}}`;
  return { headers: { 'content-type': 'application/cloudevents+json' }, body: envelope };
}

/** One HTTP attempt: the answer, read as a reply event where there is one. */
export async function sendOnce(
  url: string,
  event: PendingEvent,
  timeoutMs: number,
): Promise<Answer> {
  const { headers, body } = requestOf(event);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return { kind: 'connection', message: `${String(error)}${cause}` };
  }
  const type = response.headers.get('ce-type');
  if (response.status === 200 && (type === DONE_TYPE || type === FAILED_TYPE)) {
    const data = parseObject(text);
    if (type === DONE_TYPE) return { kind: 'done', podName: String(data.pod_name) };
    return { kind: 'failed', reason: String(data.reason), message: String(data.message) };
  }
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  return Number.isFinite(retryAfter)
    ? { kind: 'status', status: response.status, retryAfterSeconds: retryAfter }
    : { kind: 'status', status: response.status };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Delivers one event as Knative would: again after a 5xx, a 429 or no answer, up to a bound. */
export async function deliver(
  url: string,
  event: PendingEvent,
  policy: RedeliveryPolicy,
  random: Random,
  beforeAttempt: () => void = () => {},
): Promise<Delivery> {
  const attempts: Attempt[] = [];
  const startedAt = performance.now();
  for (let attempt = 1; ; attempt++) {
    beforeAttempt();
    const start = performance.now();
    const answer = await sendOnce(url, event, policy.requestTimeoutMs);
    attempts.push({ answer, ms: performance.now() - start });
    if (!isRetriable(answer) || attempt >= policy.maxAttempts) {
      return { event, attempts, final: answer, startedAt, endedAt: performance.now() };
    }
    await sleep(backoffMs(policy, attempt, answer, random));
  }
}

function backoffMs(policy: RedeliveryPolicy, attempt: number, answer: Answer, random: Random) {
  if (answer.kind === 'status' && answer.retryAfterSeconds !== undefined) {
    return Math.min(answer.retryAfterSeconds * 1000, policy.backoffMaxMs);
  }
  const exponential = Math.min(policy.backoffBaseMs * 2 ** (attempt - 1), policy.backoffMaxMs);
  return exponential * (0.5 + random() / 2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// The run

export interface LoadOptions {
  /** The function's URL. */
  readonly url: string;
  readonly server: KubeApiServer;
  /** Where the function creates pods (CLIENT_NAMESPACE). */
  readonly namespace: string;
  /** Distinct events. */
  readonly events: number;
  readonly concurrency: number;
  /** Share of the events delivered a second time (same id and source), later or at once. */
  readonly dupRate: number;
  /** Probability that a delivery attempt comes with one injected API fault. */
  readonly faultRate: number;
  readonly faultMix: FaultMix;
  readonly policy: RedeliveryPolicy;
  readonly seed: number;
  /** Ids are `${idPrefix}-${n}`: distinct across runs against one server. */
  readonly idPrefix: string;
  /** No delivery starts after this (performance.now() time); those left are counted unsent. */
  readonly deadline?: number;
  readonly onProgress?: (finished: number, total: number) => void;
}

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface LoadReport {
  readonly distinct: number;
  /** Deliveries planned: the distinct events and their second deliveries. */
  readonly deliveries: number;
  readonly unsent: number;
  /** HTTP requests made, redeliveries included. */
  readonly httpRequests: number;
  readonly redeliveries: number;
  /** Every HTTP answer, by what it was. */
  readonly answers: {
    readonly done: number;
    readonly failed: Readonly<Record<string, number>>;
    readonly status4xx: Readonly<Record<string, number>>;
    readonly status5xx: Readonly<Record<string, number>>;
    readonly connectionErrors: number;
  };
  /** How the deliveries ended, by their last answer. */
  readonly finals: Readonly<Record<string, number>>;
  readonly podsCreated: number;
  /** Pods beyond one per distinct event, and pods no event asked for. */
  readonly duplicates: number;
  /** Distinct events without their pod, or with a delivery that did not end in `done` naming it. */
  readonly lost: number;
  readonly examples: { readonly lost: readonly string[]; readonly duplicates: readonly string[] };
  readonly apiCalls: number;
  readonly faults: { readonly injected: Readonly<Record<string, number>>; readonly unused: number };
  readonly latencyMs: { readonly perRequest: Percentiles; readonly perDistinct: Percentiles };
  readonly elapsedMs: number;
}

const GATEWAYS = ['alpha', 'beta', 'gamma-1', 'delta.2', 'eps_3', 'Zeta'];

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const random = seededRandom(options.seed);
  const mixer = faultMixer(options.server, options.faultRate, options.faultMix, random);
  const events: PendingEvent[] = Array.from({ length: options.events }, (_, n) => ({
    id: `${options.idPrefix}-${n}`,
    source: `/load/producer-${n % 7}`,
    gatewayName: pick(random, GATEWAYS),
    mode: random() < 0.5 ? 'binary' : 'structured',
  }));
  // Deliveries in a shuffled order; a second delivery lands anywhere, at times right beside
  // the first, so that both are in flight together.
  const jobs: PendingEvent[] = [...events];
  for (const event of events) if (random() < options.dupRate) jobs.push(event);
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j] as PendingEvent, jobs[i] as PendingEvent];
  }

  const apiCallsBefore = options.server.requests.filter((r) => r.path.startsWith('/api/')).length;
  const started = performance.now();
  const deliveries: Delivery[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      if (options.deadline !== undefined && performance.now() > options.deadline) return;
      const event = jobs[next++] as PendingEvent;
      deliveries.push(
        await deliver(options.url, event, options.policy, random, () => mixer.maybeInject()),
      );
      options.onProgress?.(deliveries.length, jobs.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const elapsedMs = performance.now() - started;

  return tally(options, events, jobs.length, deliveries, mixer, apiCallsBefore, elapsedMs);
}

function tally(
  options: LoadOptions,
  events: readonly PendingEvent[],
  planned: number,
  deliveries: readonly Delivery[],
  mixer: FaultMixer,
  apiCallsBefore: number,
  elapsedMs: number,
): LoadReport {
  const count = (record: Record<string, number>, key: string) => {
    record[key] = (record[key] ?? 0) + 1;
  };
  const failed: Record<string, number> = {};
  const status4xx: Record<string, number> = {};
  const status5xx: Record<string, number> = {};
  const finals: Record<string, number> = {};
  let done = 0;
  let connectionErrors = 0;
  const requestTimes: number[] = [];
  for (const delivery of deliveries) {
    for (const { answer, ms } of delivery.attempts) {
      requestTimes.push(ms);
      if (answer.kind === 'done') done++;
      else if (answer.kind === 'failed') count(failed, answer.reason);
      else if (answer.kind === 'connection') connectionErrors++;
      else count(answer.status >= 500 ? status5xx : status4xx, String(answer.status));
    }
    count(finals, describeFinal(delivery.final, delivery.attempts.length));
  }

  // Pods, matched to the events by the name each event must get.
  const expected = new Map<string, PendingEvent>();
  for (const event of events) {
    expected.set(
      podNameFor({
        eventId: event.id,
        eventSource: event.source,
      }),
      event,
    );
  }
  const prefix = `${options.idPrefix}-`;
  const pods = options.server
    .pods(options.namespace)
    .filter((pod) =>
      (pod.metadata?.annotations?.['podgateway.io/event-id'] ?? '').startsWith(prefix),
    );
  const podsById = new Map<string, string[]>();
  const duplicateExamples: string[] = [];
  let duplicates = 0;
  for (const pod of pods) {
    const name = pod.metadata?.name ?? '';
    const event = expected.get(name);
    if (event === undefined) {
      duplicates++;
      duplicateExamples.push(`${name}: no event asked for this name`);
      continue;
    }
    podsById.set(event.id, [...(podsById.get(event.id) ?? []), name]);
  }
  for (const [id, names] of podsById) {
    if (names.length > 1) {
      duplicates += names.length - 1;
      duplicateExamples.push(`${id}: ${names.join(', ')}`);
    }
  }

  const byId = new Map<string, Delivery[]>();
  for (const delivery of deliveries) {
    byId.set(delivery.event.id, [...(byId.get(delivery.event.id) ?? []), delivery]);
  }
  const lostExamples: string[] = [];
  const distinctTimes: number[] = [];
  let lost = 0;
  for (const [name, event] of expected) {
    const own = byId.get(event.id) ?? [];
    if (own.length === 0) continue; // never sent: counted as unsent
    const problems: string[] = [];
    if (!podsById.has(event.id)) problems.push('no pod');
    for (const delivery of own) {
      const final = delivery.final;
      if (final.kind !== 'done') problems.push(describeFinal(final, delivery.attempts.length));
      else if (final.podName !== name) problems.push(`done naming ${final.podName}, not ${name}`);
    }
    if (problems.length > 0) {
      lost++;
      if (lostExamples.length < 10) lostExamples.push(`${event.id}: ${problems.join('; ')}`);
    }
    const first = Math.min(...own.map((d) => d.startedAt));
    const firstDone = Math.min(...own.filter((d) => d.final.kind === 'done').map((d) => d.endedAt));
    if (Number.isFinite(firstDone)) distinctTimes.push(firstDone - first);
  }

  const sentIds = new Set(deliveries.map((d) => d.event.id));
  const apiCalls =
    options.server.requests.filter((r) => r.path.startsWith('/api/')).length - apiCallsBefore;
  return {
    distinct: sentIds.size,
    deliveries: planned,
    unsent: planned - deliveries.length,
    httpRequests: requestTimes.length,
    redeliveries: requestTimes.length - deliveries.length,
    answers: { done, failed, status4xx, status5xx, connectionErrors },
    finals,
    podsCreated: pods.length,
    duplicates,
    lost,
    examples: { lost: lostExamples, duplicates: duplicateExamples.slice(0, 10) },
    apiCalls,
    faults: { injected: { ...mixer.injected }, unused: mixer.pending() },
    latencyMs: { perRequest: percentiles(requestTimes), perDistinct: percentiles(distinctTimes) },
    elapsedMs,
  };
}

function describeFinal(answer: Answer, attempts: number): string {
  switch (answer.kind) {
    case 'done':
      return 'done';
    case 'failed':
      return `failed ${answer.reason}`;
    case 'status':
      return answer.status >= 500 || answer.status === 429
        ? `HTTP ${answer.status} after ${attempts} attempts`
        : `HTTP ${answer.status}`;
    case 'connection':
      return `no answer after ${attempts} attempts`;
  }
}

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

// ---------------------------------------------------------------------------------------------
// The report as a table

export function formatReport(report: LoadReport): string {
  const rows: Array<[string, string]> = [];
  const add = (label: string, value: string | number) => rows.push([label, String(value)]);
  const entries = (record: Readonly<Record<string, number>>) =>
    Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));
  const ms = (p: Percentiles) =>
    p.count === 0
      ? 'n/a'
      : `p50 ${p.p50.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms, max ${p.max.toFixed(1)} ms (n=${p.count})`;

  add('events sent (HTTP requests, redeliveries included)', report.httpRequests);
  add('  of which redeliveries', report.redeliveries);
  add('deliveries (distinct events and their second deliveries)', report.deliveries);
  if (report.unsent > 0) add('  not sent (time limit)', report.unsent);
  add('distinct requests', report.distinct);
  add('pods created', report.podsCreated);
  add('replies: done', report.answers.done);
  for (const [reason, n] of entries(report.answers.failed)) add(`replies: failed ${reason}`, n);
  for (const [status, n] of entries(report.answers.status4xx)) add(`replies: HTTP ${status}`, n);
  for (const [status, n] of entries(report.answers.status5xx)) add(`replies: HTTP ${status}`, n);
  add('replies: none (connection error, timeout)', report.answers.connectionErrors);
  for (const [final, n] of entries(report.finals)) add(`deliveries ending ${final}`, n);
  add('Kubernetes API calls', report.apiCalls);
  const injected = entries(report.faults.injected);
  const total = injected.reduce((sum, [, n]) => sum + n, 0);
  add(
    'API faults injected',
    `${total}${total > 0 ? ` (${injected.map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}, ${report.faults.unused} unused`,
  );
  add('latency per HTTP request', ms(report.latencyMs.perRequest));
  add('latency per distinct request (to its first done)', ms(report.latencyMs.perDistinct));
  add('elapsed', `${(report.elapsedMs / 1000).toFixed(1)} s`);
  add('DUPLICATES (pods beyond one per request)', report.duplicates);
  add('LOST (requests without their pod and a done)', report.lost);

  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`);
  if (report.examples.duplicates.length > 0) {
    lines.push('', 'duplicates, for example:', ...report.examples.duplicates.map((e) => `  ${e}`));
  }
  if (report.examples.lost.length > 0) {
    lines.push('', 'lost, for example:', ...report.examples.lost.map((e) => `  ${e}`));
  }
  return lines.join('\n');
}
