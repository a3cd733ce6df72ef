// A simulated kubelet for the Kubernetes API test server: it starts the pods bound to its nodes
// after a delay (Running, a pod IP, its containers ready), or fails them as a real node does when
// told to: an image that cannot be pulled, an init container that exits non-zero. And the
// pod-gateway webhook's containers, for the server's `mutate` option, so that an init container
// is there to fail. Nothing runs: only the status a kubelet would report is written.
import { randomBytes } from 'node:crypto';
import { rfc3339 } from './pods.ts';
import type { KubeApiServer, PodStatus, StoredPod } from './server.ts';

type ContainerStatus = NonNullable<PodStatus['containerStatuses']>[number];
type ContainerState = NonNullable<ContainerStatus['state']>;
type PodCondition = NonNullable<PodStatus['conditions']>[number];
type ConditionState = Omit<PodCondition, 'type'>;

/** How the kubelet fails a pod instead of starting it. */
export type KubeletFailure =
  /** The `client` container's image cannot be pulled: ErrImagePull, then ImagePullBackOff. */
  | { readonly kind: 'pull' }
  /** The first init container exits non-zero, then backs off: CrashLoopBackOff. */
  | { readonly kind: 'init'; readonly exitCode?: number; readonly message?: string };

export interface KubeletOptions {
  /** Time from the binding to the pod's first status. */
  readonly startAfterMs: number;
  /** Undefined (or a function answering undefined): the pod starts and gets ready. */
  readonly fail?: (pod: StoredPod) => KubeletFailure | undefined;
}

export interface Kubelet {
  /** Pods that reached Running and ready. */
  readonly started: number;
  stop(): void;
}

/** The pod-gateway webhook's names (angelnu/gateway-admision-controller internal/mutation). */
export const GATEWAY_INIT = 'gateway-init';

/**
 * Follows the kubelet's status for a pod bound to its node (pkg/kubelet/kubelet_pods.go,
 * generateAPIPodStatus; pkg/kubelet/status/status_manager.go): the sandbox gets an IP, the init
 * containers run to completion in order, then the containers start; Ready once they all are.
 * A failed pull leaves the container waiting with ErrImagePull, then ImagePullBackOff
 * (pkg/kubelet/images/image_manager.go); a failed init container is terminated with reason
 * Error, then waits in CrashLoopBackOff (pkg/kubelet/kuberuntime/kuberuntime_manager.go); in both
 * the pod stays Pending.
 */
