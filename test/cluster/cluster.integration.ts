// Checks the test cluster end to end (it builds what is missing first: minutes on a cold cache):
//   node --test test/cluster/cluster.integration.ts
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Cluster } from '../../testbed/cluster/cluster.ts';
import { startCluster } from '../../testbed/cluster/cluster.ts';
import { applyEventingCrds, applyServerSide, readObjects } from '../../testbed/cluster/eventing.ts';
import { httpsGet } from '../../testbed/cluster/https-get.ts';
import { loadKubeConfig } from '../../testbed/cluster/manifests.ts';
import {
  type NodeReadinessWatch,
  watchNodeReadiness,
} from '../../testbed/cluster/node-readiness.ts';
import { waitUntil } from '../../testbed/cluster/processes.ts';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';

const NAMESPACE = 'client-system';

function clientPod(name: string, gateway: string, extra: Record<string, string> = {}): k8s.V1Pod {
  return {
    metadata: {
      name,
      labels: { setGateway: gateway },
      annotations: { setGateway: gateway, ...extra },
    },
    spec: { restartPolicy: 'Never', containers: [{ name: 'client', image: 'busybox' }] },
  };
}

describe('the test cluster', { timeout: 30 * 60_000 }, () => {
  let cluster: Cluster;
  let pods: k8s.CoreV1Api;
  let nodeReadiness: NodeReadinessWatch;
  const readPod = (name: string) => pods.readNamespacedPod({ name, namespace: NAMESPACE });
  const adminGet = (path: string) =>
    httpsGet(`${cluster.server}${path}`, {
      ca: cluster.caFile,
      client: {
        cert: join(cluster.dir, 'pki', 'admin.crt'),
        key: join(cluster.dir, 'pki', 'admin.key'),
      },
    });

  before(async () => {
    cluster = await startCluster({ dir: await mkdtemp(join(tmpdir(), 'podgateway-cluster-')) });
    const admin = loadKubeConfig(cluster.adminKubeconfig);
    pods = admin.makeApiClient(k8s.CoreV1Api);
    nodeReadiness = watchNodeReadiness(admin);
  });
  after(async () => {
    nodeReadiness?.stop();
    await cluster?.stop();
  });

  it('has two nodes played by kwok', async () => {
    const nodes = await pods.listNode();
    assert.deepEqual(nodes.items.map((node) => node.metadata?.name).sort(), cluster.nodeNames);
  });

  it('routes a pod through the foo gateway and runs it on a kwok node', async () => {
    await pods.createNamespacedPod({ namespace: NAMESPACE, body: clientPod('routed', 'foo') });
    await waitUntil(
      'the routed pod running',
      async () => (await readPod('routed')).status?.podIP !== undefined,
    );
    const pod = await readPod('routed');
    assert.deepEqual(
      pod.spec?.initContainers?.map((c) => c.name),
      ['gateway-init'],
    );
    assert.deepEqual(
      pod.spec?.containers.map((c) => c.name),
      ['client', 'gateway-sidecar'],
    );
    assert.equal(pod.status?.phase, 'Running');
    assert.match(pod.spec?.nodeName ?? '', /^kwok-node-/);
  });

  it('fails the init container of a pod that asks for it', async () => {
    const body = clientPod('failing', 'bar', { 'podgateway.test/fail-init': 'true' });
    await pods.createNamespacedPod({ namespace: NAMESPACE, body });
    await waitUntil(
      'the pod failed',
      async () => (await readPod('failing')).status?.phase === 'Failed',
    );
    const status = (await readPod('failing')).status?.initContainerStatuses?.[0];
    assert.equal(status?.state?.terminated?.exitCode, 1);
  });

  it('gives the function exactly its Role', async () => {
    const reviews = loadKubeConfig(cluster.functionKubeconfig).makeApiClient(
      k8s.AuthorizationV1Api,
    );
    const can = async (verb: string, namespace: string) =>
      (
        await reviews.createSelfSubjectAccessReview({
          body: { spec: { resourceAttributes: { verb, resource: 'pods', namespace } } },
        })
      ).status?.allowed;
    assert.equal(await can('create', NAMESPACE), true);
    assert.equal(await can('delete', 'default'), false);
  });

  it('answers 410 Gone for a revision compacted away, once kube-apiserver restarted', async () => {
    const old = (await pods.listNamespacedPod({ namespace: NAMESPACE })).metadata?.resourceVersion;
    await pods.createNamespacedPod({ namespace: NAMESPACE, body: clientPod('bump', 'none') });
    await cluster.compactEtcd();
    // The watch cache still serves old revisions: a restart starts it afresh.
    await cluster.restartApiServer();
    const path = `/api/v1/namespaces/${NAMESPACE}/pods?resourceVersion=${old}`;
    assert.equal((await adminGet(`${path}&resourceVersionMatch=Exact`)).status, 410);
    assert.match((await adminGet(`${path}&watch=1&timeoutSeconds=2`)).body, /"code":410/);
  });

  it('refuses routed pods while a webhook is down (failurePolicy Fail)', async () => {
    await cluster.stopWebhook('foo');
    try {
      await assert.rejects(
        pods.createNamespacedPod({ namespace: NAMESPACE, body: clientPod('blocked', 'foo') }),
        (error: k8s.ApiException<unknown>) =>
          error.code === 500 && /failed calling webhook/.test(String(error.body)),
      );
    } finally {
      await cluster.startWebhook('foo');
    }
  });

  // Last, so that the other cases run inside the two minutes it watches: without kwok's node
  // Leases, kube-controller-manager turned the nodes NotReady after its 40 s grace period.
  it('keeps every node Ready for two minutes (kwok renews their Leases)', async () => {
    const twoMinutes = 120_000;
    const left = nodeReadiness.since + twoMinutes - Date.now();
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
    assert.deepEqual(nodeReadiness.notReady, []);
    const leases = await loadKubeConfig(cluster.adminKubeconfig)
      .makeApiClient(k8s.CoordinationV1Api)
      .listNamespacedLease({ namespace: 'kube-node-lease' });
    assert.deepEqual(leases.items.map((lease) => lease.metadata?.name).sort(), cluster.nodeNames);
    const events = await pods.listEventForAllNamespaces({ fieldSelector: 'reason=NodeNotReady' });
    assert.deepEqual(
      events.items.map((event) => event.involvedObject.name),
      [],
    );
  });

  it("stores deploy/'s EventTypes (v1beta2) and RequestReply under Eventing's CRDs; v1beta3 needs the conversion webhook", async () => {
    const admin = loadKubeConfig(cluster.adminKubeconfig);
    // Twice: applying the CRDs is idempotent, whatever the control plane already has.
    await applyEventingCrds(admin);
    await applyEventingCrds(admin);
    const deploy = (file: string) => readObjects(join(PROJECT_ROOT, 'deploy', file));
    const ofKind = (kind: string) => (object: k8s.KubernetesObject) => object.kind === kind;
    await applyServerSide(admin, [
      ...(await deploy('namespace.yaml')).filter(ofKind('Namespace')),
      ...(await deploy('broker.yaml')).filter(ofKind('Broker')),
    ]);
    const objects = [...(await deploy('eventtypes.yaml')), ...(await deploy('request-reply.yaml'))];
    assert.equal(objects.length, 11);
    await applyServerSide(admin, objects);

    // Read back as stored: a field the CRD's schema does not know would have been pruned.
    const api = k8s.KubernetesObjectApi.makeApiClient(admin);
    for (const object of objects) {
      const { name = '', namespace = '' } = object.metadata ?? {};
      const stored = await api.read({
        apiVersion: object.apiVersion ?? '',
        kind: object.kind ?? '',
        metadata: { name, namespace },
      });
      const spec = (stored as { spec?: unknown }).spec;
      assert.deepEqual(spec, (object as { spec?: unknown }).spec, object.metadata?.name);
    }

    // v1beta3 is served but not stored: writing it needs Eventing's conversion webhook.
    const [first] = objects;
    const v1beta3 = {
      apiVersion: 'eventing.knative.dev/v1beta3',
      kind: 'EventType',
      metadata: { name: 'v1beta3-probe', namespace: first?.metadata?.namespace },
      // v1beta3's spec: a reference and attributes, no type, schema or schemaData fields.
      spec: {
        reference: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' },
        attributes: [{ name: 'type', value: 'io.podgateway.client.pending', required: true }],
      },
    };
    await assert.rejects(applyServerSide(admin, [v1beta3]), (error: k8s.ApiException<unknown>) =>
      /conversion webhook/.test(String(error.body)),
    );
  });
});
