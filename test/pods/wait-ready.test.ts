// WAIT_FOR=ready: `done` once the simulated kubelet has the pod Running and its client container
// ready (with the node, the pod IP and the time it took); `failed` with the container's own
// reason when the image cannot be pulled or the gateway's init container fails, rather than a
// 503 at the deadline. Pods go through the gateway webhook's mutation, a scheduler and a kubelet.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import type { V1ContainerState, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { readyState } from '../../src/pods/wait-ready.ts';
import { eventually } from '../../testbed/eventually.ts';
import {
  GATEWAY_INIT,
  type Kubelet,
  type KubeletFailure,
  startKubelet,
} from '../../testbed/kube-api-server/kubelet.ts';
import { type Scheduler, startScheduler } from '../../testbed/kube-api-server/scheduler.ts';
import { podGatewayWebhook } from '../../testbed/kube-api-server/server.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const NAMESPACE = 'client-system';
const h = useHarness(
  // A deadline far beyond the kubelet's delays: a failed reply proves the wait did not run out.
  // The routing check on, as deployed: done only for a pod the gateway's webhook wired up.
  {
    CLIENT_NAMESPACE: NAMESPACE,
    WAIT_FOR: 'ready',
    EVENT_DEADLINE_MS: '30000',
    REQUIRE_ROUTING: 'true',
  },
  {
    namespaces: [
      {
        name: NAMESPACE,
        labels: { 'routed-gateway': 'true', 'pod-security.kubernetes.io/enforce': 'privileged' },
      },
    ],
    // The pod-gateway webhook of each gateway the tests use, as deploy/ configures them.
    webhooks: ['foo', 'broken-init', 'no-image'].map((gateway) =>
      podGatewayWebhook({
        gateway,
        gatewayDefault: false,
        gatewayLabelValue: gateway,
        gatewayAnnotationValue: gateway,
      }),
    ),
  },
);

/** Gateway `broken-init`: the gateway's init container fails; `no-image`: the pull fails. */
function failureFor(gateway: string | undefined): KubeletFailure | undefined {
  if (gateway === 'broken-init') {
    return { kind: 'init', exitCode: 1, message: 'cannot reach the gateway 172.16.0.1' };
  }
  if (gateway === 'no-image') return { kind: 'pull' };
  return undefined;
}

let scheduler: Scheduler | undefined;
let kubelet: Kubelet | undefined;
beforeEach(() => {
  h.server.reset();
  // Started with the first test: the harness starts the server in its own `before`.
  scheduler ??= startScheduler(h.server, { bindAfterMs: 20 });
  kubelet ??= startKubelet(h.server, {
    startAfterMs: 50,
    fail: (pod) => failureFor(pod.metadata?.labels?.setGateway),
  });
});
after(() => {
  scheduler?.stop();
  kubelet?.stop();
});

describe('WAIT_FOR=ready', () => {
  it('replies done with the node, the pod IP and the time it took once the pod is ready', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const reply = await sendEvent(h.fn.url, event, 'binary');

    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const [pod] = h.server.pods(NAMESPACE);
    assert.equal(pod?.status?.phase, 'Running');
    assert.deepEqual(
      pod?.spec?.initContainers?.map((c) => c.name),
      [GATEWAY_INIT],
      'the gateway webhook added its init container, which completed',
    );
    assert.equal(reply.event?.data?.pod_name, pod?.metadata?.name);
    assert.equal(reply.event?.data?.node_name, pod?.spec?.nodeName);
    assert.equal(reply.event?.data?.pod_ip, pod?.status?.podIP);
    assert.match(String(reply.event?.data?.pod_ip), /^10\.244\.\d+\.\d+$/);
    assert.equal(typeof reply.event?.data?.ready_after_ms, 'number');
    assert.match(String(reply.event?.data?.message), /ready on node node-\d with IP 10\.244\./);

    const again = await sendEvent(h.fn.url, event, 'structured');
    assert.equal(again.event?.type, DONE_TYPE, again.text);
    assert.equal(again.event?.data?.pod_ip, pod?.status?.podIP, 'a redelivery: the same pod');
    assert.equal(h.server.pods(NAMESPACE).length, 1);
    assert.equal(h.server.openWatches, 1, 'the one shared watch');
  });

  it('answers a redelivery after the pod was deleted from the new pod, though the watch lags and replays the old one', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const first = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(first.event?.type, DONE_TYPE, first.text);
    const old = h.server.pods(NAMESPACE)[0];
    const name = old?.metadata?.name ?? '';
    // The function's next watch request is held: the old pod's DELETED reaches it after the
    // redelivery has made the new pod, and waits for it.
    h.server.injectFault({
      method: 'GET',
      path: `/api/v1/namespaces/${NAMESPACE}/pods`,
      delayMs: 1500,
    });
    h.server.endWatches();
    h.server.deletePod(NAMESPACE, name);
    const reply = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const now = h.server.pod(NAMESPACE, name);
    assert.notEqual(now?.metadata?.uid, old?.metadata?.uid);
    assert.equal(reply.event?.data?.pod_ip, now?.status?.podIP);
    assert.equal(reply.event?.data?.node_name, now?.spec?.nodeName);
  });

  it('replies failed ErrImagePull with the kubelet’s message when the image cannot be pulled', async () => {
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'no-image' }), 'binary');
    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'ErrImagePull');
    assert.match(
      String(reply.event?.data?.message),
      /container "client" is waiting: ErrImagePull: .*failed to pull and unpack image "docker\.io\/alpine\/curl:latest"/,
    );
  });

  it('replies failed with the init container’s exit when the gateway’s init fails', async () => {
    const event = pendingEvent({ gateway_name: 'broken-init' });
    const reply = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'Error');
    // The pod stays (its logs tell what went wrong): the reply names it.
    assert.equal(reply.event?.data?.pod_name, h.server.pods(NAMESPACE)[0]?.metadata?.name);
    assert.match(
      String(reply.event?.data?.message),
      /init container "gateway-init" exited with code 1: cannot reach the gateway 172\.16\.0\.1/,
    );

    // Redelivered once the kubelet backs off: the crash loop's own reason.
    await eventually('the init container in CrashLoopBackOff', () =>
      h.server
        .pods(NAMESPACE)
        .some(
          (pod) =>
            pod.status?.initContainerStatuses?.[0]?.state?.waiting?.reason === 'CrashLoopBackOff',
        ),
    );
    const again = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(again.event?.type, FAILED_TYPE, again.text);
    assert.equal(again.event?.data?.reason, 'CrashLoopBackOff');
    assert.match(
      String(again.event?.data?.message),
      /init container "gateway-init" is waiting: CrashLoopBackOff: back-off 10s restarting failed container=gateway-init .*; it last exited with code 1 \(Error\)/,
    );
    assert.equal(h.server.pods(NAMESPACE).length, 1);
  });
});

