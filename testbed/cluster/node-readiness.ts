// Watches the fake nodes' Ready condition for as long as a test run lasts, so a suite can assert
// that they never left Ready (kube-controller-manager marks a node NotReady, and its pods
// Ready=False, when no Lease in kube-node-lease is renewed within its grace period).
import * as k8s from '@kubernetes/client-node';

export interface NodeReadinessWatch {
  /** When the watch began (ms since the epoch). */
  readonly since: number;
  /** Every "node: status (reason)" seen for a Ready condition that was not True. */
  readonly notReady: readonly string[];
  stop(): void;
}

function readyCondition(node: k8s.V1Node): k8s.V1NodeCondition | undefined {
  return node.status?.conditions?.find((condition) => condition.type === 'Ready');
}

/** What a watch event says about a node leaving Ready, or undefined when it is Ready. */
export function notReadyReport(node: k8s.V1Node): string | undefined {
  const ready = readyCondition(node);
  if (ready === undefined || ready.status === 'True') return undefined;
  return `${node.metadata?.name}: Ready=${ready.status} (${ready.reason ?? 'no reason'})`;
}

/**
 * Watches every Node from now on; a watch the server ends (a kube-apiserver restart, its own
 * timeout) starts again after a short pause, from a fresh list.
 */
export function watchNodeReadiness(config: k8s.KubeConfig): NodeReadinessWatch {
  const notReady: string[] = [];
  const watch = new k8s.Watch(config);
  let stopped = false;
  let current: AbortController | undefined;
  const begin = async (): Promise<void> => {
    if (stopped) return;
    const restart = () => {
      if (!stopped) setTimeout(() => void begin(), 500);
    };
    try {
      current = await watch.watch(
        '/api/v1/nodes',
        {},
        (_phase: string, node: k8s.V1Node) => {
          const report = notReadyReport(node);
          if (report !== undefined) notReady.push(report);
        },
        restart,
      );
    } catch {
      restart();
    }
  };
  void begin();
  return {
    since: Date.now(),
    notReady,
    stop: () => {
      stopped = true;
      current?.abort();
    },
  };
}
