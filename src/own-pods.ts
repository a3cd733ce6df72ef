// The function's own pods, as the shared watch selects them.
import type { ProvisionerConfig } from './config.ts';
import type { KubeClient } from './kube.ts';
import { MANAGER_NAME } from './pod.ts';
import { PodWatch } from './pod-watch.ts';

/** Every pod the function creates carries this label (src/pod.ts), and no other pod should. */
export const OWN_PODS_SELECTOR = `app.kubernetes.io/managed-by=${MANAGER_NAME}`;

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
