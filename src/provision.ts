// Provisioning: create the client pod for a request, once, whatever the number of deliveries.
import type { V1Pod } from '@kubernetes/client-node';
import { classifyRefusal } from './admission.ts';
import { ApiCallError, type CallLimits, callApi } from './api-call.ts';
import type { ProvisionerConfig } from './config.ts';
import { differencesFrom } from './fingerprint.ts';
import type { ApiFailure, KubeClient } from './kube.ts';
import { timeApiCall } from './metrics.ts';
import { buildPod, gatewayOf, isPodForEvent } from './pod.ts';
import type { PodWatch } from './pod-watch.ts';
import { waitDecision, waitOutcome } from './ready.ts';
import type { ProvisionRequest } from './request.ts';
import { createPod } from './transport.ts';

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
  | { readonly kind: 'failed'; readonly failure: ApiFailure }
  /** No answer before the deadline: worth delivering the event again later. */
  | { readonly kind: 'unavailable'; readonly failure: ApiFailure };

export async function provision(
  request: ProvisionRequest,
  config: ProvisionerConfig,
  kube: KubeClient,
  deadline: number,
  /** The shared watch, for WAIT_FOR=scheduled or ready. */
  pods?: PodWatch,
): Promise<ProvisionOutcome> {
  const started = Date.now();
  const limits: CallLimits = { timeoutMs: config.apiTimeoutMs, deadline };
  const pod = buildPod(config, request);
  const name = pod.metadata?.name ?? '';
  const namespace = config.clientNamespace;
  // Registered before the create, so that no change of the pod passes unseen.
  const waitFor = config.waitFor;
  const waiting =
    waitFor === 'created' ? undefined : pods?.wait(name, waitDecision(waitFor), deadline);
  let kind: 'created' | 'existed';
  try {
    kind = await createOrFind();
  } catch (error) {
    waiting?.cancel();
    return asOutcome(error);
  }
  if (!waiting) return { kind, podName: name, namespace, nodeName: undefined };

  const state = waitOutcome(await waiting.result);
  switch (state.kind) {
    case 'scheduled':
      return { kind, podName: name, namespace, nodeName: state.nodeName };
    case 'ready':
      return {
        kind,
        podName: name,
        namespace,
        nodeName: state.nodeName,
        podIp: state.podIp,
        readyAfterMs: Date.now() - started,
      };
    case 'failed':
      return failed(
        state.reason,
        `pod "${name}" in namespace "${namespace}" will not become ready: ${state.message}`,
      );
    case 'unschedulable':
      return failed(
        'Unschedulable',
        `pod "${name}" in namespace "${namespace}" cannot be scheduled: ${state.message}. It stays Pending until it fits or is deleted.`,
      );
    case 'refused':
      return failed(state.code === 403 ? 'Forbidden' : 'NotFound', state.message, state.code);
    case 'pending':
      return {
        kind: 'unavailable',
        failure: {
          reason: waitFor === 'ready' ? 'ReadyTimeout' : 'SchedulingTimeout',
          message: `pod "${name}" was not ${waitFor === 'ready' ? 'ready' : 'scheduled'} before the deadline`,
          code: undefined,
          retryAfterSeconds: undefined,
        },
      };
  }

  /**
   * Creates the pod. Whatever stands in the way, the pod may already exist for this very event
   * (deterministic names make that a redelivery): on a 409, and on a failure that may hide it
   * (mayHideOurPod), the pod is read back before answering.
   */
  async function createOrFind(): Promise<'created' | 'existed'> {
    try {
      return await callApi(
        async (options) => {
          const created = await timeApiCall('create', () =>
            createPod(kube.kubeConfig, namespace, pod, options),
          );
          waiting?.offer(created);
          return 'created' as const;
        },
        limits,
        (failure) => (mayHideOurPod(failure) ? findOurs() : Promise.resolve(undefined)),
      );
    } catch (error) {
      if (!(error instanceof ApiCallError) || error.failure.reason === 'PodTerminating')
        throw error;
      if (error.failure.code === 409) return afterConflict();
      if (mayHideOurPod(error.failure) && (await findOurs()) !== undefined) return 'existed';
      throw error;
    }
  }

  /** 409: the pod is there (or going). Ours and not terminating is a redelivery. */
  async function afterConflict(): Promise<'existed'> {
    let existing: V1Pod;
    try {
      existing = await readPod(limits);
    } catch (error) {
      // Gone between the create and the read: it was being deleted.
      if (error instanceof ApiCallError && error.failure.code === 404) throw terminating(undefined);
      throw error;
    }
    if (!isPodForEvent(existing, request)) {
      throw alreadyExists(
        `pod "${name}" in namespace "${namespace}" already exists and was not created for this event (source "${request.eventSource}", id "${request.eventId}")`,
      );
    }
    return sameRequestOrRefuse(existing);
  }

  /** The pod made for this event: `existed` if it is what the event asks for now, else refused. */
  function sameRequestOrRefuse(existing: V1Pod): 'existed' {
    if (existing.metadata?.deletionTimestamp) throw terminating(existing);
    const differences = differencesFrom(existing, gatewayOf(existing, config), request);
    if (differences.length === 0) {
      waiting?.offer(existing);
      return 'existed';
    }
    throw alreadyExists(
      `pod "${name}" in namespace "${namespace}" was made for an earlier event with the same source and id, which asked for something else: ${differences.join(', ')} differ(s). An event id stands for one content: send other data under a new id`,
    );
  }

  /** 'existed' when the pod is there and was made for this event; undefined otherwise. */
  async function findOurs(): Promise<'existed' | undefined> {
    // Past the deadline, the read still gets one API timeout of its own.
    const readLimits = {
      ...limits,
      deadline: Math.max(deadline, Date.now() + config.apiTimeoutMs),
    };
    const existing = await readPod(readLimits).catch(() => undefined);
    if (existing === undefined || !isPodForEvent(existing, request)) return undefined;
    return sameRequestOrRefuse(existing);
  }

  function readPod(readLimits: CallLimits): Promise<V1Pod> {
    return callApi(
      (options) =>
        timeApiCall('get', () => kube.api.readNamespacedPod({ name, namespace }, options)),
      readLimits,
    );
  }

  /** A pod being deleted is never `done`: the event comes again once it is gone. */
  function terminating(existing: V1Pod | undefined): ApiCallError {
    const until = existing?.metadata?.deletionTimestamp;
    const seconds = until ? Math.ceil((new Date(until).getTime() - Date.now()) / 1000) : 1;
    return new ApiCallError(
      {
        reason: 'PodTerminating',
        message: `pod "${name}" in namespace "${namespace}" is being deleted; the event is to be delivered again once it is gone`,
        code: 409,
        retryAfterSeconds: Math.min(30, Math.max(1, seconds)),
      },
      true,
    );
  }
}

function alreadyExists(message: string): ApiCallError {
  return new ApiCallError(
    { reason: 'AlreadyExists', message, code: 409, retryAfterSeconds: undefined },
    false,
  );
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
  if (refusal?.reason === 'AdmissionDenied') return true;
  return code === 403 && refusal?.reason !== 'Forbidden';
}

/** A failed call as the answer: retried later (503), or a final `failed` with its cause. */
function asOutcome(error: unknown): ProvisionOutcome {
  if (!(error instanceof ApiCallError)) throw error;
  if (error.deadlineExceeded) return { kind: 'unavailable', failure: error.failure };
  const refusal = classifyRefusal(error.failure);
  if (refusal?.kind === 'retry') {
    const { reason, retryAfterSeconds } = refusal;
    return { kind: 'unavailable', failure: { ...error.failure, reason, retryAfterSeconds } };
  }
  const reason = refusal?.reason ?? error.failure.reason;
  return { kind: 'failed', failure: { ...error.failure, reason } };
}

function failed(reason: string, message: string, code?: number): ProvisionOutcome {
  return { kind: 'failed', failure: { reason, message, code, retryAfterSeconds: undefined } };
}
