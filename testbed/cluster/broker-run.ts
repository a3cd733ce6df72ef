// Many events against the function on the real control plane, the load generator playing the
// Broker: each delivery is sent again after a 5xx, a 429 or no answer, with backoff (Retry-After
// wins), as Knative's delivery spec has it. A share of the events is delivered twice (same id and
// source): half of those beside the original, at the same moment, half later. Halfway through,
// `midway` runs while the load goes on (a kube-apiserver restart, an etcd compaction). At the end
// the pods are counted through the API, by their event-id annotation: one per event, no more.
import * as k8s from '@kubernetes/client-node';
import { ANNOTATIONS, podNameFor } from '../../src/pods/client-pod.ts';
import { OWN_PODS_SELECTOR } from '../../src/pods/own-pods.ts';
import { pick, type Random, seededRandom } from '../load/random.ts';
import {
  type Answer,
  type Delivery,
  deliver,
  type PendingEvent,
  type RedeliveryPolicy,
} from '../load/redelivery.ts';

export interface BrokerRunOptions {
  /** The function's URL. */
  readonly url: string;
  /** Distinct events. */
  readonly events: number;
  readonly concurrency: number;
  /** Share of the events delivered a second time (0.1: one in ten). */
  readonly redeliveredShare: number;
  /** Ids are `${idPrefix}-${n}`: distinct across runs against one cluster. */
  readonly idPrefix: string;
  /** The gateways the events name, picked at random. */
  readonly gateways: readonly string[];
  readonly policy: RedeliveryPolicy;
  readonly seed?: number;
  /** Started once half of the deliveries have begun; the load goes on meanwhile. */
  readonly midway?: () => Promise<void>;
  readonly onProgress?: (finished: number, total: number) => void;
}

/**
 * Roomier than deploy/broker.yaml's delivery (5 retries, exponential from 0.5 s, no Retry-After):
 * what a run asks is whether the function loses or doubles an event, not when the Broker gives
 * up; `mostAttempts` in the tally says how many the slowest delivery needed.
 */
export const BROKER_POLICY: RedeliveryPolicy = {
  maxAttempts: 20,
  backoffBaseMs: 200,
  backoffMaxMs: 5000,
  // Longer than the function's event deadline (20 s): its 503 comes first.
  requestTimeoutMs: 30_000,
};

/** One job of the run: an event delivered once, or twice at the same moment. */
interface Job {
  readonly event: PendingEvent;
  readonly together: boolean;
}

export interface BrokerRun {
  readonly events: readonly PendingEvent[];
  readonly deliveries: readonly Delivery[];
  readonly elapsedMs: number;
  /** How long `midway` took, when it ran. */
  readonly midwayMs: number | undefined;
}

/** The deliveries in the order they start: originals shuffled, later copies after theirs. */
export function planJobs(
  events: readonly PendingEvent[],
  redeliveredShare: number,
  random: Random,
): Job[] {
  const jobs: Job[] = events.map((event) => ({ event, together: false }));
  for (let i = jobs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [jobs[i], jobs[j]] = [jobs[j] as Job, jobs[i] as Job];
  }
  const again = Math.round(events.length * redeliveredShare);
  // Every (1/share)-th job of the shuffled order: half twice at once, half again later.
  const step = again === 0 ? Infinity : jobs.length / again;
  const later: Array<{ after: number; event: PendingEvent }> = [];
  for (let k = 0; k < again; k++) {
    const at = Math.floor(k * step);
    const job = jobs[at] as Job;
    if (k % 2 === 0) jobs[at] = { event: job.event, together: true };
    else later.push({ after: at, event: job.event });
  }
  // From the back, so that the earlier positions stay where they were.
  for (const { after, event } of later.reverse()) {
    const position = after + 1 + Math.floor(random() * (jobs.length - after));
    jobs.splice(position, 0, { event, together: false });
  }
  return jobs;
}

export async function runAsBroker(options: BrokerRunOptions): Promise<BrokerRun> {
  const random = seededRandom(options.seed ?? 29);
  const events: PendingEvent[] = Array.from({ length: options.events }, (_, n) => ({
    id: `${options.idPrefix}-${n}`,
    source: `/scale/producer-${n % 5}`,
    gatewayName: pick(random, options.gateways),
    mode: random() < 0.5 ? 'binary' : 'structured',
  }));
  const jobs = planJobs(events, options.redeliveredShare, random);
  const total = jobs.reduce((sum, job) => sum + (job.together ? 2 : 1), 0);
  const deliveries: Delivery[] = [];
  let midway: Promise<number> | undefined;
  let next = 0;
  const send = async (event: PendingEvent) => {
    deliveries.push(await deliver(options.url, event, options.policy, random));
    options.onProgress?.(deliveries.length, total);
  };
  const started = performance.now();
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as Job;
      if (midway === undefined && options.midway && next >= jobs.length / 2) {
        const begun = performance.now();
        midway = options.midway().then(() => performance.now() - begun);
        // Awaited once the load is over; a failure meanwhile must not end the process unhandled.
        midway.catch(() => {});
      }
      await (job.together ? Promise.all([send(job.event), send(job.event)]) : send(job.event));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const midwayMs = await midway;
  return { events, deliveries, elapsedMs: performance.now() - started, midwayMs };
}

