// The pure parts of `--knative` and of the queue-proxy cases: what is changed in Serving's own
// objects, and how the Deployment's queue-proxy env becomes a process's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  webhookService,
  withRegistriesSkipped,
  withWebhookPort,
} from '../../testbed/cluster/knative.ts';
import {
  ingressReadyStatus,
  podAutoscalerReadyStatus,
} from '../../testbed/cluster/knative-status.ts';
import { notReadyReport } from '../../testbed/cluster/node-readiness.ts';
import { probeOnPort, queueProxyEnv } from '../../testbed/cluster/queue-proxy.ts';

describe('--knative', () => {
  it("adds the webhook's port to each webhook of a configuration, and to nothing else", () => {
    const configuration = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'validation.webhook.serving.knative.dev' },
      webhooks: [{ clientConfig: { service: { name: 'webhook', namespace: 'knative-serving' } } }],
    };
    assert.deepEqual(withWebhookPort(configuration, 4443).webhooks, [
      { clientConfig: { service: { name: 'webhook', namespace: 'knative-serving', port: 4443 } } },
    ]);
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } };
    assert.equal(withWebhookPort(configMap, 4443), configMap);
  });

  it("names deploy/'s registries in config-deployment only", () => {
    const deployment = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config-deployment' },
      data: { 'queue-sidecar-image': 'ko://knative.dev/serving/cmd/queue' },
    };
    const data = withRegistriesSkipped(deployment).data as Record<string, string>;
    assert.equal(data['queue-sidecar-image'], 'ko://knative.dev/serving/cmd/queue');
    assert.deepEqual(data['registries-skipping-tag-resolving']?.split(',').slice(3), [
      'localhost:5001',
      'gcr.io',
      'quay.io',
    ]);
    const other = { ...deployment, metadata: { name: 'config-network' } };
    assert.equal(withRegistriesSkipped(other), other);
  });

  it('points the webhook Service at localhost on its port', () => {
    assert.deepEqual(webhookService(4443).spec, {
      type: 'ExternalName',
      externalName: 'localhost',
      ports: [{ name: 'https', port: 4443 }],
    });
  });

  it('marks a PodAutoscaler and a KIngress ready at their generation', () => {
    const object = {
      apiVersion: 'x/v1',
      kind: 'X',
      metadata: { name: 'rev-00001', generation: 3 },
    };
    const pa = podAutoscalerReadyStatus(object, 'now');
    assert.equal(pa.observedGeneration, 3);
    assert.equal(pa.serviceName, 'rev-00001');
    const ingress = ingressReadyStatus(object, 'now');
    assert.deepEqual(
      (ingress.conditions as { type: string; status: string }[]).map((c) => [c.type, c.status]),
      [
        ['LoadBalancerReady', 'True'],
        ['NetworkConfigured', 'True'],
        ['Ready', 'True'],
      ],
    );
  });

  it('reports a node only when its Ready condition is not True', () => {
    const node = (status: string) => ({
      metadata: { name: 'kwok-node-0' },
      status: { conditions: [{ type: 'Ready', status, reason: 'NodeStatusUnknown' }] },
    });
    assert.equal(notReadyReport(node('True')), undefined);
    assert.equal(notReadyReport(node('Unknown')), 'kwok-node-0: Ready=Unknown (NodeStatusUnknown)');
  });
});

describe('queue-proxy as the Deployment runs it', () => {
  it('takes the values, "" for an empty one, and fills in the pod-only ones', () => {
    const env = queueProxyEnv({
      name: 'queue-proxy',
      env: [
        { name: 'CONTAINER_CONCURRENCY', value: '16' },
        { name: 'SERVING_LOGGING_CONFIG' },
        { name: 'SERVING_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'SERVING_POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ],
    });
    assert.deepEqual(env, {
      CONTAINER_CONCURRENCY: '16',
      SERVING_LOGGING_CONFIG: '',
      SERVING_POD: 'queue-proxy-test',
      SERVING_POD_IP: '127.0.0.1',
    });
  });

  it('refuses a variable from a source it cannot fill in', () => {
    assert.throws(
      () =>
        queueProxyEnv({
          name: 'queue-proxy',
          env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
        }),
      /queue-proxy's X comes from/,
    );
  });

  it("moves the readiness probe to the function's port, keeping the rest", () => {
    const probe =
      '{"tcpSocket":null,"httpGet":{"path":"/health/readiness","port":8080},"successThreshold":1}';
    assert.deepEqual(JSON.parse(probeOnPort(probe, 41234)), {
      tcpSocket: null,
      httpGet: { path: '/health/readiness', port: 41234 },
      successThreshold: 1,
    });
  });
});
