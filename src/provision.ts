// Provisioning: create the client pod for a request, once, whatever the number of deliveries.
import type { ProvisionerConfig } from './config.ts';
import { type ApiFailure, describeApiFailure, type KubeClient } from './kube.ts';
import { timeApiCall } from './metrics.ts';
import { buildPod, isPodForRequest } from './pod.ts';
import type { ProvisionRequest } from './request.ts';

export type ProvisionOutcome =
  | {
      readonly kind: 'created' | 'existed';
      readonly podName: string;
      readonly namespace: string;
    }
  | { readonly kind: 'failed'; readonly failure: ApiFailure };

export async function provision(
  request: ProvisionRequest,
  config: ProvisionerConfig,
  kube: KubeClient,
): Promise<ProvisionOutcome> {
  const pod = buildPod(config, request);
  const name = pod.metadata?.name ?? '';
  const namespace = config.clientNamespace;
  try {
    await timeApiCall('create', () => kube.api.createNamespacedPod({ namespace, body: pod }));
    return { kind: 'created', podName: name, namespace };
  } catch (error) {
    const failure = describeApiFailure(error);
    if (failure.code !== 409) return { kind: 'failed', failure };
  }
  // 409: the name is taken. Deterministic names make that a redelivery, unless the pod
  // there was made for another event.
  try {
    const existing = await timeApiCall('get', () =>
      kube.api.readNamespacedPod({ name, namespace }),
    );
    if (isPodForRequest(existing, config, request)) {
      return { kind: 'existed', podName: name, namespace };
    }
    return {
      kind: 'failed',
      failure: {
        reason: 'AlreadyExists',
        message: `pod "${name}" in namespace "${namespace}" already exists and was not created for this event (source "${request.eventSource}", id "${request.eventId}", gateway "${request.gatewayName}")`,
        code: 409,
        retryAfterSeconds: undefined,
      },
    };
  } catch (error) {
    return { kind: 'failed', failure: describeApiFailure(error) };
  }
}
