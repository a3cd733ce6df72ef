// Provisioning: create the client pod for a request, once, whatever the number of deliveries.
import { ApiCallError, type CallLimits, callApi } from './api-call.ts';
import type { ProvisionerConfig } from './config.ts';
import type { ApiFailure, KubeClient } from './kube.ts';
import { timeApiCall } from './metrics.ts';
import { buildPod, isPodForRequest } from './pod.ts';
import type { PodWatch } from './pod-watch.ts';
import { waitDecision, waitOutcome } from './ready.ts';
import type { ProvisionRequest } from './request.ts';

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

  /** Creates the pod; on 409 reads it back: deterministic names make that a redelivery. */
  async function createOrFind(): Promise<'created' | 'existed'> {
    try {
      const created = await callApi(
        (options) =>
          timeApiCall('create', () =>
            kube.api.createNamespacedPod({ namespace, body: pod }, options),
          ),
        limits,
      );
      waiting?.offer(created);
      return 'created';
    } catch (error) {
      if (!(error instanceof ApiCallError) || error.failure.code !== 409) throw error;
    }
    const existing = await callApi(
      (options) =>
        timeApiCall('get', () => kube.api.readNamespacedPod({ name, namespace }, options)),
      limits,
    );
    if (isPodForRequest(existing, config, request)) {
      waiting?.offer(existing);
      return 'existed';
    }
    throw new ApiCallError(
      {
        reason: 'AlreadyExists',
        message: `pod "${name}" in namespace "${namespace}" already exists and was not created for this event (source "${request.eventSource}", id "${request.eventId}", gateway "${request.gatewayName}")`,
        code: 409,
        retryAfterSeconds: undefined,
      },
      false,
    );
  }
}

function asOutcome(error: unknown): ProvisionOutcome {
  if (!(error instanceof ApiCallError)) throw error;
  return { kind: error.deadlineExceeded ? 'unavailable' : 'failed', failure: error.failure };
}

function failed(reason: string, message: string, code?: number): ProvisionOutcome {
  return { kind: 'failed', failure: { reason, message, code, retryAfterSeconds: undefined } };
}
