// The function's calls on pods, one function each. Every call runs under the event's limits
// (src/kube/api-call.ts: timeout, retries while transient) and is timed by verb for the API metric.
import type { ConfigurationOptions, CoreV1Api, V1Pod, V1PodList } from '@kubernetes/client-node';
import { timeApiCall } from '../observability/metrics.ts';
import { type CallLimits, callApi } from './api-call.ts';
import type { ApiFailure, KubeClient } from './client.ts';
import { type ApiRoute, POD_ROUTES, tracedAttempts } from './traced-call.ts';
import { postPod } from './transport.ts';

/** `call` as is, or each attempt a client span when the event is traced. */
function traced<T>(
  limits: CallLimits,
  route: ApiRoute,
  call: (options: ConfigurationOptions) => Promise<T>,
): (options: ConfigurationOptions) => Promise<T> {
  return limits.span ? tracedAttempts(limits.span, route, call) : call;
}

/**
 * Creates the pod. `beforeRetry`, given, is asked after each transient failure: a pod it returns
 * (one an earlier delivery made) ends the call.
 */
export function createPod(
  kube: KubeClient,
  namespace: string,
  pod: V1Pod,
  limits: CallLimits,
  beforeRetry?: (failure: ApiFailure) => Promise<V1Pod | undefined>,
): Promise<V1Pod> {
  return callApi(
    traced(limits, POD_ROUTES.create, (options) =>
      timeApiCall('create', () => postPod(kube.kubeConfig, namespace, pod, options)),
    ),
    limits,
    beforeRetry,
  );
}

export function readPod(
  kube: KubeClient,
  name: string,
  namespace: string,
  limits: CallLimits,
): Promise<V1Pod> {
  return callApi(
    traced(limits, POD_ROUTES.get, (options) =>
      timeApiCall('get', () => kube.api.readNamespacedPod({ name, namespace }, options)),
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
    traced(limits, POD_ROUTES.delete, (options) =>
      timeApiCall('delete', () =>
        kube.api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds, body }, options),
      ),
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
  api: CoreV1Api,
  query: PodQuery,
  limitsForPage: () => CallLimits | undefined,
): AsyncGenerator<V1PodList> {
  let next: string | undefined;
  do {
    const limits = limitsForPage();
    if (limits === undefined) return;
    const page = await callApi(
      traced(limits, POD_ROUTES.list, (options) =>
        timeApiCall('list', () => api.listNamespacedPod({ ...query, _continue: next }, options)),
      ),
      limits,
    );
    yield page;
    next = page.metadata?._continue || undefined;
  } while (next !== undefined);
}