export function startKubelet(server: KubeApiServer, options: KubeletOptions): Kubelet {
  const timers = new Set<NodeJS.Timeout>();
  const seen = new Set<string>();
  let started = 0;
  let nextIp = 1;
  const later = (ms: number, act: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      act();
    }, ms);
    timers.add(timer);
  };
  /** Writes the status if the pod is still the one bound (same uid). */
  const report = (pod: StoredPod, status: PodStatus) => {
    const { namespace = '', name = '', uid } = pod.metadata ?? {};
    if (server.pod(namespace, name)?.metadata?.uid !== uid) return false;
    server.updatePodStatus(namespace, name, status);
    return true;
  };
  const run = (pod: StoredPod) => {
    const ip = `10.244.${Math.floor(nextIp / 250)}.${(nextIp % 250) + 2}`;
    nextIp += 1;
    const failure = options.fail?.(pod);
    const sandbox: PodStatus = {
      hostIP: '172.18.0.2',
      hostIPs: [{ ip: '172.18.0.2' }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: rfc3339(),
    };
    if (failure?.kind === 'pull') {
      const waiting = pullFailure(pod);
      report(pod, { ...sandbox, ...waiting.initially });
      later(options.startAfterMs, () => report(pod, waiting.afterwards));
      return;
    }
    if (failure?.kind === 'init' && (pod.spec?.initContainers ?? []).length > 0) {
      const crash = initFailure(pod, failure);
      report(pod, { ...sandbox, ...crash.initially });
      later(options.startAfterMs, () => report(pod, crash.afterwards));
      return;
    }
    if (report(pod, { ...sandbox, ...runningStatus(pod) })) started += 1;
  };
  const unsubscribe = server.onChange((type, pod) => {
    const uid = pod.metadata?.uid ?? '';
    if (type !== 'DELETED' && pod.metadata?.deletionTimestamp && pod.spec?.nodeName) {
      // A graceful deletion: the kubelet stops the containers, then removes the pod for good
      // (pkg/kubelet/status/status_manager.go, canBeDeleted then a delete with grace 0).
      later(options.startAfterMs, () => {
        const { namespace = '', name = '' } = pod.metadata ?? {};
        if (server.pod(namespace, name)?.metadata?.uid === uid) server.deletePod(namespace, name);
      });
      return;
    }
    if (type === 'DELETED' || !pod.spec?.nodeName || pod.status?.phase !== 'Pending') return;
    if (seen.has(uid)) return;
    seen.add(uid);
    later(options.startAfterMs, () => run(pod));
  });
  return {
    get started() {
      return started;
    },
    stop() {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

function containerId(): string {
  return `containerd://${randomBytes(32).toString('hex')}`;
}

function conditions(initialized: ConditionState, ready: ConditionState): PodCondition[] {
  const now = rfc3339();
  return [
    { type: 'PodReadyToStartContainers', status: 'True', lastTransitionTime: now },
    { ...initialized, type: 'Initialized', lastTransitionTime: now },
    { ...ready, type: 'Ready', lastTransitionTime: now },
    { ...ready, type: 'ContainersReady', lastTransitionTime: now },
  ];
}

function completedInit(pod: StoredPod): ContainerStatus[] {
  const now = rfc3339();
  return (pod.spec?.initContainers ?? []).map((container) => ({
    name: container.name,
    image: container.image ?? '',
    imageID: '',
    containerID: containerId(),
    ready: true,
    started: false,
    restartCount: 0,
    state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } },
  }));
}

function runningStatus(pod: StoredPod): PodStatus {
  const now = rfc3339();
  return {
    phase: 'Running',
    conditions: conditions({ status: 'True' }, { status: 'True' }),
    initContainerStatuses: completedInit(pod),
    containerStatuses: (pod.spec?.containers ?? []).map((container) => ({
      name: container.name,
      image: container.image ?? '',
      imageID: '',
      containerID: containerId(),
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

function waitingContainers(pod: StoredPod, failing: string, reason: string, message: string) {
  return (pod.spec?.containers ?? []).map(
    (container): ContainerStatus => ({
      name: container.name,
      image: container.image ?? '',
      imageID: '',
      ready: false,
      started: false,
      restartCount: 0,
      state: {
        waiting: container.name === failing ? { reason, message } : { reason: 'PodInitializing' },
      },
    }),
  );
}

function pullFailure(pod: StoredPod): { initially: PodStatus; afterwards: PodStatus } {
  const image = pod.spec?.containers.find((c) => c.name === 'client')?.image ?? '';
  // As containerd names it (distribution/reference ParseNormalizedNamed): Docker Hub by default.
  const [first = ''] = image.split('/');
  const hasRegistry = image.includes('/') && (/[.:]/.test(first) || first === 'localhost');
  const reference = hasRegistry
    ? image
    : `docker.io/${image.includes('/') ? '' : 'library/'}${image}`;
  const tagged = /:[^/]+$/.test(reference) ? reference : `${reference}:latest`;
  const notReady = {
    status: 'False',
    reason: 'ContainersNotReady',
    message: 'containers with unready status: [client]',
  };
  const status = (reason: string, message: string): PodStatus => ({
    phase: 'Pending',
    conditions: conditions({ status: 'True' }, notReady),
    initContainerStatuses: completedInit(pod),
    containerStatuses: waitingContainers(pod, 'client', reason, message).map((s) =>
      s.name === 'client' ? s : { ...s, state: { running: { startedAt: rfc3339() } } },
    ),
  });
  return {
    initially: status(
      'ErrImagePull',
      `rpc error: code = NotFound desc = failed to pull and unpack image "${tagged}": failed to resolve reference "${tagged}": ${tagged}: not found`,
    ),
    afterwards: status('ImagePullBackOff', `Back-off pulling image "${image}"`),
  };
}

function initFailure(
  pod: StoredPod,
  failure: { readonly exitCode?: number; readonly message?: string },
): { initially: PodStatus; afterwards: PodStatus } {
  const [init] = pod.spec?.initContainers ?? [];
  const name = init?.name ?? '';
  const now = rfc3339();
  const terminated = {
    exitCode: failure.exitCode ?? 1,
    reason: 'Error',
    message: failure.message,
    startedAt: now,
    finishedAt: now,
  };
  const initStatus = (state: ContainerState, restartCount: number) => ({
    name,
    image: init?.image ?? '',
    imageID: '',
    containerID: containerId(),
    ready: false,
    started: false,
    restartCount,
    state,
    ...(restartCount > 0 ? { lastState: { terminated } } : {}),
  });
  const status = (state: ContainerState, restartCount: number): PodStatus => ({
    phase: 'Pending',
    conditions: conditions(
      {
        status: 'False',
        reason: 'ContainersNotInitialized',
        message: `containers with incomplete status: [${name}]`,
      },
      {
        status: 'False',
        reason: 'ContainersNotReady',
        message: `containers with unready status: [${(pod.spec?.containers ?? []).map((c) => c.name).join(' ')}]`,
      },
    ),
    initContainerStatuses: [initStatus(state, restartCount)],
    containerStatuses: waitingContainers(pod, '', '', ''),
  });
  const { namespace = '', name: podName = '', uid = '' } = pod.metadata ?? {};
  return {
    initially: status({ terminated }, 0),
    afterwards: status(
      {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off 10s restarting failed container=${name} pod=${podName}_${namespace}(${uid})`,
        },
      },
      1,
    ),
  };
}

/** The pod's state in a few words, as `kubectl get pods` shows it: Pending, Init:Error, Running (ready, 10.244.0.2). */
export function describePodState(pod: StoredPod): string {
  const status = pod.status ?? {};
  const init = status.initContainerStatuses?.find((s) => s.state?.terminated?.exitCode !== 0);
  const initReason = init?.state?.waiting?.reason ?? init?.state?.terminated?.reason;
  if (initReason && initReason !== 'PodInitializing') return `Init:${initReason}`;
  const waiting = status.containerStatuses?.find(
    (s) => s.state?.waiting?.reason && s.state.waiting.reason !== 'PodInitializing',
  );
  if (waiting?.state?.waiting?.reason) return waiting.state.waiting.reason;
  const ready = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const where = pod.spec?.nodeName ? ` on ${pod.spec.nodeName}` : '';
  return `${status.phase ?? 'Pending'}${ready ? ` (ready, ${status.podIP ?? 'no IP'})` : ''}${where}`;
}
