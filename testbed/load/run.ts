// The load run: sends many events (some twice) and counts what came of each: pods, replies,
// duplicates, losses.
import { podNameFor } from '../../src/pods/client-pod.ts';
import type { KubeApiServer } from '../kube-api-server/server.ts';
import { type FaultMix, type FaultMixer, faultMixer } from './faults.ts';
import { pick, seededRandom } from './random.ts';
import {
  type Answer,
  type Delivery,
  deliver,
  type PendingEvent,
  type RedeliveryPolicy,
} from './redelivery.ts';

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
