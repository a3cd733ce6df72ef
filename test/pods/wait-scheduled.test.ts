// WAIT_FOR=scheduled: `done` only once the scheduler has placed the pod (with the node's name),
// `failed` Unschedulable with the scheduler's message, 503 when the deadline passes first; every
// waiting event served by one shared watch, resumed or listed again as the API server requires.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { eventually } from '../../testbed/eventually.ts';
import { startScheduler } from '../../testbed/kube-api-server/scheduler.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

// The function shares the test's process and its event loop (testbed/function-in-process.ts):
// the deadline leaves room for the test's own bursts (1,001 pods added in one turn) on a busy
// machine; the test that waits for it to pass takes that long.
const h = useHarness({
  WAIT_FOR: 'scheduled',
  EVENT_DEADLINE_MS: '8000',
});

beforeEach(() => h.server.reset());

/** The function's pods the test server holds, by name. */
const podNames = () => h.server.pods('default').map((pod) => pod.metadata?.name ?? '');

/** Acts as the scheduler: once the pod exists, does `act` to it. */
async function whenCreated(act: (name: string) => void): Promise<void> {
  const created = () => h.server.pods('default')[0]?.metadata?.name;
  await eventually('the pod to be created', () => created() !== undefined, { timeoutMs: 2000 });
  act(created() ?? '');
}

