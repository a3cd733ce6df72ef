// Provisioning: create the client pod for a request, once, whatever the number of deliveries.

import type { ConfigurationOptions, V1Pod } from '@kubernetes/client-node';
import type { ProvisionerConfig } from '../config/config.ts';
import { REASON } from '../formats/reasons.ts';
import { ApiCallError, type CallLimits, callApi } from '../kube/api-call.ts';
import {
  type ApiFailure,
  describeApiFailure,
  isTransient,
  type KubeClient,
} from '../kube/client.ts';
import { createPodAttempt, deletePod, readPod } from '../kube/pod-api.ts';
import type { PodWatch, Waiting } from '../kube/pod-watch.ts';
import { refusedWhileStarting } from '../kube/readiness.ts';
import { classifyRefusal } from '../kube/refusals.ts';
import { apiCallSpans } from '../observability/api-call-spans.ts';
import type { PodEventRecorder } from '../observability/pod-events.ts';
import { ATTRIBUTE, type TraceSpan } from '../observability/tracing.ts';
import { buildPod, gatewayOf, isPodForEvent } from '../pods/client-pod.ts';
import { differencesFrom } from '../pods/fingerprint.ts';
import type { ProvisionRequest } from '../pods/provision-request.ts';
import { missingRouting, notRoutedMessage } from '../pods/routing.ts';
import { type PodWaitState, readyState, waitDecision, waitOutcome } from '../pods/wait-ready.ts';
import type { Failure } from './types.ts';

export type ProvisionOutcome =
  | {
      readonly kind: 'created' | 'existed';
      readonly podName: string;
      readonly namespace: string;
      /** With WAIT_FOR=scheduled or ready: the node the pod was placed on. */
      readonly nodeName: string | undefined;
      /** With WAIT_FOR=ready: the pod's IP, and the time from the event to the pod ready. */
      readonly podIp?: string;
      readonly readyAfterMs?: number;
    }
  /** A final answer: the request cannot be served as it is. */
  | {
      readonly kind: 'failed';
      readonly failure: Failure;
      /** The pod the failure is about, when one was made (still there, or deleted: NotRouted). */
      readonly podName?: string | undefined;
    }
  /** No answer before the deadline: worth delivering the event again later. */
  | {
      readonly kind: 'unavailable';
      readonly failure: Failure & { readonly retryAfterSeconds: number | undefined };
    };

/** What one provisioning attempt knows: the event's request, the pod built for it, its limits. */
interface Attempt {
  readonly request: ProvisionRequest;
  readonly config: ProvisionerConfig;
  readonly kube: KubeClient;
  readonly podEvents: PodEventRecorder;
  readonly pod: V1Pod;
  readonly name: string;
  readonly namespace: string;
  readonly deadline: number;
  readonly limits: CallLimits;
  /** With WAIT_FOR=scheduled or ready: the wait, registered before the create. */
  readonly waiting: Waiting<PodWaitState> | undefined;
}

type Found = 'created' | 'existed';

/** A final or retryable answer without a pod: the outcome the event gets. */
type NoPod = Extract<ProvisionOutcome, { readonly kind: 'failed' | 'unavailable' }>;

/**
 * How the create ended: the pod made now, the pod an earlier delivery of this event made (as
 * the API gave it, after mutating admission), or no pod, with the outcome that says why.
 */
type CreateOrFind =
  | { readonly kind: Found; readonly pod: V1Pod }
  | { readonly kind: 'refused'; readonly outcome: NoPod };

