// Admission in the Kubernetes API test server, in kube-apiserver’s order, through the real client.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { podGatewayWebhook } from '../../testbed/kube-api-server/server.ts';
import {
  apiError,
  clientFor,
  pod,
  serverFor,
  statusOf,
  type TestWithAfter,
} from './test-support.ts';

describe('admission, in kube-apiserver’s order (authn, authz, mutating, validation, validating, store)', () => {
  const NS = 'routed';
  const gateway = podGatewayWebhook({
    gateway: 'foo',
    gatewayDefault: false,
    gatewayLabelValue: 'foo',
    gatewayAnnotationValue: 'foo',
  });
  const routedPod = (name: string, value = 'foo'): V1Pod =>
    pod(name, {
      metadata: { name, labels: { setGateway: value }, annotations: { setGateway: value } },
    });

  async function admissionServer(t: TestWithAfter) {
    const server = await serverFor(t, {
      namespaces: [
        'default',
        {
          name: NS,
          labels: { 'routed-gateway': 'true', 'pod-security.kubernetes.io/enforce': 'privileged' },
        },
      ],
      webhooks: [gateway],
    });
    return { server, ...(await clientFor(server)) };
  }

  it('the pod-gateway webhook routes the pods that ask for its gateway, in the namespaces it selects', async (t) => {
    const { server, api } = await admissionServer(t);
    const routed = await api.createNamespacedPod({ namespace: NS, body: routedPod('mine') });
    assert.deepEqual(
      routed.spec?.initContainers?.map((c) => c.name),
      ['gateway-init'],
    );
    assert.deepEqual(
      routed.spec?.containers.map((c) => c.name),
      ['main', 'gateway-sidecar'],
    );
    assert.deepEqual(routed.spec?.initContainers?.[0]?.securityContext?.capabilities?.add, [
      'NET_ADMIN',
      'NET_RAW',
    ]);
    assert.equal(routed.spec?.dnsPolicy, 'None');
    assert.ok(routed.spec?.volumes?.some((v) => v.name === 'gateway-configmap'));
    // another gateway's pod, and a pod in a namespace the webhook does not select: untouched
    const other = await api.createNamespacedPod({ namespace: NS, body: routedPod('b', 'bar') });
    assert.equal(other.spec?.initContainers, undefined);
    const elsewhere = await api.createNamespacedPod({
      namespace: 'default',
      body: routedPod('c'),
    });
    assert.equal(elsewhere.spec?.containers.length, 1);
    // the annotation, when present, overrides the label
    const annotated = await api.createNamespacedPod({
      namespace: NS,
      body: pod('d', {
        metadata: { name: 'd', labels: { setGateway: 'bar' }, annotations: { setGateway: 'foo' } },
      }),
    });
    assert.equal(annotated.spec?.containers.length, 2);
    assert.equal(server.pods(NS).length, 3);
  });

  it('with no value configured, the webhook wants a boolean and denies anything else', async (t) => {
    const server = await serverFor(t, {
      namespaces: [{ name: NS, labels: { 'routed-gateway': 'true' } }],
      webhooks: [podGatewayWebhook({ gateway: 'any' })],
    });
    const { api } = await clientFor(server);
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: routedPod('x') }));
    assert.equal(error.code, 400);
    assert.equal(
      statusOf(error).message,
      'admission webhook "pod-gateway-any.gateway-system.svc" denied the request: strconv.ParseBool: parsing "foo": invalid syntax',
    );
    // gatewayDefault true (the chart's default): a pod without the keys is routed
    const plain = await api.createNamespacedPod({ namespace: NS, body: pod('plain') });
    assert.equal(plain.spec?.containers.length, 2);
  });

  it('a webhook that is down fails every create it selects with 500, even of a pod that exists', async (t) => {
    const { server, api } = await admissionServer(t);
    await api.createNamespacedPod({ namespace: NS, body: routedPod('there') });
    server.setWebhook(gateway.name, 'down');
    const error = await apiError(
      api.createNamespacedPod({ namespace: NS, body: routedPod('there') }),
    );
    assert.equal(error.code, 500);
    const status = statusOf(error);
    assert.equal(status.reason, 'InternalError');
    assert.match(
      status.message,
      /^Internal error occurred: failed calling webhook "pod-gateway-foo\.gateway-system\.svc": failed to call webhook: Post "https:\/\/.*": .*connection refused$/,
    );
    // not selected: the default namespace is not affected
    await api.createNamespacedPod({ namespace: 'default', body: pod('fine') });
    server.setWebhook(gateway.name, 'up');
    const again = await apiError(
      api.createNamespacedPod({ namespace: NS, body: routedPod('there') }),
    );
    assert.equal(again.code, 409);
  });

  it('a webhook denial carries its own code and message, and no reason of the API’s', async (t) => {
    const { server, api } = await admissionServer(t);
    server.setWebhook(gateway.name, { deny: { code: 403, message: 'gateway foo is closed' } });
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: routedPod('n') }));
    assert.equal(error.code, 403);
    assert.deepEqual(statusOf(error), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'admission webhook "pod-gateway-foo.gateway-system.svc" denied the request: gateway foo is closed',
      reason: '',
      code: 403,
    });
  });

  it('Pod Security baseline refuses the routed pod: the webhook adds NET_ADMIN and NET_RAW as root', async (t) => {
    const { server, api } = await admissionServer(t);
    server.labelNamespace(NS, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: routedPod('p') }));
    assert.equal(error.code, 403);
    assert.equal(statusOf(error).reason, 'Forbidden');
    assert.equal(
      statusOf(error).message,
      'pods "p" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (containers "gateway-init", "gateway-sidecar" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)',
    );
    // the unrouted pod passes baseline
    await api.createNamespacedPod({ namespace: NS, body: routedPod('q', 'bar') });
  });

  it('a pod that exists meets a full quota before the store: 403 exceeded quota, not 409', async (t) => {
    const { server, api } = await admissionServer(t);
    server.setResourceQuota('default', { name: 'pods-quota', hard: { pods: '1' } });
    await api.createNamespacedPod({ namespace: 'default', body: pod('only') });
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('only') }),
    );
    assert.equal(error.code, 403);
    assert.equal(
      statusOf(error).message,
      'pods "only" is forbidden: exceeded quota: pods-quota, requested: pods=1, used: pods=1, limited: pods=1',
    );
    server.setResourceQuota('default', { name: 'cpu', hard: { 'limits.cpu': '1' } });
    const unlimited = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('more') }),
    );
    assert.equal(
      statusOf(unlimited).message,
      'pods "more" is forbidden: failed quota: cpu: must specify limits.cpu for: main',
    );
  });

  it('a new namespace without its service account yet: 403 error looking up service account', async (t) => {
    const server = await serverFor(t, { namespaces: [{ name: 'fresh', serviceAccounts: [] }] });
    const { api } = await clientFor(server);
    const error = await apiError(api.createNamespacedPod({ namespace: 'fresh', body: pod('s') }));
    assert.equal(error.code, 403);
    assert.equal(
      statusOf(error).message,
      'pods "s" is forbidden: error looking up service account fresh/default: serviceaccount "default" not found',
    );
    server.addServiceAccount('fresh', 'default');
    await api.createNamespacedPod({ namespace: 'fresh', body: pod('s') });
  });

  it('a namespace being deleted: 403 with the NamespaceTerminating cause', async (t) => {
    const { server, api } = await admissionServer(t);
    server.terminateNamespace(NS);
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: pod('t') }));
    assert.equal(error.code, 403);
    assert.deepEqual(statusOf(error).details, {
      name: 't',
      kind: 'pods',
      causes: [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${NS} is being terminated`,
          field: 'metadata.namespace',
        },
      ],
    });
    assert.equal(
      statusOf(error).message,
      `pods "t" is forbidden: unable to create new content in namespace ${NS} because it is being terminated`,
    );
  });

  it('a LimitRange gives defaults, and refuses a container over its maximum', async (t) => {
    const { server, api } = await admissionServer(t);
    server.setLimitRange('default', {
      name: 'limits',
      default: { cpu: '100m', memory: '64Mi' },
      max: { cpu: '200m' },
    });
    const defaulted = await api.createNamespacedPod({ namespace: 'default', body: pod('l') });
    assert.deepEqual(JSON.parse(JSON.stringify(defaulted.spec?.containers[0]?.resources)), {
      limits: { cpu: '100m', memory: '64Mi' },
      requests: { cpu: '100m', memory: '64Mi' },
    });
    const big = pod('big');
    const [container] = big.spec?.containers ?? [];
    if (container) container.resources = { limits: { cpu: '1' } };
    const error = await apiError(api.createNamespacedPod({ namespace: 'default', body: big }));
    assert.equal(error.code, 403);
    assert.equal(
      statusOf(error).message,
      'pods "big" is forbidden: maximum cpu usage per Container is 200m, but limit is 1',
    );
  });

  it('RBAC comes before admission: a denied create never reaches the webhooks', async (t) => {
    const server = await serverFor(t, {
      namespaces: [{ name: NS, labels: { 'routed-gateway': 'true' } }],
      webhooks: [gateway],
      authorize: (attrs) => attrs.verb !== 'create',
    });
    server.setWebhook(gateway.name, 'down');
    const { api } = await clientFor(server);
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: routedPod('r') }));
    assert.equal(error.code, 403);
    assert.match(statusOf(error).message, /cannot create resource "pods"/);
  });
});
