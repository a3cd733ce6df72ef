// `npm run dev -- --cluster`: the sandbox against a real control plane (testbed/cluster/: etcd,
// kube-apiserver, controller-manager, scheduler and kwok nodes built from Go modules, with the
// pod-gateway webhooks as deploy/ registers them), for users who have Go.
import * as k8s from '@kubernetes/client-node';
import { startCluster } from '../../testbed/cluster/cluster.ts';
import { loadKubeConfig } from '../../testbed/cluster/manifests.ts';
import { gatewayOf } from './in-memory.ts';
import type { SandboxKubernetes } from './kubernetes.ts';

const POLL_MS = 1000;

export async function startClusterKubernetes(options: {
  readonly dir: string;
  readonly namespace: string;
  readonly gatewayLabel: string;
  readonly gatewayAnnotation: string;
  /** Also Knative Serving (`--knative`). */
  readonly knative: boolean;
}): Promise<SandboxKubernetes> {
  console.log(
    '[sandbox] starting the control plane (npm run cluster; the first build takes minutes)',
  );
  const cluster = await startCluster({
    dir: options.dir,
    knative: options.knative,
    log: (line: string) => console.log(`[sandbox] ${line}`),
  });
  const pods = loadKubeConfig(cluster.adminKubeconfig).makeApiClient(k8s.CoreV1Api);
  let timer: NodeJS.Timeout | undefined;
  return {
    kubeconfig: cluster.functionKubeconfig,
    adminKubeconfig: cluster.adminKubeconfig,
    title:
      'LOCAL SANDBOX: pods are created in a control plane on this machine (kwok nodes), not your cluster',
    banner: `  Kubernetes API  ${cluster.server}   (a REAL kube-apiserver on etcd; namespace ${options.namespace})
  nodes           ${cluster.nodeNames.join(', ')}: kwok nodes (a real scheduler places the pods;
                  kwok reports them Running and ready; nothing runs in them)
  The pod-gateway webhooks of deploy/pod-gateway-*-values.yaml add their containers; the
  function runs with a bound token of deploy/rbac.yaml's ServiceAccount (${cluster.functionKubeconfig}).`,
    reportPods: () => {
      timer = reportPodChanges(pods, options);
    },
    close: async () => {
      if (timer) clearInterval(timer);
      await cluster.stop();
    },
  };
}

/** A line for each pod as it appears in the client namespace, and as its state changes. */
function reportPodChanges(
  pods: k8s.CoreV1Api,
  options: {
    readonly namespace: string;
    readonly gatewayLabel: string;
    readonly gatewayAnnotation: string;
  },
): NodeJS.Timeout {
  const told = new Map<string, string>();
  const timer = setInterval(async () => {
    let list: k8s.V1PodList;
    try {
      list = await pods.listNamespacedPod({ namespace: options.namespace });
    } catch {
      return; // the next poll tells
    }
    for (const pod of list.items) {
      const name = pod.metadata?.name ?? '';
      const state = describe(pod);
      const before = told.get(name);
      if (before === state) continue;
      told.set(name, state);
      if (before === undefined) {
        console.log(
          `[sandbox] pod created: ${options.namespace}/${name} (gateway ${gatewayOf(pod, options)})`,
        );
      }
      console.log(`[sandbox] pod ${name}: ${state}`);
    }
  }, POLL_MS);
  timer.unref();
  return timer;
}

function describe(pod: k8s.V1Pod): string {
  const phase = pod.status?.phase ?? 'Pending';
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const node = pod.spec?.nodeName ? ` on ${pod.spec.nodeName}` : '';
  return `${phase}${ready ? ', ready' : ''}${node}`;
}
