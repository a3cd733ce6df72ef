// Sweeps cannot be multiplied: any producer may send them, and each lists every pod of the
// function. One runs at a time per process (the others share its answer), one soon after a
// complete sweep is answered without listing (SWEEP_INTERVAL_SECONDS, 60 by default), and the
// PingSource's type is served only from the PingSource's own source (PING_SOURCE).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { DEFAULTS } from '../../src/config/config.ts';
import { SWEEP_DONE_TYPE, SWEEP_TYPE } from '../../src/events/event-types.ts';
import { PING_TYPE } from '../../src/handlers/sweep.ts';
import { ANNOTATIONS, MANAGER_NAME, podNameFor } from '../../src/pods/client-pod.ts';
import { sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const h = useHarness({});

let sequence = 0;
function sweepEvent(type: string = SWEEP_TYPE, source = '/tests/producer'): CloudEvent<unknown> {
  sequence += 1;
  return new CloudEvent<unknown>({ id: `sweep-${process.pid}-${sequence}`, source, type });
}

/** A pod as the function makes them, in the given phase. */
function addOwnPod(id: string, phase: 'Running' | 'Succeeded'): string {
  const eventSource = '/tests/producer';
  const name = podNameFor({ eventSource, eventId: id });
  h.server.addPod({
    metadata: {
      name,
      namespace: 'default',
      labels: { 'app.kubernetes.io/managed-by': MANAGER_NAME },
      annotations: { [ANNOTATIONS.eventSource]: eventSource, [ANNOTATIONS.eventId]: id },
    },
    spec: { containers: [{ name: 'client', image: 'alpine/curl' }] },
    status: { phase },
  });
  return name;
}

const calls = (verb: string) => h.server.requests.filter((request) => request.verb === verb);

describe('sweeps', () => {
  for (const source of [
    '/tests/producer',
    '/apis/v1/namespaces/other/pingsources/client-provisioner-sweep',
    `${DEFAULTS.pingSource}/`,
  ]) {
    it(`refuses the PingSource's type from ${source} with 400, before any list`, async () => {
      h.server.reset();
      const reply = await sendEvent(h.fn.url, sweepEvent(PING_TYPE, source), 'binary');
      assert.equal(reply.status, 400, reply.text);
      assert.match(reply.text, /accepted only from the PingSource .* \(PING_SOURCE\)/);
      assert.deepEqual(h.server.coreRequests(), []);
    });
  }

  it('run one at a time: sweeps sent at once list the pods once and share the answer', async () => {
    h.server.reset();
    const finished = ['a', 'b', 'c'].map((id) => addOwnPod(id, 'Succeeded'));
    for (let i = 0; i < 250; i += 1) addOwnPod(`live-${i}`, 'Running');
    const replies = await Promise.all(
      Array.from({ length: 8 }, () => sendEvent(h.fn.url, sweepEvent(), 'binary')),
    );
    for (const reply of replies) assert.equal(reply.event?.type, SWEEP_DONE_TYPE, reply.text);
    const ran = replies.filter((reply) => Number(reply.event?.data?.pages) > 0);
    const pages = Number(ran[0]?.event?.data?.pages);
    assert.equal(pages, 3, 'one sweep over 253 pods, 100 a page');
    assert.equal(calls('list').length, pages, 'the pods were listed once, not once per event');
    assert.equal(calls('delete').length, finished.length);
    for (const reply of ran) {
      const deleted = reply.event?.data?.deleted as Array<{ pod_name: string }>;
      assert.deepEqual(deleted.map((d) => d.pod_name).sort(), [...finished].sort());
    }
  });

  it('soon after a complete sweep, answer from it without listing', async () => {
    h.server.reset();
    addOwnPod('later', 'Succeeded');
    for (const type of [SWEEP_TYPE, PING_TYPE]) {
      const source = type === PING_TYPE ? DEFAULTS.pingSource : '/tests/producer';
      const reply = await sendEvent(h.fn.url, sweepEvent(type, source), 'structured');
      assert.equal(reply.event?.type, SWEEP_DONE_TYPE, reply.text);
      assert.deepEqual(reply.event?.data?.deleted, []);
      assert.match(
        String(reply.event?.data?.message),
        /not swept again: the last sweep .* ended \d+ s ago and deleted 3 pod\(s\); sweeps are at least 60 s apart \(SWEEP_INTERVAL_SECONDS\)/,
      );
    }
    assert.deepEqual(h.server.coreRequests(), []);
  });
});
