// A small API Priority and Fairness share for one ServiceAccount (flowcontrol.apiserver.k8s.io/v1):
// a PriorityLevelConfiguration with a tiny nominal concurrency, no borrowing and one short queue,
// and a FlowSchema that sends every request of the account there. Past its few seats and its
// queue, kube-apiserver answers 429 with Retry-After, as a busy cluster does to a noisy client.
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../eventually.ts';

export interface ThrottleOptions {
  /** The object names (FlowSchema and PriorityLevelConfiguration alike). */
  readonly name: string;
  readonly serviceAccount: { readonly namespace: string; readonly name: string };
  /**
   * Its share of kube-apiserver's concurrency: NominalCL = ceil(ServerCL × shares / Σ shares),
   * about 3 seats of the default 600 for 1 against the built-in levels' 245.
   */
  readonly shares?: number;
  /** Requests waiting beyond the seats; one queue, so the rest are refused at once. */
  readonly queueLength?: number;
}

/** A level nobody lends to or borrows from: its own few seats and one queue. */
export function priorityLevelOf(options: ThrottleOptions): k8s.V1PriorityLevelConfiguration {
  return {
    apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
    kind: 'PriorityLevelConfiguration',
    metadata: { name: options.name },
    spec: {
      type: 'Limited',
      limited: {
        nominalConcurrencyShares: options.shares ?? 1,
        lendablePercent: 0,
        borrowingLimitPercent: 0,
        limitResponse: {
          type: 'Queue',
          queuing: { queues: 1, handSize: 1, queueLengthLimit: options.queueLength ?? 2 },
        },
      },
    },
  };
}

/** Every request of the ServiceAccount, resource or not, before the built-in schemas match it. */
export function flowSchemaOf(options: ThrottleOptions): k8s.V1FlowSchema {
  return {
    apiVersion: 'flowcontrol.apiserver.k8s.io/v1',
    kind: 'FlowSchema',
    metadata: { name: options.name },
    spec: {
      priorityLevelConfiguration: { name: options.name },
      // Lower matches first; the built-in `service-accounts` schema is 9000.
      matchingPrecedence: 500,
      distinguisherMethod: { type: 'ByUser' },
      rules: [
        {
          subjects: [{ kind: 'ServiceAccount', serviceAccount: options.serviceAccount }],
          resourceRules: [
            {
              verbs: ['*'],
              apiGroups: ['*'],
              resources: ['*'],
              namespaces: ['*'],
              clusterScope: true,
            },
          ],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
        },
      ],
    },
  };
}

export interface Throttle {
  /** Deletes both objects and waits until the account's requests are classified elsewhere. */
  remove(): Promise<void>;
}

/**
 * Creates the level and the schema as `admin`, then waits until a request made with `subject`
 * (the ServiceAccount's own kubeconfig) is classified by the new schema: kube-apiserver's
 * X-Kubernetes-PF-FlowSchema-UID answer header names the schema that took it.
 */
export async function throttle(
  admin: k8s.KubeConfig,
  subject: k8s.KubeConfig,
  options: ThrottleOptions,
): Promise<Throttle> {
  const api = admin.makeApiClient(k8s.FlowcontrolApiserverV1Api);
  await api.createPriorityLevelConfiguration({ body: priorityLevelOf(options) });
  const schema = await api.createFlowSchema({ body: flowSchemaOf(options) });
  const uid = schema.metadata?.uid;
  if (uid === undefined) throw new Error(`FlowSchema ${options.name} came back without a uid`);
  await eventually(
    `kube-apiserver to classify ${options.serviceAccount.name}'s requests by ${options.name}`,
    async () => (await classifiedBy(subject)) === uid,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return {
    remove: async () => {
      await api.deleteFlowSchema({ name: options.name });
      await api.deletePriorityLevelConfiguration({ name: options.name });
      await eventually(
        `kube-apiserver to stop classifying by ${options.name}`,
        async () => (await classifiedBy(subject)) !== uid,
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    },
  };
}

/** The uid of the FlowSchema that classified a request of `subject` (a 429 may come: retried). */
async function classifiedBy(subject: k8s.KubeConfig): Promise<string | undefined> {
  const core = subject.makeApiClient(k8s.CoreV1Api);
  const namespace = subject.getContextObject(subject.getCurrentContext())?.namespace ?? 'default';
  try {
    const answer = await core.listNamespacedPodWithHttpInfo({ namespace, limit: 1 });
    return answer.headers['x-kubernetes-pf-flowschema-uid'];
  } catch (error) {
    if (error instanceof k8s.ApiException) return error.headers['x-kubernetes-pf-flowschema-uid'];
    throw error;
  }
}