describe('WAIT_FOR=scheduled', () => {
  it('replies done with the node name once the pod is scheduled', async () => {
    const [reply] = await Promise.all([
      sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary'),
      whenCreated((name) => setTimeout(() => h.server.bindPod('default', name, 'node-7'), 200)),
    ]);
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(reply.event?.data?.node_name, 'node-7');
    assert.match(String(reply.event?.data?.message), /scheduled on node node-7/);
    assert.ok(h.server.requests.some((request) => request.verb === 'watch'));
  });

  it('replies failed Unschedulable with the scheduler’s message', async () => {
    const message = '0/3 nodes are available: 3 Insufficient memory.';
    const [reply] = await Promise.all([
      sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'structured'),
      whenCreated((name) =>
        h.server.updatePodStatus('default', name, {
          conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
        }),
      ),
    ]);
    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'Unschedulable');
    assert.match(String(reply.event?.data?.message), /3 Insufficient memory/);
  });

  it('answers 503 when the pod is still unscheduled at the deadline, and done on redelivery once it is', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const first = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(first.status, 503);
    assert.ok(first.headers.get('retry-after'));
    const [pod] = h.server.pods('default');
    h.server.bindPod('default', pod?.metadata?.name ?? '', 'node-1');
    const again = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(again.event?.type, DONE_TYPE);
    assert.equal(again.event?.data?.node_name, 'node-1');
    assert.equal(h.server.pods('default').length, 1);
  });

  it('serves many events waiting at once from one watch', async () => {
    const events = Array.from({ length: 24 }, () => pendingEvent({ gateway_name: 'foo' }));
    const replies = Promise.all(events.map((event) => sendEvent(h.fn.url, event, 'binary')));
    await eventually('every pod created', () => podNames().length === events.length);
    await eventually('the watch open', () => h.server.openWatches > 0);
    assert.equal(h.server.openWatches, 1, 'one watch for every waiting event');
    for (const [i, name] of podNames().entries()) h.server.bindPod('default', name, `node-${i}`);
    for (const reply of await replies) assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const watches = h.server.requests.filter((request) => request.verb === 'watch');
    assert.ok(watches.length <= 2, `${watches.length} watch requests for ${events.length} events`);
    for (const watch of watches) {
      assert.equal(
        watch.query.labelSelector,
        'app.kubernetes.io/managed-by=podgateway-client-provisioner',
      );
    }
  });

  it('resumes the watch from the last resourceVersion it saw, without listing again', async () => {
    const reply = sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    await eventually('the pod created', () => podNames().length === 1);
    await eventually('the watch open', () => h.server.openWatches === 1);
    const lists = () => h.server.requests.filter((request) => request.verb === 'list').length;
    const listsBefore = lists();
    const watchesBefore = h.server.requests.filter((request) => request.verb === 'watch').length;
    // In one turn of the event loop: the binding happens while no watch is open.
    h.server.endWatches();
    h.server.bindPod('default', podNames()[0] ?? '', 'node-4');
    const answered = await reply;
    assert.equal(answered.event?.type, DONE_TYPE, answered.text);
    assert.equal(answered.event?.data?.node_name, 'node-4');
    assert.equal(lists(), listsBefore, 'no list');
    const resumed = h.server.requests
      .filter((request) => request.verb === 'watch')
      .slice(watchesBefore);
    assert.ok(resumed.length >= 1);
    assert.match(resumed[0]?.query.resourceVersion ?? '', /^\d+$/);
  });

  it('lists again when the watch cannot resume (410 Gone), and sees what changed meanwhile', async () => {
    h.server.addNamespace('other');
    const reply = sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    await eventually('the pod created', () => podNames().length === 1);
    await eventually('the watch open', () => h.server.openWatches === 1);
    const listsBefore = h.server.requests.filter((request) => request.verb === 'list').length;
    // All in one turn of the test's event loop: the function cannot resume before the binding
    // and 1,001 other changes have pushed its resourceVersion out of the server's history.
    h.server.endWatches();
    h.server.bindPod('default', podNames()[0] ?? '', 'node-9');
    for (let i = 0; i < 1001; i += 1) {
      h.server.addPod({
        metadata: { name: `filler-${i}`, namespace: 'other' },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      });
    }
    const answered = await reply;
    assert.equal(answered.event?.type, DONE_TYPE, answered.text);
    assert.equal(answered.event?.data?.node_name, 'node-9');
    const lists = h.server.requests.filter((request) => request.verb === 'list').length;
    assert.ok(lists > listsBefore, 'the pods were listed again');
  });

  it('replies failed when the pod is deleted while the event waits', async () => {
    const [reply] = await Promise.all([
      sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary'),
      whenCreated((name) => h.server.deletePod('default', name)),
    ]);
    assert.equal(reply.event?.type, FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'Unschedulable');
    assert.match(String(reply.event?.data?.message), /deleted before it was scheduled/);
  });

  describe('a redelivery after the pod was deleted, while the watch lags', () => {
    const PODS = '/api/v1/namespaces/default/pods';
    /** Ends the watch; the function's next watch request is held for 1.5 s. */
    const lagTheWatch = () => {
      h.server.injectFault({ method: 'GET', path: PODS, delayMs: 1500 });
      h.server.endWatches();
    };
    const uidOfPod = () => h.server.pods('default')[0]?.metadata?.uid;

    it('is not answered from the deleted pod’s replayed DELETED', async () => {
      const event = pendingEvent({ gateway_name: 'foo' });
      const [first] = await Promise.all([
        sendEvent(h.fn.url, event, 'binary'),
        whenCreated((name) => h.server.bindPod('default', name, 'node-old')),
      ]);
      assert.equal(first.event?.data?.node_name, 'node-old', first.text);
      const name = podNames()[0] ?? '';
      const oldUid = uidOfPod();
      lagTheWatch();
      h.server.deletePod('default', name);
      const again = sendEvent(h.fn.url, event, 'binary');
      await eventually(
        'the new pod created',
        () => uidOfPod() !== undefined && uidOfPod() !== oldUid,
      );
      await eventually('the watch resumed', () => h.server.openWatches === 1);
      // Streamed after the replay of the old pod's changes.
      h.server.bindPod('default', name, 'node-new');
      const reply = await again;
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(reply.event?.data?.node_name, 'node-new');
    });

    it('is not answered from the deleted pod’s replayed binding', async () => {
      const event = pendingEvent({ gateway_name: 'foo' });
      const first = sendEvent(h.fn.url, event, 'binary');
      await eventually('the pod created', () => podNames().length === 1);
      await eventually('the watch open', () => h.server.openWatches === 1);
      const name = podNames()[0] ?? '';
      const oldUid = uidOfPod();
      lagTheWatch();
      h.server.bindPod('default', name, 'node-old');
      h.server.deletePod('default', name);
      const again = sendEvent(h.fn.url, event, 'structured');
      await eventually(
        'the new pod created',
        () => uidOfPod() !== undefined && uidOfPod() !== oldUid,
      );
      await eventually('the watch resumed', () => h.server.openWatches === 1);
      h.server.bindPod('default', name, 'node-new');
      // The first delivery waited for the old pod: it was scheduled, on its node.
      assert.equal((await first).event?.data?.node_name, 'node-old');
      const reply = await again;
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(reply.event?.data?.node_name, 'node-new');
    });
  });

  it('replies done for pods the scheduler binds, and failed for those it cannot place', async () => {
    const scheduler = startScheduler(h.server, {
      bindAfterMs: 30,
      unschedulable: (pod) =>
        pod.metadata?.labels?.setGateway === 'bar'
          ? '0/3 nodes are available: 3 Too many pods.'
          : undefined,
    });
    try {
      const [foo, bar] = await Promise.all([
        sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary'),
        sendEvent(h.fn.url, pendingEvent({ gateway_name: 'bar' }), 'structured'),
      ]);
      assert.equal(foo.event?.type, DONE_TYPE, foo.text);
      assert.match(String(foo.event?.data?.node_name), /^node-\d$/);
      assert.equal(bar.event?.type, FAILED_TYPE, bar.text);
      assert.equal(bar.event?.data?.reason, 'Unschedulable');
      assert.match(String(bar.event?.data?.message), /Too many pods/);
    } finally {
      scheduler.stop();
    }
  });
});

describe('WAIT_FOR=scheduled without the right to list pods', () => {
  let denyList = true;
  const denied = useHarness(
    { WAIT_FOR: 'scheduled', EVENT_DEADLINE_MS: '3000' },
    { authorize: (request) => !(denyList && request.verb === 'list') },
  );
  afterEach(() => {
    denyList = true;
  });

  it('replies failed Forbidden, and watches once the Role allows it', async () => {
    const refused = await sendEvent(denied.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(refused.event?.type, FAILED_TYPE, refused.text);
    assert.equal(refused.event?.data?.reason, 'Forbidden');
    assert.match(String(refused.event?.data?.message), /refused to list or watch pods: HTTP 403/);
    denyList = false;
    const event = pendingEvent({ gateway_name: 'foo' });
    const [reply] = await Promise.all([
      sendEvent(denied.fn.url, event, 'binary'),
      (async () => {
        const created = () =>
          denied.server
            .pods('default')
            .find((p) => p.metadata?.annotations?.['podgateway.io/event-id'] === event.id)?.metadata
            ?.name;
        await eventually('the pod to be created', () => created() !== undefined);
        denied.server.bindPod('default', created() ?? '', 'node-2');
      })(),
    ]);
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(reply.event?.data?.node_name, 'node-2');
  });
});
