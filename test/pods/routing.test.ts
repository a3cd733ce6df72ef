// Done means routed: a pod the gateway's webhook did not wire up is never answered `done`; it is
// deleted at once and the event answered failed NotRouted, on a redelivery too. Over HTTP into
// the function (routing check on, as deployed), out to the API test server with the pod-gateway
// webhooks of deploy/'s gateways foo and bar.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { parseConfig } from '../../src/config/config.ts';
import { readRequest } from '../../src/events/pending-request.ts';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { buildPod } from '../../src/pods/client-pod.ts';
import { missingRouting } from '../../src/pods/routing.ts';
import { eventually } from '../../testbed/eventually.ts';
import { type EventObject, podGatewayWebhook } from '../../testbed/kube-api-server/server.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const NAMESPACE = 'client-system';
const ENV = { CLIENT_NAMESPACE: NAMESPACE, REQUIRE_ROUTING: 'true' };
const ROUTED = { 'routed-gateway': 'true', 'pod-security.kubernetes.io/enforce': 'privileged' };

const h = useHarness(ENV, {
  namespaces: [{ name: NAMESPACE, labels: ROUTED }],
  webhooks: ['foo', 'bar'].map((gateway) =>
    podGatewayWebhook({
      gateway,
      gatewayDefault: false,
      gatewayLabelValue: gateway,
      gatewayAnnotationValue: gateway,
    }),
  ),
});

beforeEach(() => h.server.reset());

/** Polls for the Kubernetes Events about a pod until `enough` says so (they are sent after the reply). */
async function eventsAbout(
  podName: string,
  enough: (events: EventObject[]) => boolean,
): Promise<EventObject[]> {
  const about = () =>
    h.server
      .events(NAMESPACE)
      .filter((event) => (event.regarding as { name?: string } | undefined)?.name === podName);
  await eventually(`the Events about ${podName}`, () => enough(about()), { timeoutMs: 5000 });
  return about();
}

const podNames = () => h.server.pods(NAMESPACE).map((pod) => pod.metadata?.name ?? '');
const deletes = () => h.server.requests.filter((request) => request.verb === 'delete');

describe('a pending event, with the routing check on (the default)', () => {
  it('replies done for a pod the gateway webhook wired up, and keeps it', async () => {
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');

    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const [stored] = h.server.pods(NAMESPACE);
    assert.deepEqual(
      stored?.spec?.initContainers?.map((c) => c.name),
      ['gateway-init'],
    );
    assert.ok(stored?.spec?.containers.some((c) => c.name === 'gateway-sidecar'));
    assert.deepEqual(deletes(), []);
  });

  for (const [why, gateway, prepare] of [
    ['no webhook selects its gateway', 'baz', () => {}],
    [
      'the namespace lacks the label the webhooks select',
      'foo',
      () => h.server.labelNamespace(NAMESPACE, { 'routed-gateway': 'false' }),
    ],
  ] as const) {
    it(`replies failed NotRouted and deletes the pod at once when ${why}`, async () => {
      prepare();
      const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: gateway }), 'binary');

      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
      assert.equal(reply.event?.data?.reason, 'NotRouted');
      assert.match(String(reply.event?.data?.pod_name), /^client-/);
      const message = String(reply.event?.data?.message);
      assert.match(message, /no init container "gateway-init", no container "gateway-sidecar"/);
      assert.match(message, /routed-gateway: "true"/);
      assert.match(message, /webhook/);
      assert.match(message, /setGateway/);
      assert.match(message, /The pod was deleted/);
      assert.deepEqual(podNames(), []);
      // The pod's story, for `kubectl events`: a NotRouted warning, and no Provisioned.
      const podName = String(reply.event?.data?.pod_name);
      const events = await eventsAbout(podName, (found) => found.length > 0);
      assert.deepEqual(
        events.map((event) => [event.type, event.reason]),
        [['Warning', 'NotRouted']],
      );
      const [deletion] = deletes();
      assert.equal(deletion?.status, 200);
      assert.equal(deletion?.query.gracePeriodSeconds, '0');
    });
  }

  it('replies failed NotRouted to a redelivery whose pod was made unrouted, and deletes it', async () => {
    const event = pendingEvent({ gateway_name: 'baz' });
    // The pod this very event makes, as an earlier delivery left it: without the gateway's
    // containers (made while no webhook answered for it).
    const config = parseConfig({ CLIENT_NAMESPACE: NAMESPACE });
    const verdict = readRequest(event, config);
    assert.equal(verdict.kind, 'accepted');
    const earlier: V1Pod = buildPod(
      config,
      verdict.kind === 'accepted' ? verdict.request : never(),
    );
    h.server.addPod(earlier);
    assert.equal(podNames().length, 1);

    const reply = await sendEvent(h.fn.url, event, 'structured');

    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'NotRouted');
    assert.deepEqual(podNames(), []);
    assert.equal(deletes().length, 1);
  });
});

