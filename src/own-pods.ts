// The function's own pods, as the shared watch selects them.
import type { V1Pod } from '@kubernetes/client-node';
import { type CallLimits, callApi } from './api-call.ts';
import type { ProvisionerConfig } from './config.ts';
import type { KubeClient } from './kube.ts';
import { timeApiCall } from './metrics.ts';
import { MANAGER_NAME } from './pod.ts';
import { PodWatch } from './pod-watch.ts';

/** Every pod the function creates carries this label (src/pod.ts), and no other pod should. */
export const OWN_PODS_SELECTOR = `app.kubernetes.io/managed-by=${MANAGER_NAME}`;

/** Whether the function made this pod: only such pods are ever deleted (release, sweep). */
export function isOwnPod(pod: V1Pod, clientNamespace: string): boolean {
  return (
    pod.metadata?.namespace === clientNamespace &&
    pod.metadata.labels?.['app.kubernetes.io/managed-by'] === MANAGER_NAME
  );
}

/** Seconds since the pod was created; undefined when the API gave no creationTimestamp. */
export function podAgeSeconds(pod: V1Pod, now: number = Date.now()): number | undefined {
  const created = pod.metadata?.creationTimestamp;
  if (created === undefined) return undefined;
  const time = new Date(created).getTime();
  return Number.isNaN(time) ? undefined : Math.max(0, (now - time) / 1000);
}

/**
 * Deletes the pod read before, with its uid as a precondition: a pod of the same name made
 * meanwhile by someone else is not touched (the API answers 409). Throws ApiCallError.
 */
export async function deleteThisPod(
  kube: KubeClient,
  pod: V1Pod,
  gracePeriodSeconds: number | undefined,
  limits: CallLimits,
): Promise<void> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  await callApi(
    (options) =>
      timeApiCall('delete', () =>
        kube.api.deleteNamespacedPod(
          {
            name,
            namespace,
            gracePeriodSeconds,
            body: { preconditions: { uid: pod.metadata?.uid } },
          },
          options,
        ),
      ),
    limits,
  );
}

/** The watch on the client namespace, started now so the first waiting event finds it ready. */
export function watchOwnPods(config: ProvisionerConfig, kube: KubeClient): PodWatch {
  const watch = new PodWatch({
    kubeConfig: kube.kubeConfig,
    api: kube.api,
    namespace: config.clientNamespace,
    labelSelector: OWN_PODS_SELECTOR,
    apiTimeoutMs: config.apiTimeoutMs,
  });
  watch.start();
  return watch;
}
