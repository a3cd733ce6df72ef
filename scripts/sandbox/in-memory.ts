// The sandbox's default Kubernetes: the in-memory API test server (testbed/kube-api-server/), with
// the pod-gateway webhooks of deploy/, a simulated scheduler and kubelet, and deploy/rbac.yaml's
// Role for the function. Nothing runs in its pods: only their status changes.
import { join } from 'node:path';
import { deployedGatewayWebhooks, deployedNamespace } from '../../testbed/deployed-gateways.ts';
import { readDeployedRole } from '../../testbed/deployed-role.ts';
import { writeKubeconfigFile } from '../../testbed/kube-api-server/auth.ts';
import {
  describePodState,
  type KubeletFailure,
  startKubelet,
} from '../../testbed/kube-api-server/kubelet.ts';
import { startScheduler } from '../../testbed/kube-api-server/scheduler.ts';
import {
  authorizerFromRules,
  type KubeApiServer,
  podGatewayWebhook,
  startKubeApiServer,
  type Webhook,
} from '../../testbed/kube-api-server/server.ts';
import type { SandboxKubernetes } from './kubernetes.ts';

/** The user of the kubeconfig printed for kubectl, bound to cluster-admin: any request allowed. */
const SANDBOX_ADMIN = 'kubernetes-admin';

export interface Failing {
  readonly init: readonly string[];
  readonly pull: readonly string[];
}

export async function startInMemoryKubernetes(options: {
  readonly dir: string;
  readonly namespace: string;
  readonly gatewayLabel: string;
  readonly gatewayAnnotation: string;
  readonly failing: Failing;
}): Promise<SandboxKubernetes> {
  const { dir, namespace, failing } = options;
  const role = await readDeployedRole();
  const roleAllows = authorizerFromRules(role.rules, namespace);
  const deployed = await deployedGatewayWebhooks();
  const server = await startKubeApiServer({
    namespaces: [await deployedNamespace(namespace)],
    webhooks: [...deployed, ...webhooksForFailingGateways(failing, deployed)],
    user: `system:serviceaccount:${role.namespace}:${role.account}`,
    // The function: what deploy/rbac.yaml's Role grants. The user's kubectl: cluster-admin.
    authorize: (attrs, user) => user === SANDBOX_ADMIN || roleAllows(attrs),
  });
  startSimulatedNodes(server, options.gatewayLabel, failing);
  const kubeconfig = await server.writeKubeconfig(dir);
  const adminKubeconfig = await writeKubeconfigFile(join(dir, 'admin'), {
    url: server.url,
    caPem: server.caPem,
    namespace,
    user: { token: server.issueToken(SANDBOX_ADMIN) },
  });
  const fails = [
    ...failing.init.map((gateway) => `${gateway}: init fails`),
    ...failing.pull.map((gateway) => `${gateway}: pull fails`),
  ];
  return {
    kubeconfig,
    adminKubeconfig,
    title:
      'LOCAL SANDBOX: pods are created in an in-memory Kubernetes API test server, not a cluster',
    banner: `  Kubernetes API  ${server.url}   (in memory; namespace ${namespace})
  nodes           SIMULATED scheduler and kubelet: pods are bound after 0.5 s, Running and
                  ready 1 s later; nothing runs in them${fails.length > 0 ? ` (${fails.join('; ')})` : ''}
  The pods are stored, admitted and validated as a real API server would. The pod-gateway
  webhooks of deploy/pod-gateway-*-values.yaml add their containers (kubectl get pod -o yaml shows
  gateway-init and gateway-sidecar), but nothing routes them. The function may do only what
  deploy/rbac.yaml's Role grants (its kubeconfig: ${kubeconfig}).
  WAIT_FOR=ready npm run dev: done once the pod is ready (--fail-init / --fail-pull GATEWAY: failed).`,
    reportPods: () => reportNewPods(server, namespace, options),
    close: () => server.close(),
  };
}

/**
 * A gateway named only by --fail-init or --fail-pull (no deploy/pod-gateway-NAME-values.yaml)
 * gets a webhook configured as deploy/'s are, so that its pods carry the gateway's containers.
 */
function webhooksForFailingGateways(failing: Failing, deployed: readonly Webhook[]): Webhook[] {
  const names = new Set(deployed.map((webhook) => webhook.name));
  return [...new Set([...failing.init, ...failing.pull])]
    .map((gateway) =>
      podGatewayWebhook({
        gateway,
        gatewayDefault: false,
        gatewayLabelValue: gateway,
        gatewayAnnotationValue: gateway,
      }),
    )
    .filter((webhook) => !names.has(webhook.name));
}

/** The simulated scheduler and kubelet, and a line for each pod state they bring. */
function startSimulatedNodes(server: KubeApiServer, gatewayLabel: string, failing: Failing) {
  startScheduler(server, { bindAfterMs: 500 });
  startKubelet(server, {
    startAfterMs: 1000,
    fail: (pod): KubeletFailure | undefined => {
      const gateway = pod.metadata?.labels?.[gatewayLabel] ?? '';
      if (failing.init.includes(gateway)) return { kind: 'init', message: 'simulated failure' };
      return failing.pull.includes(gateway) ? { kind: 'pull' } : undefined;
    },
  });
  const told = new Map<string, string>();
  server.onChange((type, pod) => {
    const name = pod.metadata?.name ?? '';
    const state = type === 'DELETED' ? 'deleted' : describePodState(pod);
    if (type === 'ADDED' || told.get(name) === state) return;
    told.set(name, state);
    console.log(`[sandbox] pod ${name}: ${state}`);
  });
}

/** Prints each pod as it appears in the sandbox. */
function reportNewPods(
  server: KubeApiServer,
  namespace: string,
  keys: { readonly gatewayLabel: string; readonly gatewayAnnotation: string },
): void {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const pod of server.pods(namespace)) {
      const name = pod.metadata?.name ?? '';
      if (seen.has(name)) continue;
      seen.add(name);
      console.log(`[sandbox] pod created: ${namespace}/${name} (gateway ${gatewayOf(pod, keys)})`);
    }
  }, 200);
  timer.unref();
}

/** The gateway a pod asks for, by the function's label or annotation key. */
export function gatewayOf(
  pod: {
    readonly metadata?: {
      readonly labels?: Record<string, string>;
      readonly annotations?: Record<string, string>;
    };
  },
  keys: { readonly gatewayLabel: string; readonly gatewayAnnotation: string },
): string {
  return (
    (keys.gatewayLabel && pod.metadata?.labels?.[keys.gatewayLabel]) ||
    (keys.gatewayAnnotation && pod.metadata?.annotations?.[keys.gatewayAnnotation]) ||
    '?'
  );
}
