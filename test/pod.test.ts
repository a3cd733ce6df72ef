import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../src/config.ts';
import { isDns1123Subdomain } from '../src/names.ts';
import { ANNOTATIONS, buildPod, isPodForRequest, podNameFor } from '../src/pod.ts';
import type { ProvisionRequest } from '../src/request.ts';

const request: ProvisionRequest = {
  gatewayName: 'foo',
  message: undefined,
  eventId: 'e-1',
  eventSource: '/producer',
};

describe('the client pod', () => {
  it('is named the same for every delivery of one event, and differently for another', () => {
    assert.equal(podNameFor(request), podNameFor({ ...request }));
    assert.notEqual(podNameFor(request), podNameFor({ ...request, eventId: 'e-2' }));
    assert.notEqual(podNameFor(request), podNameFor({ ...request, eventSource: '/other' }));
    // source and id are kept apart: ("/a", "b\nc") is not ("/a\nb", "c")
    assert.match(podNameFor(request), /^client-foo-[0-9a-f]{12}$/);
  });

  it('has a valid DNS-1123 name whatever the gateway and event attributes', () => {
    const awkward = ['Foo_Bar.baz', '___', 'A'.repeat(63), 'x.y.z'];
    for (const gatewayName of awkward) {
      const name = podNameFor({
        gatewayName,
        message: undefined,
        eventId: 'ID with spaces/ünïcode',
        eventSource: 'urn:x',
      });
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
    assert.deepEqual(pod.spec?.containers, [
      { name: 'client', image: 'alpine/curl', command: ['sleep', 'infinity'] },
    ]);
  });

  it('uses the configured keys and leaves out a disabled one', () => {
    const pod = buildPod(
      parseConfig({ GATEWAY_LABEL: 'podgateway.io/gw', GATEWAY_ANNOTATION: '' }),
      request,
    );
    assert.equal(pod.metadata?.labels?.['podgateway.io/gw'], 'foo');
    assert.equal(pod.metadata?.annotations?.setGateway, undefined);
  });

  it('recognises the pod of the same event only', () => {
    const config = parseConfig({});
    const pod = buildPod(config, request);
    assert.ok(isPodForRequest(pod, config, request));
    assert.ok(!isPodForRequest(pod, config, { ...request, eventId: 'e-2' }));
    assert.ok(!isPodForRequest(pod, config, { ...request, gatewayName: 'bar' }));
    const annotationOnly = parseConfig({ GATEWAY_LABEL: '' });
    assert.ok(isPodForRequest(buildPod(annotationOnly, request), annotationOnly, request));
  });
});