export async function provision(
  request: ProvisionRequest,
  config: ProvisionerConfig,
  /** The API, and the function's Events on its pods. */
  { kube, podEvents }: { readonly kube: KubeClient; readonly podEvents: PodEventRecorder },
  deadline: number,
  /** The shared watch, for WAIT_FOR=scheduled or ready. */
  podWatch?: PodWatch,
  /** The event's span, when tracing is on. */
  span?: TraceSpan,
): Promise<ProvisionOutcome> {
  const started = Date.now();
  // Only a trace a collector receives is named on the pod.
  const pod = buildPod(config, request, span?.sampled ? span.traceId : undefined);
  const name = pod.metadata?.name ?? '';
  const { waitFor } = config;
  const attempt: Attempt = {
    request,
    config,
    kube,
    podEvents,
    pod,
    name,
    namespace: config.clientNamespace,
    deadline,
    limits: { timeoutMs: config.apiTimeoutMs, deadline, observer: span && apiCallSpans(span) },
    // Registered before the create, so that no change of the pod passes unseen.
    waiting:
      waitFor === 'created'
        ? undefined
        : podWatch?.wait(name, waitDecision(waitFor, config.routing), deadline),
  };
  const ours = await createOrFind(attempt).catch((error: unknown) => {
    attempt.waiting?.cancel();
    throw error;
  });
  if (ours.kind === 'refused') {
    attempt.waiting?.cancel();
    return await unlessStarting(attempt, ours.outcome);
  }
  const found = ours.kind;
  // A redelivery that finds the pod ready already tells nothing new: the delivery that saw it
  // become ready wrote the Ready Event (replays must not write one each).
  const readyBefore =
    found === 'existed' && readyState(ours.pod, config.routing?.initContainer).kind === 'ready';
  const missing = config.routing ? missingRouting(ours.pod, config.routing) : [];
  if (missing.length > 0) {
    attempt.waiting?.cancel();
    return await deleteUnrouted(attempt, ours.pod, missing);
  }
  if (found === 'created') {
    podEvents.record(ours.pod, { kind: 'provisioned', request: attempt.request });
  }
  if (!attempt.waiting) {
    return { kind: found, podName: name, namespace: attempt.namespace, nodeName: undefined };
  }
  const state = span
    ? await waitInSpan(span, config.waitFor, attempt.waiting)
    : waitOutcome(await attempt.waiting.result);
  return afterWait(attempt, found, state, started, readyBefore);
}

/** The wait for WAIT_FOR=scheduled or ready as a span; an error unless the pod got there. */
async function waitInSpan(
  parent: TraceSpan,
  waitFor: ProvisionerConfig['waitFor'],
  waiting: Waiting<PodWaitState>,
): Promise<PodWaitState> {
  const span = parent.child(`wait for ${waitFor}`, 'internal', { [ATTRIBUTE.waitFor]: waitFor });
  const state = waitOutcome(await waiting.result);
  span.setAttributes({ [ATTRIBUTE.waitResult]: state.kind });
  if (state.kind !== 'scheduled' && state.kind !== 'ready') {
    span.fail({ type: state.kind, message: waitProblem(state) });
  }
  span.end();
  return state;
}

function waitProblem(state: PodWaitState): string {
  if (state.kind === 'pending') return 'the deadline came first';
  return 'message' in state ? state.message : state.kind;
}

/** The outcome once the wait for WAIT_FOR=scheduled or ready has ended. */
function afterWait(
  { name, namespace, config, podEvents }: Attempt,
  kind: Found,
  state: PodWaitState,
  started: number,
  readyBefore: boolean,
): ProvisionOutcome {
  const where = `pod "${name}" in namespace "${namespace}"`;
  switch (state.kind) {
    case 'scheduled':
      return { kind, podName: name, namespace, nodeName: state.nodeName };
    case 'ready':
      if (!readyBefore) podEvents.record(state.pod, state);
      return {
        kind,
        podName: name,
        namespace,
        nodeName: state.nodeName,
        podIp: state.podIp,
        readyAfterMs: Date.now() - started,
      };
    case 'failed':
      return finalOutcome(state.reason, `${where} will not become ready: ${state.message}`, name);
    case 'unschedulable':
      return finalOutcome(
        REASON.Unschedulable,
        `${where} cannot be scheduled: ${state.message}. It stays Pending until it fits or is deleted.`,
        name,
      );
    case 'refused':
      return finalOutcome(
        state.code === 403 ? REASON.Forbidden : REASON.NotFound,
        state.message,
        undefined,
      );
    case 'pending': {
      const ready = config.waitFor === 'ready';
      return {
        kind: 'unavailable',
        failure: {
          reason: ready ? REASON.ReadyTimeout : REASON.SchedulingTimeout,
          message: `pod "${name}" was not ${ready ? 'ready' : 'scheduled'} before the deadline`,
          retryAfterSeconds: undefined,
        },
      };
    }
  }
}

/**
 * Creates the pod. Whatever stands in the way, the pod may already exist for this very event
 * (deterministic names make that a redelivery): on a 409, and on a failure that may hide it
 * (mayHideOurPod), the pod is read back before answering; after a transient one, before the
 * create is tried again.
 */
