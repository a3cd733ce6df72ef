// `pending` end to end: each WAIT_FOR against the real scheduler and kwok's kubelets, the pod as
// kube-apiserver stored it after the gateway webhook's mutation, redelivery, NotRouted for real,
// and a WAIT_FOR=ready failure through our kwok stage.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { RunningFunction } from '../../../testbed/function-process.ts';
import { pendingEvent } from '../../support/events.ts';
import {
  CLIENT_NAMESPACE,
  containerNames,
  eventAnnotations,
  pendingFor,
  podOf,
  replyData,
  type Suite,
  send,
  waitFor,
} from './context.ts';

const DONE = 'io.podgateway.client.scheduling.done';
const FAILED = 'io.podgateway.client.scheduling.failed';
/** kwok's fail-init stage (testbed/cluster/stages/) picks pods whose message is this. */
const FAIL_INIT_MESSAGE = 'podgateway.test/fail-init';

/** One function process per WAIT_FOR, for the cases of a describe block. */
function withFunction(suite: Suite, env: Record<string, string>): () => RunningFunction {
  let fn: RunningFunction | undefined;
  before(async () => {
    fn = await suite.startFunction(env);
  });
  after(() => fn?.stop());
  return () => {
    if (fn === undefined) throw new Error('the function is not running');
    return fn;
  };
}

