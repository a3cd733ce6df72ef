// Stands in for the two Knative parts the test control plane does not run, by marking their
// objects ready: the PodAutoscaler (Serving's autoscaler scrapes pod IPs, which kwok invents)
// and the KIngress (no net-kourier or Istio here). Serving's controller then carries on as in a
// cluster: the Revision, Route and Service become Ready from what it reads in their status.
import * as k8s from '@kubernetes/client-node';

type Condition = { type: string; status: string; lastTransitionTime: string };
type Reconciled = k8s.KubernetesObject & { status?: Record<string, unknown> };

const AUTOSCALING = { group: 'autoscaling.internal.knative.dev', version: 'v1alpha1' };
const NETWORKING = { group: 'networking.internal.knative.dev', version: 'v1alpha1' };
/** Where net-kourier's internal gateway would be: what a KIngress's status names. */
const INTERNAL_GATEWAY = 'kourier-internal.kourier-system.svc.cluster.local';

function trueConditions(types: readonly string[], now: string): Condition[] {
  return types.map((type) => ({ type, status: 'True', lastTransitionTime: now }));
}

/** The status Serving's autoscaler writes for a PodAutoscaler whose one pod is up. */
export function podAutoscalerReadyStatus(pa: Reconciled, now: string): Record<string, unknown> {
  const name = pa.metadata?.name ?? '';
  return {
    observedGeneration: pa.metadata?.generation,
    serviceName: name,
    metricsServiceName: `${name}-private`,
    desiredScale: 1,
    actualScale: 1,
    conditions: trueConditions(['Active', 'Ready', 'SKSReady', 'ScaleTargetInitialized'], now),
  };
}

/** The status an ingress implementation writes for a KIngress it has programmed. */
export function ingressReadyStatus(ingress: Reconciled, now: string): Record<string, unknown> {
  const loadBalancer = { ingress: [{ domainInternal: INTERNAL_GATEWAY }] };
  return {
    observedGeneration: ingress.metadata?.generation,
    privateLoadBalancer: loadBalancer,
    publicLoadBalancer: loadBalancer,
    conditions: trueConditions(['LoadBalancerReady', 'NetworkConfigured', 'Ready'], now),
  };
}

function upToDate(object: Reconciled): boolean {
  const status = object.status ?? {};
  const ready = (status.conditions as Condition[] | undefined)?.some(
    (condition) => condition.type === 'Ready' && condition.status === 'True',
  );
  return ready === true && status.observedGeneration === object.metadata?.generation;
}

export interface KnativeStatusHelper {
  stop(): Promise<void>;
}

/** Every 300 ms, marks ready each PodAutoscaler and KIngress whose status is not (yet). */
export function startKnativeStatusHelper(admin: k8s.KubeConfig): KnativeStatusHelper {
  const api = admin.makeApiClient(k8s.CustomObjectsApi);
  const kinds = [
    {
      ...AUTOSCALING,
      resourcePlural: 'podautoscalers',
      plural: 'podautoscalers',
      status: podAutoscalerReadyStatus,
    },
    { ...NETWORKING, resourcePlural: 'ingresses', plural: 'ingresses', status: ingressReadyStatus },
  ];
  const markAll = async () => {
    for (const kind of kinds) {
      const list = (await api.listCustomObjectForAllNamespaces(kind)) as { items: Reconciled[] };
      for (const object of list.items.filter((item) => !upToDate(item))) {
        const body = { ...object, status: kind.status(object, new Date().toISOString()) };
        await api.replaceNamespacedCustomObjectStatus({
          ...kind,
          namespace: object.metadata?.namespace ?? '',
          name: object.metadata?.name ?? '',
          body,
        });
      }
    }
  };
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      // A conflict (the controller wrote meanwhile) or a restart: the next round tries again.
      await markAll().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}