async function createOrFind(attempt: Attempt): Promise<CreateOrFind> {
  const { kube, namespace, pod, limits, waiting } = attempt;
  const create = createPodAttempt(kube, namespace, pod, limits);
  const createOrFindOnce = async (options: ConfigurationOptions): Promise<CreateOrFind> => {
    try {
      return { kind: 'created', pod: await create(options) };
    } catch (error) {
      // A transient failure may hide a success (a create that went through before the answer
      // was lost, or one an earlier delivery made): look for it before trying again.
      const failure = describeApiFailure(error);
      const found =
        isTransient(failure) && mayHideOurPod(failure) ? await findOurs(attempt) : undefined;
      if (found !== undefined) return found;
      throw error;
    }
  };
  let ours: CreateOrFind;
  try {
    ours = await callApi(createOrFindOnce, limits);
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    if (error.failure.code === 409) return afterConflict(attempt);
    const found = mayHideOurPod(error.failure) ? await findOurs(attempt) : undefined;
    return found ?? refusedBy(error);
  }
  if (ours.kind === 'created') waiting?.offer(ours.pod);
  return ours;
}

/** 409: the pod is there (or going). Ours and not terminating is a redelivery: that pod. */
async function afterConflict(attempt: Attempt): Promise<CreateOrFind> {
  const { kube, name, namespace, limits, request } = attempt;
  let existing: V1Pod;
  try {
    existing = await readPod(kube, name, namespace, limits);
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    // Gone between the create and the read: it was being deleted.
    return error.failure.code === 404 ? terminating(attempt, undefined) : refusedBy(error);
  }
  if (!isPodForEvent(existing, request)) {
    return alreadyExists(
      `pod "${name}" in namespace "${namespace}" already exists and was not created for this event (source "${request.eventSource}", id "${request.eventId}")`,
    );
  }
  return sameRequestOrRefused(attempt, existing);
}

/** The pod made for this event is `existed` if it is what the event asks for now, else refused. */
function sameRequestOrRefused(attempt: Attempt, existing: V1Pod): CreateOrFind {
  const { config, request, name, namespace, waiting } = attempt;
  if (existing.metadata?.deletionTimestamp) return terminating(attempt, existing);
  const differences = differencesFrom(existing, gatewayOf(existing, config), request);
  if (differences.length === 0) {
    waiting?.offer(existing);
    return { kind: 'existed', pod: existing };
  }
  // The reply goes to whoever sent this event, who may not be the producer of the first: it
  // names neither the first request's gateway nor what differs (an oracle to guess another
  // producer's gateway or message by). The operator's log line names both.
  return alreadyExists(
    `pod "${name}" in namespace "${namespace}" was made for an earlier event with the same source and id, which asked for something else. An event id stands for one content: send other data under a new id`,
    `differ(s): ${differences.join(', ')}`,
  );
}

/** What the pod of this event, when it is there, says about the event; undefined otherwise. */
async function findOurs(attempt: Attempt): Promise<CreateOrFind | undefined> {
  const { kube, name, namespace, limits, deadline, config, request } = attempt;
  // Past the deadline, the read still gets one API timeout of its own.
  const readLimits = { ...limits, deadline: Math.max(deadline, Date.now() + config.apiTimeoutMs) };
  const existing = await readPod(kube, name, namespace, readLimits).catch(() => undefined);
  if (existing === undefined || !isPodForEvent(existing, request)) return undefined;
  return sameRequestOrRefused(attempt, existing);
}

/**
 * A pod without the gateway's wiring must not run: deleted (its uid as a precondition), and the
 * event answered failed NotRouted, on a redelivery too. At once (no grace period) while none of
 * its containers has started; one that runs (made before REQUIRE_ROUTING was on, and found by a
 * replay of its event) gets CLIENT_GRACE_PERIOD_SECONDS, else its own grace period, as a release
 * does.
 */
