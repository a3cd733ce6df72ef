import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { CLUSTER_DIR } from '../../testbed/cluster/components.ts';
import {
  admissionResponse,
  clusterResolvConf,
  gatewayPatch,
  wantsGateway,
} from '../../testbed/cluster/gateway-webhook.ts';
import {
  loadGateway,
  mutatingWebhookConfiguration,
  webhookConfig,
} from '../../testbed/cluster/gateways.ts';

const deployDir = join(CLUSTER_DIR, '..', '..', 'deploy');
const resolv = clusterResolvConf('10.96.0.10', 'gateway-system');
const pod = (labels: Record<string, string>, annotations: Record<string, string> = {}): V1Pod => ({
  metadata: { labels, annotations },
  spec: { containers: [{ name: 'client', image: 'client:1' }] },
});

describe('the pod-gateway webhook as deploy/pod-gateway-foo-values.yaml runs it', async () => {
  const foo = await loadGateway(deployDir, 'foo');
  const config = webhookConfig(foo);

  it('routes only the pods that name its gateway', () => {
    assert.equal(wantsGateway(config, pod({ setGateway: 'foo' }, { setGateway: 'foo' })), true);
    assert.equal(wantsGateway(config, pod({ setGateway: 'bar' }, { setGateway: 'bar' })), false);
    assert.equal(wantsGateway(config, pod({})), false);
    // The annotation, when present, decides last.
    assert.equal(wantsGateway(config, pod({ setGateway: 'foo' }, { setGateway: 'bar' })), false);
  });

  it('adds gateway-init and gateway-sidecar as root with NET_ADMIN, and the DNS of the gateway', () => {
    const patch = gatewayPatch(config, resolv, pod({ setGateway: 'foo' }), 'client-system') as {
      path: string;
      value: unknown;
    }[];
    const field = (name: string) => patch.find((op) => op.path === `/spec/${name}`)?.value;
    const init = field('initContainers') as V1Container[];
    const containers = field('containers') as V1Container[];
    assert.deepEqual(
      init.map((c) => c.name),
      ['gateway-init'],
    );
    assert.deepEqual(
      containers.map((c) => c.name),
      ['client', 'gateway-sidecar'],
    );
    assert.deepEqual(init[0]?.securityContext?.capabilities?.add, ['NET_ADMIN', 'NET_RAW']);
    assert.equal(field('dnsPolicy'), 'None');
    assert.deepEqual(field('dnsConfig'), {
      nameservers: ['172.16.0.1'],
      searches: ['client-system.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      options: [{ name: 'ndots', value: '5' }],
    });
  });

  it('answers an AdmissionReview without a patch for a pod of another gateway', () => {
    const review = {
      request: { uid: 'u1', namespace: 'client-system', object: pod({ setGateway: 'bar' }) },
    };
    assert.deepEqual(admissionResponse(config, resolv, review), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u1', allowed: true },
    });
  });

  it('is registered as the chart registers it: routed namespaces, pod CREATE, Fail, 5 s', () => {
    const registration = mutatingWebhookConfiguration(foo, 'https://127.0.0.1:1/x', 'PEM') as {
      webhooks: Record<string, unknown>[];
    };
    const webhook = registration.webhooks[0];
    assert.deepEqual(webhook?.namespaceSelector, { matchLabels: { 'routed-gateway': 'true' } });
    assert.equal(webhook?.failurePolicy, undefined);
    assert.equal(webhook?.timeoutSeconds, 5);
  });
});
