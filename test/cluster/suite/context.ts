// What the end-to-end cases share: the one cluster of the run, the admin's client, the function
// as a real process pointed at the cluster, and the waits and reads the cases repeat.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { CloudEventV1 } from 'cloudevents';
import { ANNOTATIONS, podNameFor } from '../../../src/pods/client-pod.ts';
import { OWN_PODS_SELECTOR } from '../../../src/pods/own-pods.ts';
import { type Cluster, startCluster } from '../../../testbed/cluster/cluster.ts';
import { CLIENT_NAMESPACE, loadKubeConfig } from '../../../testbed/cluster/manifests.ts';
import { eventually } from '../../../testbed/eventually.ts';
import { type RunningFunction, startFunction } from '../../../testbed/function-process.ts';
import { parseExposition } from '../../../testbed/prometheus.ts';
import { pendingEvent, type Reply, sendEvent } from '../../support/events.ts';

export { CLIENT_NAMESPACE };

/** The cluster of the run and the admin's clients; set by `start`, read by the cases. */
export class Suite {
  #cluster: Cluster | undefined;
  #admin: k8s.KubeConfig | undefined;
  #dir = '';

  get cluster(): Cluster {
    if (this.#cluster === undefined) throw new Error('the cluster is not started');
    return this.#cluster;
  }
  get admin(): k8s.KubeConfig {
    if (this.#admin === undefined) throw new Error('the cluster is not started');
    return this.#admin;
  }
  caPem(): Promise<string> {
    return readFile(this.cluster.caFile, 'utf8');
  }
  get core(): k8s.CoreV1Api {
    return this.admin.makeApiClient(k8s.CoreV1Api);
  }

  async start(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'podgateway-suite-'));
    this.#cluster = await startCluster({ dir: this.#dir, log: () => {} });
    this.#admin = loadKubeConfig(this.#cluster.adminKubeconfig);
  }

