// The function's own pods, as the shared watch selects them.
import type { V1Pod } from '@kubernetes/client-node';
import type { ProvisionerConfig } from '../config/config.ts';
import type { KubeClient } from '../kube/client.ts';
import { PodWatch } from '../kube/pod-watch.ts';
import { MANAGER_NAME } from './client-pod.ts';

/** Every pod the function creates carries this label (src/pods/client-pod.ts), and no other pod should. */
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
