// Provisioning: create the client pod for a request, once, whatever the number of deliveries.
import { ApiCallError, type CallLimits, callApi } from './api-call.ts';
import type { ProvisionerConfig } from './config.ts';
import { differencesFrom } from './fingerprint.ts';
import type { ApiFailure, KubeClient } from './kube.ts';
import { timeApiCall } from './metrics.ts';
import { buildPod, gatewayOf, isPodForEvent } from './pod.ts';
import type { ProvisionRequest } from './request.ts';
import { waitUntilScheduled } from './schedule.ts';

export type ProvisionOutcome =
  | {
      readonly kind: 'created' | 'existed';
      readonly podName: string;
      readonly namespace: string;
      /** With WAIT_FOR=scheduled: the node the pod was placed on. */
      readonly nodeName: string | undefined;
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
): Promise<ProvisionOutcome> {
  const limits: CallLimits = { timeoutMs: config.apiTimeoutMs, deadline };
  const pod = buildPod(config, request);
  const name = pod.metadata?.name ?? '';
  const namespace = config.clientNamespace;
  let kind: 'created' | 'existed';
  try {
    kind = await createOrFind();
  } catch (error) {
    return asOutcome(error);
  }
  if (config.waitFor === 'created') return { kind, podName: name, namespace, nodeName: undefined };

  const state = await waitUntilScheduled(kube, namespace, name, deadline);
  switch (state.kind) {
    case 'scheduled':
      return { kind, podName: name, namespace, nodeName: state.nodeName };
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
          reason: 'SchedulingTimeout',
          message: `pod "${name}" was not scheduled before the deadline`,
          code: undefined,
          retryAfterSeconds: undefined,
        },
      };
  }

  /** Creates the pod; on 409 reads it back: deterministic names make that a redelivery. */
  async function createOrFind(): Promise<'created' | 'existed'> {
    try {
      await callApi(
        (options) =>
          timeApiCall('create', () =>
            kube.api.createNamespacedPod({ namespace, body: pod }, options),
          ),
        limits,
      );
      return 'created';
    } catch (error) {
      if (!(error instanceof ApiCallError) || error.failure.code !== 409) throw error;
    }
    const existing = await callApi(
      (options) =>
        timeApiCall('get', () => kube.api.readNamespacedPod({ name, namespace }, options)),
      limits,
    );
    if (!isPodForEvent(existing, request)) {
      throw alreadyExists(
        `pod "${name}" in namespace "${namespace}" already exists and was not created for this event (source "${request.eventSource}", id "${request.eventId}")`,
      );
    }
    const differences = differencesFrom(existing, gatewayOf(existing, config), request);
    if (differences.length === 0) return 'existed';
    throw alreadyExists(
      `pod "${name}" in namespace "${namespace}" was made for an earlier event with the same source and id, which asked for something else: ${differences.join(', ')} differ(s). An event id stands for one content: send other data under a new id`,
    );
  }
}

function alreadyExists(message: string): ApiCallError {
  return new ApiCallError(
    { reason: 'AlreadyExists', message, code: 409, retryAfterSeconds: undefined },
    false,
  );
}

function asOutcome(error: unknown): ProvisionOutcome {
  if (!(error instanceof ApiCallError)) throw error;
  return { kind: error.deadlineExceeded ? 'unavailable' : 'failed', failure: error.failure };
}

function failed(reason: string, message: string, code?: number): ProvisionOutcome {
  return { kind: 'failed', failure: { reason, message, code, retryAfterSeconds: undefined } };
}