  async stop(): Promise<void> {
    await this.#cluster?.stop();
    if (this.#dir !== '') await rm(this.#dir, { recursive: true, force: true });
  }

  /** The function's environment against this cluster: the product's defaults but these. */
  functionEnv(extra: Record<string, string> = {}): Record<string, string> {
    return {
      KUBECONFIG: this.cluster.functionKubeconfig,
      CLIENT_NAMESPACE,
      REQUIRE_ROUTING: 'true',
      FUNC_LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  startFunction(extra: Record<string, string> = {}): Promise<RunningFunction> {
    return startFunction({ env: this.functionEnv(extra) });
  }

  readPod(name: string, namespace = CLIENT_NAMESPACE): Promise<k8s.V1Pod> {
    return this.core.readNamespacedPod({ name, namespace });
  }

  async podExists(name: string, namespace = CLIENT_NAMESPACE): Promise<boolean> {
    try {
      await this.readPod(name, namespace);
      return true;
    } catch (error) {
      if (error instanceof k8s.ApiException && error.code === 404) return false;
      throw error;
    }
  }

  /** The function's pods in the namespace, as the admin lists them. */
  async ownPods(namespace = CLIENT_NAMESPACE): Promise<k8s.V1Pod[]> {
    const list = await this.core.listNamespacedPod({ namespace, labelSelector: OWN_PODS_SELECTOR });
    return list.items;
  }

  /** Deletes every pod of the function's in the namespace, at once, and waits until they are gone. */
  async deleteOwnPods(namespace = CLIENT_NAMESPACE): Promise<void> {
    await this.core.deleteCollectionNamespacedPod({
      namespace,
      labelSelector: OWN_PODS_SELECTOR,
      gracePeriodSeconds: 0,
    });
    await waitFor(`no client pods left in ${namespace}`, async () => {
      return (await this.ownPods(namespace)).length === 0;
    });
  }

  /** Merges labels into a namespace's (null removes one). */
  async labelNamespace(name: string, labels: Record<string, string | null>): Promise<void> {
    await this.core.patchNamespace(
      { name, body: { metadata: { labels } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  /**
   * What admission does now to a pod of the gateway in the namespace: a server-side dry run,
   * which admission answers from the same caches a real create meets (namespace labels reach
   * the webhooks' and Pod Security's informers a moment after the patch).
   */
  async dryRunCreate(gateway: string, namespace = CLIENT_NAMESPACE): Promise<DryRun> {
    const body: k8s.V1Pod = {
      metadata: {
        generateName: 'dry-run-',
        labels: { setGateway: gateway },
        annotations: { setGateway: gateway },
      },
      spec: { containers: [{ name: 'client', image: 'alpine/curl' }] },
    };
    try {
      const pod = await this.core.createNamespacedPod({ namespace, body, dryRun: 'All' });
      return { kind: 'admitted', routed: isRouted(pod) };
    } catch (error) {
      if (error instanceof k8s.ApiException)
        return { kind: 'refused', message: String(error.body) };
      throw error;
    }
  }

  /** Waits until admission in the namespace sees what `expected` says about a dry run. */
  async waitForAdmission(
    what: string,
    expected: (dryRun: DryRun) => boolean,
    gateway = 'foo',
    namespace = CLIENT_NAMESPACE,
  ): Promise<void> {
    await waitFor(what, async () => expected(await this.dryRunCreate(gateway, namespace)));
  }
}

export type DryRun =
  | { readonly kind: 'admitted'; readonly routed: boolean }
  | { readonly kind: 'refused'; readonly message: string };

/** Polls until `check` holds (bounded: 60 s by default, then an error naming `what`). */
export function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  return eventually(what, () => check().catch(() => false), { timeoutMs, intervalMs: 100 });
}

export function isRouted(pod: k8s.V1Pod): boolean {
  const init = pod.spec?.initContainers?.some((c) => c.name === 'gateway-init') === true;
  const sidecar = pod.spec?.containers.some((c) => c.name === 'gateway-sidecar') === true;
  return init && sidecar;
}

export function containerNames(pod: k8s.V1Pod): { init: string[]; main: string[] } {
  return {
    init: (pod.spec?.initContainers ?? []).map((c) => c.name),
    main: pod.spec?.containers.map((c) => c.name) ?? [],
  };
}

export type PendingEvent = ReturnType<typeof pendingEvent>;

export function pendingFor(gateway: string, extra: Record<string, unknown> = {}): PendingEvent {
  return pendingEvent({ gateway_name: gateway, ...extra });
}

/** The name the function gives the pod of this event. */
export function podOf(event: PendingEvent): string {
  return podNameFor({ eventSource: event.source, eventId: event.id });
}

export function send(fn: RunningFunction, event: PendingEvent): Promise<Reply> {
  return sendEvent(fn.url, event, 'binary');
}

/** The reply event's data; fails when the answer carries no event. */
export function replyData(reply: Reply): Record<string, unknown> {
  const event: CloudEventV1<Record<string, unknown>> | undefined = reply.event;
  if (event?.data === undefined) {
    throw new Error(`no reply event: HTTP ${reply.status} ${reply.text}`);
  }
  return event.data;
}

/** The body of a 503 (`{error, message}`). */
export function retryBody(reply: Reply): { error: string; message: string } {
  return JSON.parse(reply.text) as { error: string; message: string };
}

export function eventAnnotations(pod: k8s.V1Pod): { source?: string; id?: string } {
  const annotations = pod.metadata?.annotations ?? {};
  return { source: annotations[ANNOTATIONS.eventSource], id: annotations[ANNOTATIONS.eventId] };
}

/** The function's Kubernetes API calls so far whose answer's `code` label `matches`, by its metric. */
export async function apiCalls(
  fn: RunningFunction,
  matches: (code: string) => boolean,
): Promise<number> {
  const text = await (await fetch(`${fn.url}/metrics`)).text();
  return parseExposition(text)
    .samples.filter(
      (sample) =>
        sample.name === 'podgateway_kube_api_request_duration_seconds_count' &&
        matches(sample.labels.code ?? ''),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}
