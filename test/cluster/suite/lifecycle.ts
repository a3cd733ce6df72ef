// A pod's end through the real API: a redelivery meeting its pod terminating, a release, and a
// sweep that pages through more finished pods than one list page holds (real label selectors
// and continue tokens).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { CloudEvent } from 'cloudevents';
import { RELEASE_TYPE, SWEEP_TYPE } from '../../../src/events/event-types.ts';
import { SWEEP_PAGE_SIZE } from '../../../src/handlers/sweep.ts';
import { ANNOTATIONS, MANAGER_NAME, podNameFor } from '../../../src/pods/client-pod.ts';
import type { RunningFunction } from '../../../testbed/function-process.ts';
import { sendEvent } from '../../support/events.ts';
import {
  CLIENT_NAMESPACE,
  type PendingEvent,
  pendingFor,
  podOf,
  replyData,
  retryBody,
  type Suite,
  send,
  waitFor,
} from './context.ts';

const DONE = 'io.podgateway.client.scheduling.done';
const HOLD = 'podgateway.test/hold';
/** More than two pages of the sweep's list. */
const FINISHED_PODS = SWEEP_PAGE_SIZE * 2 + 5;

function releaseOf(made: PendingEvent, podName: string): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    id: `release-${made.id}`,
    source: made.source,
    type: RELEASE_TYPE,
    datacontenttype: 'application/json',
    data: { pod_name: podName },
  });
}

function sweepEvent(): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    id: `sweep-${process.pid}-${Date.now()}`,
    source: '/tests/sweeper',
    type: SWEEP_TYPE,
  });
}

/** A pod as the function makes one, left to no scheduler so that nothing but the test moves it. */
function finishedPodBody(index: number): k8s.V1Pod {
  const eventSource = '/tests/finished';
  const eventId = `finished-${index}`;
  return {
    metadata: {
      name: podNameFor({ eventSource, eventId }),
      labels: { 'app.kubernetes.io/managed-by': MANAGER_NAME },
      annotations: { [ANNOTATIONS.eventSource]: eventSource, [ANNOTATIONS.eventId]: eventId },
    },
    spec: {
      schedulerName: 'podgateway-test-none',
      automountServiceAccountToken: false,
      containers: [{ name: 'client', image: 'alpine/curl' }],
    },
  };
}

async function createFinishedPods(suite: Suite): Promise<string[]> {
  const names: string[] = [];
  for (let index = 0; index < FINISHED_PODS; index += 1) {
    const body = finishedPodBody(index);
    await suite.core.createNamespacedPod({ namespace: CLIENT_NAMESPACE, body });
    const name = body.metadata?.name ?? '';
    await suite.core.replaceNamespacedPodStatus({
      name,
      namespace: CLIENT_NAMESPACE,
      body: { ...(await suite.readPod(name)), status: { phase: 'Succeeded' } },
    });
    names.push(name);
  }
  return names;
}

async function setFinalizers(suite: Suite, name: string, finalizers: string[] | null) {
  await suite.core.patchNamespacedPod(
    { name, namespace: CLIENT_NAMESPACE, body: { metadata: { finalizers } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

export function describeLifecycle(suite: Suite): void {
  describe('terminating, release and sweep', () => {
    let fn: RunningFunction | undefined;
    const running = () => {
      if (fn === undefined) throw new Error('the function is not running');
      return fn;
    };
    before(async () => {
      await suite.deleteOwnPods();
      fn = await suite.startFunction({ SWEEP_INTERVAL_SECONDS: '0', EVENT_DEADLINE_MS: '60000' });
    });
    after(() => fn?.stop());

    it('answers 503 PodTerminating while its pod is being deleted, then makes a fresh one', async () => {
      const event = pendingFor('foo');
      assert.equal((await send(running(), event)).event?.type, DONE);
      const name = podOf(event);
      const uid = (await suite.readPod(name)).metadata?.uid;
      // kwok removes a terminating pod at once: a finalizer keeps it terminating.
      await setFinalizers(suite, name, [HOLD]);
      await suite.core.deleteNamespacedPod({
        name,
        namespace: CLIENT_NAMESPACE,
        gracePeriodSeconds: 300,
      });
      await waitFor('the pod terminating', async () => {
        return (await suite.readPod(name)).metadata?.deletionTimestamp !== undefined;
      });

      const reply = await send(running(), event);
      assert.equal(reply.status, 503, reply.text);
      assert.equal(retryBody(reply).error, 'PodTerminating');
      assert.match(reply.headers.get('retry-after') ?? '', /^[1-9]\d*$/);

      await setFinalizers(suite, name, null);
      await waitFor('the pod gone', async () => !(await suite.podExists(name)));
      const again = await send(running(), event);
      assert.equal(again.event?.type, DONE, again.text);
      assert.notEqual((await suite.readPod(name)).metadata?.uid, uid);
    });

    it('releases the pod of its own source, and answers done again once it is gone', async () => {
      const event = pendingFor('bar');
      assert.equal((await send(running(), event)).event?.type, DONE);
      const name = podOf(event);
      const reply = await sendEvent(running().url, releaseOf(event, name), 'binary');
      assert.equal(reply.event?.type, 'io.podgateway.client.release.done', reply.text);
      assert.equal(replyData(reply).deleted, true);
      await waitFor('the released pod gone', async () => !(await suite.podExists(name)));
      const again = await sendEvent(running().url, releaseOf(event, name), 'binary');
      assert.equal(replyData(again).deleted, false, again.text);
    });

    it(`sweeps ${FINISHED_PODS} finished pods page by page (limit ${SWEEP_PAGE_SIZE}, continue)`, async () => {
      const names = await createFinishedPods(suite);
      const reply = await sendEvent(running().url, sweepEvent(), 'binary');
      assert.equal(reply.event?.type, 'io.podgateway.client.sweep.done', reply.text);
      const data = replyData(reply) as { deleted: { pod_name: string; reason: string }[] } & Record<
        string,
        unknown
      >;
      assert.equal(data.complete, true);
      assert.ok(Number(data.pages) >= 3, `pages: ${String(data.pages)}`);
      const swept = new Set(data.deleted.map((pod) => pod.pod_name));
      assert.deepEqual(
        names.filter((name) => !swept.has(name)),
        [],
      );
      assert.ok(
        data.deleted.every((pod) => pod.reason === 'Succeeded' || !names.includes(pod.pod_name)),
      );
      const left = (await suite.ownPods()).filter((pod) =>
        names.includes(pod.metadata?.name ?? ''),
      );
      assert.equal(left.length, 0);

      const second = await sendEvent(running().url, sweepEvent(), 'binary');
      const again = replyData(second) as { deleted: { pod_name: string }[] };
      assert.equal(again.deleted.filter((pod) => names.includes(pod.pod_name)).length, 0);
    });
  });
}
