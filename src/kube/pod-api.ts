// The function's calls on pods, one function each. Every call runs under the event's limits
// (src/kube/api-call.ts: timeout, retries while transient), and each attempt is told to the
// client's observer (the API metric) and the event's (its span, when traced).
import type { ConfigurationOptions, V1Pod, V1PodList } from '@kubernetes/client-node';
import { type CallLimits, callApi } from './api-call.ts';
import { type ApiRoute, observed, POD_ROUTES } from './api-observer.ts';
import type { KubeClient } from './client.ts';
import { postPod } from './transport.ts';

/** `call`, each attempt told to the client's observer and the event's. */
function traced<T>(
  kube: Pick<KubeClient, 'observer'>,
  limits: CallLimits,
  route: ApiRoute,
  call: (options: ConfigurationOptions) => Promise<T>,
): (options: ConfigurationOptions) => Promise<T> {
  return observed([kube.observer, limits.observer], route, call);
}

/**
 * One try at creating the pod, for callApi to run and retry: src/handlers/provision.ts makes each
 * try "create, or find the pod an earlier delivery made".
 */
export function createPodAttempt(
  kube: KubeClient,
  namespace: string,
  pod: V1Pod,
  limits: CallLimits,
): (options: ConfigurationOptions) => Promise<V1Pod> {
  return traced(kube, limits, POD_ROUTES.create, (options) =>
    postPod(kube.kubeConfig, namespace, pod, options),
  );
}

export function readPod(
  kube: KubeClient,
  name: string,
  namespace: string,
  limits: CallLimits,
): Promise<V1Pod> {
  return callApi(
    traced(kube, limits, POD_ROUTES.get, (options) =>
      kube.api.readNamespacedPod({ name, namespace }, options),
    ),
    limits,
  );
}

/**
 * Deletes the pod read before, with its uid as a precondition: a pod of the same name made
 * meanwhile by someone else is not touched (the API answers 409). Throws ApiCallError.
 */
export async function deletePod(
  kube: KubeClient,
  pod: V1Pod,
  gracePeriodSeconds: number | undefined,
  limits: CallLimits,
): Promise<void> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? '';
  const body = { preconditions: { uid: pod.metadata?.uid } };
  await callApi(
    traced(kube, limits, POD_ROUTES.delete, (options) =>
      kube.api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds, body }, options),
    ),
    limits,
  );
}

export interface PodQuery {
  readonly namespace: string;
  readonly labelSelector: string;
  /** Pods per page. */
  readonly limit: number;
}

/**
 * Lists the pods page by page, following the server's `continue` token. `limitsForPage` is asked
 * before each page: undefined stops the list there (the caller's deadline is near).
 */
export async function* listPodPages(
  kube: Pick<KubeClient, 'api' | 'observer'>,
  query: PodQuery,
  limitsForPage: () => CallLimits | undefined,
): AsyncGenerator<V1PodList> {
  let next: string | undefined;
  do {
    const limits = limitsForPage();
    if (limits === undefined) return;
    const page = await callApi(
      traced(kube, limits, POD_ROUTES.list, (options) =>
        kube.api.listNamespacedPod({ ...query, _continue: next }, options),
      ),
      limits,
    );
    yield page;
    next = page.metadata?._continue || undefined;
  } while (next !== undefined);
}
