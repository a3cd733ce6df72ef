// WAIT_FOR=ready: wait, through the shared pod watch, until the client pod is Running and its
// `client` container ready (on a routed namespace: the gateway's init container has set up the
// tunnel), or until a container shows it will not get there on its own.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { RoutingCheck } from '../config/config.ts';
import { REASON } from '../formats/reasons.ts';
import type { Decide, PodSeen, WaitEnd } from '../kube/pod-watch.ts';
import { CONTAINER_NAME } from './client-pod.ts';
import { gatewayInitCompleted } from './routing.ts';
import { type ScheduleState, scheduleDecision, scheduleState } from './wait-scheduled.ts';

/** Where a waited-for pod stands: a ScheduleState, or ready, or failed for a container's reason. */
export type PodWaitState =
  | ScheduleState
  | {
      readonly kind: 'ready';
      readonly nodeName: string;
      readonly podIp: string;
      /** The pod as seen ready, for its Event. */
      readonly pod: V1Pod;
    }
  | { readonly kind: 'failed'; readonly reason: string; readonly message: string };

/**
 * The kubelet's waiting reasons that mean the container will not start unless someone acts
 * (kubernetes pkg/kubelet/images/types.go: ErrImagePull, ImagePullBackOff, ErrImageNeverPull,
 * InvalidImageName; pkg/kubelet/container/sync_result.go: CrashLoopBackOff,
 * CreateContainerConfigError, CreateContainerError, RunContainerError).
 */
export const FAILING_WAIT_REASONS: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/**
 * Where the pod stands on the way to ready. With `gatewayInit`, ready also needs the gateway's
 * init container to have completed (the tunnel is set up).
 */
export function readyState(pod: V1Pod, gatewayInit?: string): PodWaitState {
  const schedule = scheduleState(pod);
  if (schedule.kind === 'unschedulable') return schedule;
  const phase = pod.status?.phase;
  const broken =
    containerProblem(pod.status?.initContainerStatuses, 'init container') ??
    containerProblem(pod.status?.containerStatuses, 'container');
  if (broken) return broken;
  if (phase === 'Failed' || phase === 'Succeeded') {
    return {
      kind: 'failed',
      reason: pod.status?.reason || (phase === 'Failed' ? REASON.PodFailed : REASON.PodSucceeded),
      message: `the pod ended ${phase} before it was ready${pod.status?.message ? `: ${pod.status.message}` : ''}`,
    };
  }
  const client = pod.status?.containerStatuses?.find((status) => status.name === CONTAINER_NAME);
  const routed = gatewayInit === undefined || gatewayInitCompleted(pod, gatewayInit);
  if (
    phase === 'Running' &&
    client?.ready === true &&
    routed &&
    pod.spec?.nodeName &&
    pod.status?.podIP
  ) {
    return { kind: 'ready', nodeName: pod.spec.nodeName, podIp: pod.status.podIP, pod };
  }
  return { kind: 'pending' };
}

/** The first container that cannot become ready on its own: its own reason and message. */
function containerProblem(
  statuses: readonly V1ContainerStatus[] | undefined,
  what: string,
): PodWaitState | undefined {
  for (const status of statuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && FAILING_WAIT_REASONS.has(waiting.reason)) {
      const last = status.lastState?.terminated;
      const exited = last
        ? `; it last exited with code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}`
        : '';
      return {
        kind: 'failed',
        reason: waiting.reason,
        message: `${what} "${status.name}" is waiting: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}${exited}`,
      };
    }
    const terminated = status.state?.terminated;
    // An init container that exits non-zero has failed the pod's start; one that exits 0 is done.
    // A main container that ends before the pod is ready will not be ready either.
    if (terminated && (what === 'container' || terminated.exitCode !== 0)) {
      return {
        kind: 'failed',
        reason: terminated.reason || 'Error',
        message: `${what} "${status.name}" exited with code ${terminated.exitCode}${terminated.message ? `: ${terminated.message}` : ''}`,
      };
    }
  }
  return undefined;
}

/** The decision a waiter of the pod watch makes: undefined while the pod is on its way. */
export function readyDecision(gatewayInit?: string): Decide<PodWaitState> {
  return (seen: PodSeen) => {
    if (seen.deleted) {
      return {
        kind: 'failed',
        reason: REASON.PodDeleted,
        message: 'the pod was deleted before it was ready',
      };
    }
    const state = readyState(seen.pod, gatewayInit);
    return state.kind === 'pending' ? undefined : state;
  };
}

/** The decision for WAIT_FOR: scheduled or ready (with the routing check: the gateway's init done). */
export function waitDecision(
  waitFor: 'scheduled' | 'ready',
  routing: RoutingCheck | undefined,
): Decide<PodWaitState> {
  return waitFor === 'ready' ? readyDecision(routing?.initContainer) : scheduleDecision;
}

/** How a wait ended, as a PodWaitState: `pending` when the deadline came first. */
export function waitOutcome(end: WaitEnd<PodWaitState>): PodWaitState {
  switch (end.kind) {
    case 'decided':
      return end.value;
    case 'timeout':
      return { kind: 'pending' };
    case 'refused':
      return end;
  }
}
