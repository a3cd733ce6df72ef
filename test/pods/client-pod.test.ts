import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/config.ts';
import { isDns1123Subdomain } from '../../src/formats/names.ts';
import {
  ANNOTATIONS,
  buildPod,
  gatewayOf,
  isPodForEvent,
  podNameFor,
} from '../../src/pods/client-pod.ts';
import { differencesFrom, FINGERPRINT_ANNOTATION } from '../../src/pods/fingerprint.ts';
import type { ProvisionRequest } from '../../src/pods/provision-request.ts';

const request: ProvisionRequest = {
  gatewayName: 'foo',
  message: undefined,
  eventId: 'e-1',
  eventSource: '/producer',
  overrides: {},
};

describe('the client pod', () => {
  it('is named the same for every delivery of one event, and differently for another', () => {
    assert.equal(podNameFor(request), podNameFor({ ...request }));
    assert.notEqual(podNameFor(request), podNameFor({ ...request, eventId: 'e-2' }));
    assert.notEqual(podNameFor(request), podNameFor({ ...request, eventSource: '/other' }));
    assert.notEqual(
      podNameFor({ ...request, eventSource: '/a', eventId: 'b\nc' }),
      podNameFor({ ...request, eventSource: '/a\nb', eventId: 'c' }),
    );
    assert.match(podNameFor(request), /^client-[0-9a-f]{20}$/);
  });

  it('is named from the source and id only: another gateway for the same event meets the same pod', () => {
    const other: ProvisionRequest = { ...request, gatewayName: 'bar' };
    assert.equal(podNameFor(request), podNameFor(other));
  });

  it('has a valid DNS-1123 name of at most 63 characters whatever the event attributes', () => {
    for (const eventId of ['ID with spaces/ünïcode', 'A'.repeat(1024), '\u0000']) {
      const name = podNameFor({ eventId, eventSource: 'urn:x' });
      assert.ok(isDns1123Subdomain(name) && name.length <= 63, name);
    }
  });

  it('carries the gateway label and annotation, the app labels and the event', () => {
    const pod = buildPod(parseConfig({ CLIENT_NAMESPACE: 'clients' }), {
      ...request,
      message: 'hello',
    });
    assert.equal(pod.metadata?.namespace, 'clients');
    assert.equal(pod.metadata?.labels?.setGateway, 'foo');
    assert.equal(pod.metadata?.annotations?.setGateway, 'foo');
    assert.equal(pod.metadata?.labels?.['app.kubernetes.io/name'], 'podgateway-client');
    assert.equal(
      pod.metadata?.labels?.['app.kubernetes.io/managed-by'],
      'podgateway-client-provisioner',
    );
    assert.equal(pod.metadata?.annotations?.[ANNOTATIONS.eventSource], '/producer');
    assert.equal(pod.metadata?.annotations?.[ANNOTATIONS.eventId], 'e-1');
    assert.equal(pod.metadata?.annotations?.[ANNOTATIONS.message], 'hello');
    const [container] = pod.spec?.containers ?? [];
    assert.equal(pod.spec?.containers?.length, 1);
    assert.equal(container?.name, 'client');
    assert.equal(container?.image, 'alpine/curl');
    assert.deepEqual(container?.command, ['sleep', 'infinity']);
    assert.equal(container?.args, undefined);
    assert.equal(container?.env, undefined);
  });

  it('is locked down by default, at the container level only', () => {
    const pod = buildPod(parseConfig({}), request);
    assert.equal(pod.spec?.automountServiceAccountToken, false);
    assert.equal(
      pod.spec?.securityContext,
      undefined,
      'pod-level settings would bind the webhook’s containers',
    );
    const container = pod.spec?.containers?.[0];
    assert.deepEqual(container?.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
      runAsNonRoot: undefined,
    });
    assert.deepEqual(container?.resources, {
      requests: { cpu: '10m', memory: '16Mi' },
      limits: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '128Mi' },
    });
    assert.equal(pod.spec?.activeDeadlineSeconds, undefined);
  });

  it('applies the optional runAsNonRoot, activeDeadlineSeconds and resources', () => {
    const config = parseConfig({
      CLIENT_RUN_AS_NON_ROOT: 'true',
      CLIENT_ACTIVE_DEADLINE_SECONDS: '3600',
      CLIENT_REQUESTS: 'cpu=50m',
      CLIENT_LIMITS: '',
    });
    const pod = buildPod(config, request);
    assert.equal(pod.spec?.containers?.[0]?.securityContext?.runAsNonRoot, true);
    assert.equal(pod.spec?.activeDeadlineSeconds, 3600);
    assert.deepEqual(pod.spec?.containers?.[0]?.resources, {
      requests: { cpu: '50m' },
      limits: {},
    });
  });

  it('applies the overrides of a request', () => {
    const pod = buildPod(parseConfig({}), {
      ...request,
      overrides: {
        image: 'registry.example/tools:1',
        command: ['sh', '-c'],
        args: ['echo hi'],
        env: { HTTP_PROXY: 'http://proxy:3128' },
        resources: { limits: { memory: '32Mi' } },
      },
    });
    const container = pod.spec?.containers?.[0];
    assert.equal(container?.image, 'registry.example/tools:1');
    assert.deepEqual(container?.command, ['sh', '-c']);
    assert.deepEqual(container?.args, ['echo hi']);
    assert.deepEqual(container?.env, [{ name: 'HTTP_PROXY', value: 'http://proxy:3128' }]);
    assert.deepEqual(container?.resources?.limits, {
      cpu: '100m',
      memory: '32Mi',
      'ephemeral-storage': '128Mi',
    });
  });

  it('uses the configured keys and leaves out a disabled one', () => {
    const pod = buildPod(
      parseConfig({ GATEWAY_LABEL: 'podgateway.io/gw', GATEWAY_ANNOTATION: '' }),
      request,
    );
    assert.equal(pod.metadata?.labels?.['podgateway.io/gw'], 'foo');
    assert.equal(pod.metadata?.annotations?.setGateway, undefined);
  });

  it('recognises the pod of the same event, and reads its gateway from the label or annotation', () => {
    const config = parseConfig({});
    const pod = buildPod(config, request);
    assert.ok(isPodForEvent(pod, request));
    assert.ok(!isPodForEvent(pod, { ...request, eventId: 'e-2' }));
    assert.equal(gatewayOf(pod, config), 'foo');
    const annotationOnly = parseConfig({ GATEWAY_LABEL: '' });
    assert.equal(gatewayOf(buildPod(annotationOnly, request), annotationOnly), 'foo');
  });
});

