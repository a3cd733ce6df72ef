// WAIT_FOR=scheduled: wait, through the shared pod watch, until the scheduler places the client
// pod or says it cannot.
import type { V1Pod } from '@kubernetes/client-node';
import type { PodSeen } from '../kube/pod-watch.ts';

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

/** The decision a waiter of the pod watch makes: undefined while the pod is still pending. */
export function scheduleDecision(seen: PodSeen): ScheduleState | undefined {
  if (seen.deleted) {
    return { kind: 'unschedulable', message: 'the pod was deleted before it was scheduled' };
  }
  const state = scheduleState(seen.pod);
  return state.kind === 'pending' ? undefined : state;
}