export function describeProvisioning(suite: Suite): void {
  describe('pending, WAIT_FOR=created', () => {
    const fn = withFunction(suite, { WAIT_FOR: 'created' });

    it('answers done with the pod kube-apiserver stored after the webhook mutated it', async () => {
      const event = pendingFor('foo', { message: 'hello' });
      const reply = await send(fn(), event);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.event?.type, DONE);
      const data = replyData(reply);
      assert.equal(data.pod_name, podOf(event));
      assert.equal(data.namespace, 'client-system');
      assert.equal(data.gateway_name, 'foo');

      const pod = await suite.readPod(podOf(event));
      assert.deepEqual(containerNames(pod), {
        init: ['gateway-init'],
        main: ['client', 'gateway-sidecar'],
      });
      assert.equal(pod.spec?.dnsPolicy, 'None');
      assert.deepEqual(pod.spec?.dnsConfig?.nameservers, ['172.16.0.1']);
      assert.deepEqual(pod.spec?.initContainers?.[0]?.securityContext?.capabilities?.add, [
        'NET_ADMIN',
        'NET_RAW',
      ]);
      assert.equal(pod.metadata?.labels?.setGateway, 'foo');
      assert.deepEqual(eventAnnotations(pod), { source: event.source, id: event.id });
      assert.equal(pod.metadata?.annotations?.['podgateway.io/message'], 'hello');
      // Defaults kube-apiserver fills in.
      assert.equal(pod.spec?.restartPolicy, 'Always');
      assert.equal(pod.spec?.serviceAccountName, 'default');
      assert.equal(pod.spec?.automountServiceAccountToken, false);
    });

    it('answers done again for a redelivery, with the same pod', async () => {
      const event = pendingFor('bar');
      const first = await send(fn(), event);
      assert.equal(first.event?.type, DONE, first.text);
      const uid = (await suite.readPod(podOf(event))).metadata?.uid;

      const again = await send(fn(), event);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.event?.type, DONE);
      assert.equal(replyData(again).pod_name, podOf(event));
      assert.equal((await suite.readPod(podOf(event))).metadata?.uid, uid);
      const sameEvent = (await suite.ownPods()).filter(
        (pod) => eventAnnotations(pod).id === event.id,
      );
      assert.equal(sameEvent.length, 1);
    });

    it('writes Provisioned for an id of 1,000 ASCII or 500 × é: the note within 1,024 bytes, as kube-apiserver counts', async () => {
      const events = suite.admin.makeApiClient(k8s.EventsV1Api);
      for (const id of ['a'.repeat(1000), 'é'.repeat(500)]) {
        const event = pendingEvent({ gateway_name: 'foo' }, { id });
        const reply = await send(fn(), event);
        assert.equal(reply.event?.type, DONE, reply.text);
        let notes: string[] = [];
        await waitFor(`the Provisioned Event of ${podOf(event)}`, async () => {
          const list = await events.listNamespacedEvent({
            namespace: CLIENT_NAMESPACE,
            fieldSelector: `regarding.name=${podOf(event)},reason=Provisioned`,
          });
          notes = list.items.map((item) => item.note ?? '');
          return notes.length > 0;
        });
        assert.ok(Buffer.byteLength(notes[0] ?? '') <= 1024);
        assert.ok(notes[0]?.endsWith('…'));
      }
      // What the function must stay under: kube-apiserver counts bytes (Go len), not characters.
      const over = await events
        .createNamespacedEvent({
          namespace: CLIENT_NAMESPACE,
          body: {
            metadata: { name: `bytes-${Date.now()}` },
            eventTime: new k8s.V1MicroTime(),
            regarding: { apiVersion: 'v1', kind: 'Pod', namespace: CLIENT_NAMESPACE, name: 'x' },
            reportingController: 'podgateway.io/client-provisioner',
            reportingInstance: 'suite',
            action: 'Provision',
            reason: 'Provisioned',
            type: 'Normal',
            note: 'é'.repeat(513),
          },
        })
        .then(
          () => 201,
          (error: unknown) => (error instanceof k8s.ApiException ? error.code : 0),
        );
      assert.equal(over, 422, 'a note of 513 characters and 1,026 bytes');
    });

    it("carries a RequestReply's correlation id back as replyid, redelivered or failed", async () => {
      // As RequestReply sets it: `<event id>:<base64url of the encrypted id>:<replica index>`.
      const done = pendingFor('foo');
      const correlation = `${done.id}:${Buffer.from(`sealed-${done.id}`).toString('base64url')}:0`;
      const request = done.cloneWith({ correlationid: correlation });
      for (const reply of [await send(fn(), request), await send(fn(), request)]) {
        assert.equal(reply.event?.type, DONE, reply.text);
        assert.equal(reply.event?.replyid, correlation);
      }
      const notRouted = pendingFor('nobody');
      const failed = await send(
        fn(),
        notRouted.cloneWith({ correlationid: `${notRouted.id}:x:1` }),
      );
      assert.equal(replyData(failed).reason, 'NotRouted', failed.text);
      assert.equal(failed.event?.replyid, `${notRouted.id}:x:1`);
    });

    it('answers failed NotRouted for a gateway no webhook serves, and deletes the pod', async () => {
      const event = pendingFor('baz');
      const reply = await send(fn(), event);
      assert.equal(reply.event?.type, FAILED, reply.text);
      const data = replyData(reply);
      assert.equal(data.reason, 'NotRouted');
      assert.equal(data.pod_name, podOf(event));
      assert.match(String(data.message), /gateway-init/);
      // Deleted at once, with no grace period: gone within seconds (kwok confirms it).
      await waitFor(
        'the unrouted pod gone',
        async () => !(await suite.podExists(podOf(event))),
        10_000,
      );
    });

    it('answers failed NotRouted in a namespace without the routed-gateway label', async () => {
      await suite.labelNamespace('client-system', { 'routed-gateway': null });
      try {
        await suite.waitForAdmission(
          'the webhooks no longer selecting client-system',
          (dryRun) => dryRun.kind === 'admitted' && !dryRun.routed,
        );
        const event = pendingFor('foo');
        const reply = await send(fn(), event);
        assert.equal(reply.event?.type, FAILED, reply.text);
        assert.equal(replyData(reply).reason, 'NotRouted');
        await waitFor(
          'the unrouted pod gone',
          async () => !(await suite.podExists(podOf(event))),
          10_000,
        );
      } finally {
        await suite.labelNamespace('client-system', { 'routed-gateway': 'true' });
        await suite.waitForAdmission(
          'the webhooks selecting client-system again',
          (dryRun) => dryRun.kind === 'admitted' && dryRun.routed,
        );
      }
    });
  });

  describe('pending, WAIT_FOR=scheduled', () => {
    const fn = withFunction(suite, { WAIT_FOR: 'scheduled' });

    it('answers done with the node the real scheduler chose', async () => {
      const event = pendingFor('foo');
      const reply = await send(fn(), event);
      assert.equal(reply.event?.type, DONE, reply.text);
      const node = replyData(reply).node_name;
      assert.ok(suite.cluster.nodeNames.includes(String(node)), `node ${String(node)}`);
      assert.equal((await suite.readPod(podOf(event))).spec?.nodeName, node);
    });
  });

  describe('pending, WAIT_FOR=ready', () => {
    const fn = withFunction(suite, { WAIT_FOR: 'ready' });

    it('answers done once kwok reports the pod Ready, with its IP', async () => {
      const event = pendingFor('foo');
      const reply = await send(fn(), event);
      assert.equal(reply.event?.type, DONE, reply.text);
      const data = replyData(reply);
      const pod = await suite.readPod(podOf(event));
      assert.equal(data.pod_ip, pod.status?.podIP);
      assert.equal(data.node_name, pod.spec?.nodeName);
      assert.equal(typeof data.ready_after_ms, 'number');
      const ready = pod.status?.conditions?.find((condition) => condition.type === 'Ready');
      assert.equal(ready?.status, 'True');
      const init = pod.status?.initContainerStatuses?.[0];
      assert.equal(init?.name, 'gateway-init');
      assert.equal(init?.state?.terminated?.exitCode, 0);

      const again = await send(fn(), event);
      assert.equal(again.event?.type, DONE, again.text);
      assert.equal(replyData(again).pod_ip, pod.status?.podIP);
    });

    it('answers failed when the gateway init container fails (kwok), and keeps the pod', async () => {
      const event = pendingFor('bar', { message: FAIL_INIT_MESSAGE });
      const reply = await send(fn(), event);
      assert.equal(reply.event?.type, FAILED, reply.text);
      const data = replyData(reply);
      assert.equal(data.reason, 'CrashLoopBackOff');
      assert.match(String(data.message), /"gateway-init"/);
      assert.match(String(data.message), /exited with code 1/);
      assert.equal(data.pod_name, podOf(event));
      assert.equal(await suite.podExists(podOf(event)), true);
    });
  });
}
