// `io.podgateway.client.sweep` (and the PingSource's scheduled ping): deletes the function's own
// pods that are finished (Succeeded, Failed) or older than CLIENT_TTL_SECONDS, listing them page
// by page, and replies with what it deleted. Nothing else is touched: the list selects the
// managed-by label, and each delete carries the pod's uid as a precondition.
import type { V1Pod } from '@kubernetes/client-node';
import type { ProvisionerConfig } from '../config/config.ts';
import { reply } from '../events/replies.ts';
import { quoted } from '../formats/bounded-text.ts';
import { ApiCallError, type CallLimits } from '../kube/api-call.ts';
import type { KubeClient } from '../kube/client.ts';
import { deletePod as deletePodOnce, listPodPages } from '../kube/pod-api.ts';
import { apiCallSpans } from '../observability/api-call-spans.ts';
import { podsSweptTotal } from '../observability/metrics.ts';
import { reportPodEvent } from '../observability/pod-events.ts';
import { isOwnPod, OWN_PODS_SELECTOR, podAgeSeconds } from '../pods/own-pods.ts';
import { FAILING_WAIT_REASONS } from '../pods/wait-ready.ts';
import { failed, type HandlerAnswer, type HandlerInput, retryLater } from './types.ts';

export const SWEEP_TYPE = 'io.podgateway.client.sweep';
export const SWEEP_DONE_TYPE = 'io.podgateway.client.sweep.done';
export const SWEEP_FAILED_TYPE = 'io.podgateway.client.sweep.failed';
/**
 * What a Knative PingSource sends; its type cannot be changed (ceOverrides may not override
 * required attributes: knative/eventing docs/spec/sources.md). deploy/ routes only the
 * PingSource of the function to it (a Trigger filtering on that source too).
 * knative/eventing pkg/apis/sources/v1/ping_lifecycle.go: PingSourceEventType.
 */
export const PING_TYPE = 'dev.knative.sources.ping';

/** Pods per list page. */
export const SWEEP_PAGE_SIZE = 100;
/** Time kept back from the event's deadline to answer with what was done so far. */
const ANSWER_MARGIN_MS = 1000;

export type SweepReason = 'Succeeded' | 'Failed' | 'Expired';

export interface SweptPod {
  readonly pod_name: string;
  readonly reason: SweepReason;
}

export interface SweepDoneData {
  readonly namespace: string;
  readonly deleted: readonly SweptPod[];
  /** False when the deadline came first: the next sweep goes on where this one stopped. */
  readonly complete: boolean;
  readonly pages: number;
  readonly message: string;
}

/**
 * Why the sweep deletes the pod, or undefined when it stays. `Failed` covers a pod that ended
 * Failed and one whose container cannot start or keeps crashing (CrashLoopBackOff, image pull
 * errors: src/pods/wait-ready.ts), which never reaches a final phase by itself; the newest of
 * them are kept for debugging (FAILED_PODS_HISTORY_LIMIT). Past CLIENT_TTL_SECONDS, any pod goes.
 */
export function sweepReason(
  pod: V1Pod,
  config: Pick<ProvisionerConfig, 'clientNamespace' | 'clientTtlSeconds'>,
  now: number = Date.now(),
): SweepReason | undefined {
  if (!isOwnPod(pod, config.clientNamespace)) return undefined;
  // Already terminating: the kubelet is on it.
  if (pod.metadata?.deletionTimestamp) return undefined;
  const phase = pod.status?.phase;
  if (phase === 'Succeeded') return phase;
  const age = podAgeSeconds(pod, now);
  if (config.clientTtlSeconds !== undefined && age !== undefined && age > config.clientTtlSeconds) {
    return 'Expired';
  }
  if (phase === 'Failed' || isStuckFailing(pod)) return 'Failed';
  return undefined;
}

/** A container waiting for a reason it will not get past by itself. */
function isStuckFailing(pod: V1Pod): boolean {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  return statuses.some((status) => FAILING_WAIT_REASONS.has(status.state?.waiting?.reason ?? ''));
}

/** When the pod failed, as near as its status tells: its containers' last end, else its birth. */
export function failedAt(pod: V1Pod): number {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  const ends = statuses
    .flatMap((status) => [
      status.state?.terminated?.finishedAt,
      status.lastState?.terminated?.finishedAt,
    ])
    .map((time) => (time === undefined ? Number.NaN : new Date(time).getTime()))
    .filter((time) => !Number.isNaN(time));
  if (ends.length > 0) return Math.max(...ends);
  const created = pod.metadata?.creationTimestamp;
  return created === undefined ? 0 : new Date(created).getTime();
}