describe('what a pod was made for', () => {
  const config = parseConfig({});
  const withEnv = (env: Record<string, string>): ProvisionRequest => ({
    ...request,
    overrides: { env, resources: { limits: { cpu: '50m', memory: '32Mi' } } },
  });

  it('is the same for a redelivery, whatever the order of the keys', () => {
    const pod = buildPod(config, withEnv({ A: '1', B: '2' }));
    assert.deepEqual(differencesFrom(pod, gatewayOf(pod, config), withEnv({ B: '2', A: '1' })), []);
  });

  it('names each part that differs', () => {
    const pod = buildPod(config, withEnv({ A: '1' }));
    const other: ProvisionRequest = { ...withEnv({ A: '2' }), gatewayName: 'bar', message: 'hi' };
    assert.deepEqual(differencesFrom(pod, gatewayOf(pod, config), other), [
      'gateway_name ("foo" then, "bar" now)',
      'message',
      'env',
    ]);
  });

  it('compares the gateway alone on a pod made before digests were kept', () => {
    const pod = buildPod(config, request);
    delete pod.metadata?.annotations?.[FINGERPRINT_ANNOTATION];
    assert.deepEqual(
      differencesFrom(pod, gatewayOf(pod, config), { ...request, message: 'x' }),
      [],
    );
  });
});
