// WAIT_FOR=scheduled: `done` only once the scheduler has placed the pod (with the node's name),
// `failed` Unschedulable with the scheduler's message, 503 when the deadline passes first.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DONE_TYPE, FAILED_TYPE } from '../src/reply.ts';
import { pendingEvent, sendEvent } from './support/events.ts';
import { useHarness } from './support/harness.ts';

const h = useHarness({
  WAIT_FOR: 'scheduled',
  EVENT_DEADLINE_MS: '3000',
});

beforeEach(() => h.server.reset());

/** Acts as the scheduler: once the pod exists, does `act` to it. */
async function whenCreated(act: (name: string) => void): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    const [pod] = h.server.pods('default');
    if (pod?.metadata?.name) {
      act(pod.metadata.name);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the pod was never created');
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
});
