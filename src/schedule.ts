// WAIT_FOR=scheduled: watch the client pod until the scheduler places it or says it cannot.
import { type V1Pod, Watch } from '@kubernetes/client-node';
import type { KubeClient } from './kube.ts';

export type ScheduleState =
  | { readonly kind: 'scheduled'; readonly nodeName: string }
  | { readonly kind: 'unschedulable'; readonly message: string }
  | { readonly kind: 'pending' }
  /** The watch itself was refused (401/403/404): waiting longer will not help. */
  | { readonly kind: 'refused'; readonly code: number; readonly message: string };

/** Where the scheduler stands on a pod, from its PodScheduled condition. */
export function scheduleState(pod: V1Pod): ScheduleState {
  const condition = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (condition?.status === 'True' && pod.spec?.nodeName) {
    return { kind: 'scheduled', nodeName: pod.spec.nodeName };
  }
  if (condition?.status === 'False' && condition.reason === 'Unschedulable') {
    return { kind: 'unschedulable', message: condition.message ?? 'no node fits the pod' };
  }
  return { kind: 'pending' };
}

/** Watches until the pod is scheduled or unschedulable; `pending` when the deadline passes. */
export async function waitUntilScheduled(
  kube: KubeClient,
  namespace: string,
  name: string,
  deadline: number,
): Promise<ScheduleState> {
  const watch = new Watch(kube.kubeConfig);
  while (Date.now() < deadline) {
    const state = await watchOnce(watch, namespace, name, deadline);
    if (state.kind !== 'pending') return state;
    // The watch ended early (the server closed it, or a connection error): watch again.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { kind: 'pending' };
}

function watchOnce(
  watch: Watch,
  namespace: string,
  name: string,
  deadline: number,
): Promise<ScheduleState> {
  return new Promise((resolve) => {
    let controller: AbortController | undefined;
    let settled = false;
    const settle = (state: ScheduleState) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      controller?.abort();
      resolve(state);
    };
    const timer = setTimeout(() => settle({ kind: 'pending' }), Math.max(0, deadline - Date.now()));
    // A watch without resourceVersion starts with the pod's current state (ADDED).
    watch
      .watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { fieldSelector: `metadata.name=${name}` },
        (type: string, pod: V1Pod) => {
          if (type === 'DELETED') {
            settle({
              kind: 'unschedulable',
              message: 'the pod was deleted before it was scheduled',
            });
            return;
          }
          const state = scheduleState(pod);
          if (state.kind !== 'pending') settle(state);
        },
        (error: unknown) => settle(refusal(error) ?? { kind: 'pending' }),
      )
      .then(
        (started) => {
          controller = started;
          if (settled) started.abort();
        },
        (error: unknown) => settle(refusal(error) ?? { kind: 'pending' }),
      );
  });
}

function refusal(error: unknown): ScheduleState | undefined {
  const code =
    typeof error === 'object' && error !== null && 'statusCode' in error
      ? Number(error.statusCode)
      : undefined;
  if (code === 401 || code === 403 || code === 404) {
    return {
      kind: 'refused',
      code,
      message: `the Kubernetes API refused to watch pods: HTTP ${code}`,
    };
  }
  return undefined;
}