describe('replaying an old event once REQUIRE_ROUTING is on (suspected in issue 25: confirmed)', () => {
  /** The pod `event` makes, as an earlier delivery left it, unrouted, changed by `change`. */
  function earlierPod(event: ReturnType<typeof pendingEvent>, change: (pod: V1Pod) => void): V1Pod {
    const config = parseConfig({ CLIENT_NAMESPACE: NAMESPACE });
    const verdict = readRequest(event, config);
    const pod = buildPod(config, verdict.kind === 'accepted' ? verdict.request : never());
    change(pod);
    return pod;
  }

  it('a running pod of ours is deleted with its grace period, not killed at once', async () => {
    const event = pendingEvent({ gateway_name: 'baz' });
    h.server.addPod(earlierPod(event, () => {}));
    const name = podNames()[0] ?? '';
    h.server.updatePodStatus(NAMESPACE, name, {
      phase: 'Running',
      containerStatuses: [
        { name: 'client', ready: true, started: true, image: 'x', imageID: '', restartCount: 0 },
      ],
    });

    const reply = await sendEvent(h.fn.url, event, 'binary');

    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'NotRouted');
    const [deletion] = deletes();
    assert.equal(deletion?.status, 200);
    assert.notEqual(deletion?.query.gracePeriodSeconds, '0', 'a running client gets its SIGTERM');
  });

  it('a pod that carries the event’s annotations but not our managed-by label is not ours: not deleted', async () => {
    const event = pendingEvent({ gateway_name: 'baz' });
    h.server.addPod(
      earlierPod(event, (pod) => {
        delete pod.metadata?.labels?.['app.kubernetes.io/managed-by'];
      }),
    );

    const reply = await sendEvent(h.fn.url, event, 'binary');

    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'AlreadyExists');
    assert.match(String(reply.event?.data?.message), /was not created for this event/);
    assert.deepEqual(deletes(), []);
    assert.equal(podNames().length, 1);
  });
});

describe('which containers prove the routing', () => {
  const pod = (init: string[], containers: string[]): V1Pod => ({
    spec: {
      initContainers: init.map((name) => ({ name })),
      containers: containers.map((name) => ({ name })),
    },
  });
  const both = { initContainer: 'gateway-init', sidecarContainer: 'gateway-sidecar' };

  it('asks for the init container, and the sidecar where one is configured', () => {
    assert.deepEqual(
      missingRouting(pod(['gateway-init'], ['client', 'gateway-sidecar']), both),
      [],
    );
    assert.deepEqual(missingRouting(pod([], ['client', 'gateway-sidecar']), both), [
      'init container "gateway-init"',
    ]);
    assert.deepEqual(missingRouting(pod(['gateway-init'], ['client']), both), [
      'container "gateway-sidecar"',
    ]);
    const noSidecar = { initContainer: 'gateway-init', sidecarContainer: undefined };
    assert.deepEqual(missingRouting(pod(['gateway-init'], ['client']), noSidecar), []);
  });

  it('does not take a container of the same name for the init container', () => {
    assert.deepEqual(missingRouting(pod([], ['gateway-init', 'gateway-sidecar']), both), [
      'init container "gateway-init"',
    ]);
  });
});

function never(): never {
  throw new Error('unreachable');
}