async function deleteUnrouted(
  attempt: Attempt,
  pod: V1Pod,
  missing: readonly string[],
): Promise<ProvisionOutcome> {
  const { kube, name, namespace, request, config, podEvents } = attempt;
  podEvents.record(pod, { kind: 'notRouted', missingContainers: missing });
  let message = notRoutedMessage({ name, namespace }, request.gatewayName, missing);
  try {
    // Past the deadline, the delete still gets one API timeout of its own.
    await deletePod(kube, pod, hasStarted(pod) ? config.clientGracePeriodSeconds : 0, {
      timeoutMs: config.apiTimeoutMs,
      deadline: Math.max(attempt.deadline, Date.now() + config.apiTimeoutMs),
    });
    message += '. The pod was deleted';
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    message +=
      error.failure.code === 404
        ? '. The pod is gone'
        : `. The pod could not be deleted (${error.failure.message}): delete it by hand`;
  }
  return finalOutcome(REASON.NotRouted, message, name);
}

/** Whether a container of the pod has started (or ended): its workload may be running. */
function hasStarted(pod: V1Pod): boolean {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  return statuses.some(
    (status) => status.state?.running || status.state?.terminated || status.started,
  );
}

/** A pod being deleted is never `done`: the event comes again once it is gone. */
function terminating({ name, namespace }: Attempt, existing: V1Pod | undefined): CreateOrFind {
  const until = existing?.metadata?.deletionTimestamp;
  const seconds = until ? Math.ceil((new Date(until).getTime() - Date.now()) / 1000) : 1;
  const failure: ApiFailure = {
    reason: REASON.PodTerminating,
    message: `pod "${name}" in namespace "${namespace}" is being deleted; the event is to be delivered again once it is gone`,
    code: 409,
    retryAfterSeconds: Math.min(30, Math.max(1, seconds)),
  };
  return { kind: 'refused', outcome: { kind: 'unavailable', failure } };
}

/** A pod of this name that this event may not have: final. */
function alreadyExists(message: string, logDetail?: string): CreateOrFind {
  const failure: ApiFailure = {
    reason: REASON.AlreadyExists,
    message,
    code: 409,
    retryAfterSeconds: undefined,
    ...(logDetail === undefined ? {} : { logDetail }),
  };
  return { kind: 'refused', outcome: { kind: 'failed', failure } };
}

/**
 * Whether a failed create may stand in front of a pod this event already made: a failure with no
 * answer or a 5xx (the create may have gone through), and admission's refusals, which come before
 * the store's 409. Not an overloaded server's 429 (API Priority and Fairness refuses before any
 * handler), nor what authentication, authorization or validation refuse.
 */
function mayHideOurPod(failure: ApiFailure): boolean {
  const { code } = failure;
  if (code === undefined || code >= 500) return true;
  const refusal = classifyRefusal(failure);
  if (refusal?.reason === REASON.AdmissionDenied) return true;
  return code === 403 && refusal?.reason !== REASON.Forbidden;
}

/** A failed call as the answer: retried later (503), or a final `failed` with its cause. */
function refusedBy(error: ApiCallError): CreateOrFind {
  return { kind: 'refused', outcome: outcomeOf(error) };
}

/** A failed call as the outcome: retried later (503), or a final `failed` with its cause. */
function outcomeOf(error: ApiCallError): NoPod {
  if (error.deadlineExceeded) return { kind: 'unavailable', failure: error.failure };
  const refusal = classifyRefusal(error.failure);
  if (refusal?.kind === 'unavailable') {
    const { reason, retryAfterSeconds } = refusal;
    return { kind: 'unavailable', failure: { ...error.failure, reason, retryAfterSeconds } };
  }
  const reason = refusal?.reason ?? error.failure.reason;
  return { kind: 'failed', failure: { ...error.failure, reason } };
}

/**
 * The authorizer's Forbidden while kube-apiserver is not ready is its RBAC caches still filling
 * after a start (src/kube/readiness.ts), not the Role: delivered again (503), not failed.
 */
async function unlessStarting({ kube, config }: Attempt, outcome: NoPod): Promise<NoPod> {
  if (outcome.kind !== 'failed') return outcome;
  const starting = await refusedWhileStarting(kube, outcome.failure, config.apiTimeoutMs);
  return starting ? { kind: 'unavailable', failure: { ...outcome.failure, ...starting } } : outcome;
}

/** A final outcome the function's own checks give (not an API call's answer). */
function finalOutcome(reason: string, message: string, podName: string | undefined): NoPod {
  return { kind: 'failed', failure: { reason, message }, podName };
}