/** The failed pods past the history: all but the `keep` newest. */
export function beyondHistory(failed: readonly V1Pod[], keep: number): V1Pod[] {
  return [...failed].sort((a, b) => failedAt(b) - failedAt(a)).slice(keep);
}

export async function handleSweep({
  event,
  config,
  kube,
  deadline,
  span,
}: HandlerInput): Promise<HandlerAnswer> {
  if (event.type === PING_TYPE && event.source !== config.pingSource) {
    return {
      kind: 'rejected',
      message: `events of type "${PING_TYPE}" are accepted only from the PingSource ${JSON.stringify(config.pingSource)} (PING_SOURCE), not from ${quoted(event.source, 200)}`,
    };
  }
  // The sweep takes no data: whatever a producer (or the PingSource) sends is ignored.
  const limits: CallLimits = {
    timeoutMs: config.apiTimeoutMs,
    deadline,
    observer: span && apiCallSpans(span),
  };
  const turn = await sweepOnce(kube, config, limits);
  if (turn.kind === 'recent') return recentAnswer(config, event, turn.last, turn.agoSeconds);
  const { outcome } = turn;
  if (outcome.failure && outcome.deleted.length === 0) {
    const { failure, deadlineExceeded } = outcome.failure;
    if (deadlineExceeded) return retryLater(failure);
    return failed({ source: config.eventSource, event, type: SWEEP_FAILED_TYPE }, failure);
  }
  const complete = isComplete(outcome);
  const joined = turn.kind === 'joined' ? ' (by the sweep already running when this one came)' : '';
  const message = `${outcome.deleted.length} pod(s) deleted from namespace ${config.clientNamespace}${joined}${describeReasons(outcome.deleted)}${complete ? '' : `; stopped early (${outcome.failure?.failure.message ?? 'the deadline came'}): the next sweep goes on`}`;
  const done: SweepDoneData = {
    namespace: config.clientNamespace,
    deleted: outcome.deleted,
    complete,
    pages: outcome.pages,
    message,
  };
  return {
    kind: 'reply',
    reply: reply(config.eventSource, event, SWEEP_DONE_TYPE, done, undefined),
    summary: { outcome: 'swept', message },
  };
}

/** A sweep soon after a complete one: nothing listed, nothing deleted, the last one named. */
function recentAnswer(
  config: ProvisionerConfig,
  event: HandlerInput['event'],
  last: SweepOutcome,
  agoSeconds: number,
): HandlerAnswer {
  const message = `not swept again: the last sweep of namespace ${config.clientNamespace} ended ${agoSeconds} s ago and deleted ${last.deleted.length} pod(s); sweeps are at least ${config.sweepIntervalSeconds} s apart (SWEEP_INTERVAL_SECONDS)`;
  const done: SweepDoneData = {
    namespace: config.clientNamespace,
    deleted: [],
    complete: true,
    pages: 0,
    message,
  };
  return {
    kind: 'reply',
    reply: reply(config.eventSource, event, SWEEP_DONE_TYPE, done, undefined),
    summary: { outcome: 'swept', message },
  };
}

/** How a sweep event was served: it ran, it joined one running, or one had just ended. */
type SweepTurn =
  | { readonly kind: 'ran' | 'joined'; readonly outcome: SweepOutcome }
  | { readonly kind: 'recent'; readonly last: SweepOutcome; readonly agoSeconds: number };

/**
 * One sweep at a time per process, and none within SWEEP_INTERVAL_SECONDS of the last complete
 * one: any producer may send sweeps, and each lists every pod of the function, page by page.
 */
let running: Promise<SweepOutcome> | undefined;
let lastComplete: { readonly outcome: SweepOutcome; readonly endedAt: number } | undefined;