export interface BrokerTally {
  readonly events: number;
  /** Deliveries: each event once, and the second deliveries. */
  readonly deliveries: number;
  readonly httpRequests: number;
  /** HTTP requests after the first of a delivery: the Broker's retries. */
  readonly redeliveries: number;
  /** Every 5xx answer, by status and the body's `error` (`503 ApiUnavailable`). */
  readonly serverErrors: Readonly<Record<string, number>>;
  /** 503s that came without a Retry-After. */
  readonly withoutRetryAfter: number;
  readonly connectionErrors: number;
  /** The most HTTP requests one delivery needed (deploy/broker.yaml allows 6). */
  readonly mostAttempts: number;
  /** Deliveries that ended `done` naming the event's pod. */
  readonly done: number;
  /** Events with a delivery that did not end so: a few examples each. */
  readonly notDone: readonly string[];
  /** The function's pods carrying one of the run's event ids, counted through the API. */
  readonly pods: number;
  /** Pods beyond one per event id, and pods under another name than the event's. */
  readonly duplicates: readonly string[];
  /** Event ids without a pod. */
  readonly missing: readonly string[];
  readonly eventsPerSecond: number;
}

/** What came of the run: the answers as the Broker saw them, the pods as the API lists them. */
export async function tallyRun(
  run: BrokerRun,
  admin: k8s.KubeConfig,
  namespace: string,
  idPrefix: string,
): Promise<BrokerTally> {
  const serverErrors: Record<string, number> = {};
  let httpRequests = 0;
  let withoutRetryAfter = 0;
  let connectionErrors = 0;
  let mostAttempts = 0;
  let done = 0;
  const notDone: string[] = [];
  for (const delivery of run.deliveries) {
    httpRequests += delivery.attempts.length;
    mostAttempts = Math.max(mostAttempts, delivery.attempts.length);
    for (const { answer } of delivery.attempts) {
      if (answer.kind === 'connection') connectionErrors++;
      if (answer.kind !== 'status' || answer.status < 500) continue;
      const key = `${answer.status} ${answer.error ?? ''}`.trim();
      serverErrors[key] = (serverErrors[key] ?? 0) + 1;
      if (answer.status === 503 && answer.retryAfterSeconds === undefined) withoutRetryAfter++;
    }
    const expected = podNameFor({
      eventId: delivery.event.id,
      eventSource: delivery.event.source,
    });
    if (delivery.final.kind === 'done' && delivery.final.podName === expected) done++;
    else notDone.push(`${delivery.event.id}: ${describe(delivery.final)}`);
  }

  const byId = await podsByEventId(admin, namespace, `${idPrefix}-`);
  const duplicates: string[] = [];
  const missing: string[] = [];
  let pods = 0;
  for (const event of run.events) {
    const names = byId.get(event.id) ?? [];
    byId.delete(event.id);
    pods += names.length;
    const expected = podNameFor({ eventId: event.id, eventSource: event.source });
    if (names.length === 0) missing.push(event.id);
    else if (names.length > 1 || names[0] !== expected) {
      duplicates.push(`${event.id}: ${names.join(', ')}`);
    }
  }
  for (const [id, names] of byId) {
    pods += names.length;
    duplicates.push(`${id} (no such event): ${names.join(', ')}`);
  }
  return {
    events: run.events.length,
    deliveries: run.deliveries.length,
    httpRequests,
    redeliveries: httpRequests - run.deliveries.length,
    serverErrors,
    withoutRetryAfter,
    connectionErrors,
    mostAttempts,
    done,
    notDone,
    pods,
    duplicates,
    missing,
    eventsPerSecond: (run.events.length / run.elapsedMs) * 1000,
  };
}

/** The function's pods whose event-id annotation starts with `prefix`, by that id; paged. */
async function podsByEventId(
  admin: k8s.KubeConfig,
  namespace: string,
  prefix: string,
): Promise<Map<string, string[]>> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const byId = new Map<string, string[]>();
  let _continue: string | undefined;
  do {
    const page = await core.listNamespacedPod({
      namespace,
      labelSelector: OWN_PODS_SELECTOR,
      limit: 500,
      ...(_continue ? { _continue } : {}),
    });
    for (const pod of page.items) {
      const id = pod.metadata?.annotations?.[ANNOTATIONS.eventId];
      if (id === undefined || !id.startsWith(prefix)) continue;
      byId.set(id, [...(byId.get(id) ?? []), pod.metadata?.name ?? '']);
    }
    _continue = page.metadata?._continue;
  } while (_continue);
  return byId;
}

function describe(answer: Answer): string {
  switch (answer.kind) {
    case 'done':
      return `done naming ${answer.podName}`;
    case 'failed':
      return `failed ${answer.reason}: ${answer.message}`;
    case 'status':
      return `HTTP ${answer.status} ${answer.error ?? ''}`.trim();
    case 'connection':
      return `no answer: ${answer.message}`;
  }
}