describe('WAIT_FOR=ready for a pod no gateway webhook wired up', () => {
  it('replies failed NotRouted at once, without waiting for the pod, and deletes it', async () => {
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'baz' }), 'binary');

    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'NotRouted');
    assert.deepEqual(h.server.pods(NAMESPACE), []);
  });
});

describe('readyState, on the states a kubelet reports', () => {
  const base: V1Pod = {
    metadata: { name: 'p' },
    spec: { nodeName: 'node-1', containers: [{ name: 'client' }] },
  };
  const withStatus = (status: V1Pod['status']): V1Pod => ({ ...base, status });

  it('waits while Pending, and while Running with the client container not yet ready', () => {
    assert.equal(readyState(withStatus({ phase: 'Pending' })).kind, 'pending');
    const running = withStatus({
      phase: 'Running',
      podIP: '10.0.0.1',
      containerStatuses: [
        { name: 'client', ready: false, restartCount: 0, image: 'x', imageID: '' },
      ],
    });
    assert.equal(readyState(running).kind, 'pending');
  });

  it('goes on past an init container that exited 0, and fails on a main container that ended', () => {
    const initDone = withStatus({
      phase: 'Pending',
      initContainerStatuses: [
        {
          name: 'gateway-init',
          ready: true,
          restartCount: 0,
          image: 'x',
          imageID: '',
          state: { terminated: { exitCode: 0, reason: 'Completed' } },
        },
      ],
    });
    assert.equal(readyState(initDone).kind, 'pending');
    const ended = withStatus({
      phase: 'Running',
      containerStatuses: [
        {
          name: 'client',
          ready: false,
          restartCount: 0,
          image: 'x',
          imageID: '',
          state: { terminated: { exitCode: 0, reason: 'Completed' } },
        },
      ],
    });
    assert.deepEqual(readyState(ended), {
      kind: 'failed',
      reason: 'Completed',
      message: 'container "client" exited with code 0',
    });
  });

  it('with the routing check, is ready only once the gateway’s init container has completed', () => {
    const client = { name: 'client', ready: true, restartCount: 0, image: 'x', imageID: '' };
    const init = (state: V1ContainerState) => ({
      name: 'gateway-init',
      ready: false,
      restartCount: 0,
      image: 'x',
      imageID: '',
      state,
    });
    const running = (initStatuses: V1ContainerStatus[]) =>
      withStatus({
        phase: 'Running',
        podIP: '10.0.0.1',
        initContainerStatuses: initStatuses,
        containerStatuses: [client],
      });
    assert.equal(readyState(running([]), 'gateway-init').kind, 'pending');
    assert.equal(readyState(running([init({ running: {} })]), 'gateway-init').kind, 'pending');
    assert.equal(
      readyState(running([init({ terminated: { exitCode: 0 } })]), 'gateway-init').kind,
      'ready',
    );
    // Without the check, the kubelet's word that the client is ready is enough.
    assert.equal(readyState(running([])).kind, 'ready');
  });

  it('fails with the pod’s reason when it ended before it was ready (activeDeadlineSeconds)', () => {
    const state = readyState(
      withStatus({
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        message: 'Pod was active too long',
      }),
    );
    assert.equal(state.kind, 'failed');
    assert.equal(state.kind === 'failed' && state.reason, 'DeadlineExceeded');
  });
});