async function sweepOnce(
  kube: KubeClient,
  config: ProvisionerConfig,
  limits: CallLimits,
): Promise<SweepTurn> {
  if (running) return { kind: 'joined', outcome: await running };
  const agoMs = lastComplete === undefined ? undefined : Date.now() - lastComplete.endedAt;
  if (lastComplete && agoMs !== undefined && agoMs < config.sweepIntervalSeconds * 1000) {
    return { kind: 'recent', last: lastComplete.outcome, agoSeconds: Math.floor(agoMs / 1000) };
  }
  const started = sweep(kube, config, limits);
  running = started;
  try {
    const outcome = await started;
    if (isComplete(outcome)) lastComplete = { outcome, endedAt: Date.now() };
    return { kind: 'ran', outcome };
  } finally {
    running = undefined;
  }
}

function isComplete(outcome: SweepOutcome): boolean {
  return outcome.failure === undefined && outcome.complete;
}

interface SweepOutcome {
  readonly deleted: SweptPod[];
  readonly pages: number;
  /** False when the deadline stopped it. */
  readonly complete: boolean;
  readonly failure: ApiCallError | undefined;
}

async function sweep(
  kube: KubeClient,
  config: ProvisionerConfig,
  limits: CallLimits,
): Promise<SweepOutcome> {
  const namespace = config.clientNamespace;
  const deleted: SweptPod[] = [];
  let pages = 0;
  let stopped = false;
  const query = { namespace, labelSelector: OWN_PODS_SELECTOR, limit: SWEEP_PAGE_SIZE };
  const limitsForPage = () => {
    stopped = Date.now() + ANSWER_MARGIN_MS >= limits.deadline;
    return stopped ? undefined : limits;
  };
  // Failed pods wait for the whole list: only then is it known which are the newest to keep.
  const failed: V1Pod[] = [];
  const deleteAll = (pods: readonly SweptCandidate[]) =>
    deleteEach(kube, pods, config.clientGracePeriodSeconds, limits, deleted);
  try {
    for await (const page of listPodPages(kube, query, limitsForPage)) {
      pages += 1;
      const now = Date.now();
      const due: SweptCandidate[] = [];
      for (const pod of page.items) {
        const reason = sweepReason(pod, config, now);
        if (reason === 'Failed') failed.push(pod);
        else if (reason !== undefined) due.push({ pod, reason });
      }
      if (!(await deleteAll(due))) return { deleted, pages, complete: false, failure: undefined };
    }
    if (!stopped) {
      const beyond = beyondHistory(failed, config.failedPodsHistoryLimit);
      const due = beyond.map((pod): SweptCandidate => ({ pod, reason: 'Failed' }));
      if (!(await deleteAll(due))) return { deleted, pages, complete: false, failure: undefined };
    }
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    return { deleted, pages, complete: false, failure: error };
  }
  return { deleted, pages, complete: !stopped, failure: undefined };
}

interface SweptCandidate {
  readonly pod: V1Pod;
  readonly reason: SweepReason;
}

/**
 * The one delete loop of the sweep, for every reason: each pod deleted is counted, told as a
 * Swept Event on it, and added to `deleted`. False when the deadline stopped it first.
 */
async function deleteEach(
  kube: KubeClient,
  candidates: readonly SweptCandidate[],
  gracePeriodSeconds: number | undefined,
  limits: CallLimits,
  deleted: SweptPod[],
): Promise<boolean> {
  for (const { pod, reason } of candidates) {
    if (Date.now() + ANSWER_MARGIN_MS >= limits.deadline) return false;
    if (await deletePod(kube, pod, gracePeriodSeconds, limits)) {
      podsSweptTotal.inc({ reason });
      reportPodEvent(kube, pod, { kind: 'swept', why: reason });
      deleted.push({ pod_name: pod.metadata?.name ?? '', reason });
    }
  }
  return true;
}

/** Deletes the pod unless it is gone or was replaced (another uid): true when deleted now. */
async function deletePod(
  kube: KubeClient,
  pod: V1Pod,
  gracePeriodSeconds: number | undefined,
  limits: CallLimits,
): Promise<boolean> {
  try {
    await deletePodOnce(kube, pod, gracePeriodSeconds, limits);
    return true;
  } catch (error) {
    const code = error instanceof ApiCallError ? error.failure.code : undefined;
    // 404: gone already (another sweep, a release); 409: a new pod of that name, not this one.
    if (code === 404 || code === 409) return false;
    throw error;
  }
}

function describeReasons(deleted: readonly SweptPod[]): string {
  if (deleted.length === 0) return '';
  const counts = new Map<string, number>();
  for (const { reason } of deleted) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return ` (${[...counts].map(([reason, count]) => `${count} ${reason}`).join(', ')})`;
}
