// The client pod's end, driven by events: `release` deletes a pod the function made (and only
// such a pod), `sweep` deletes the finished and expired ones page by page. Over HTTP into the
// spawned function, out through the real client to the API test server, under deploy/'s Role.

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { CloudEvent } from 'cloudevents';
import {
  RELEASE_DONE_TYPE,
  RELEASE_FAILED_TYPE,
  RELEASE_TYPE,
  SWEEP_DONE_TYPE,
  SWEEP_TYPE,
} from '../../src/events/event-types.ts';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { MAX_MESSAGE_LENGTH } from '../../src/formats/bounded-text.ts';
import { PING_TYPE, SWEEP_PAGE_SIZE } from '../../src/handlers/sweep.ts';
import { ANNOTATIONS, MANAGER_NAME, podNameFor } from '../../src/pods/client-pod.ts';
import type { PodInput } from '../../testbed/kube-api-server/server.ts';
import { MODES, pendingEvent, post, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const NAMESPACE = 'client-system';
const TTL_SECONDS = 3600;

const h = useHarness(
  {
    CLIENT_NAMESPACE: NAMESPACE,
    CLIENT_GRACE_PERIOD_SECONDS: '5',
    CLIENT_TTL_SECONDS: String(TTL_SECONDS),
    // Every sweep here runs; test/handlers/sweep-amplification.test.ts has the interval.
    SWEEP_INTERVAL_SECONDS: '0',
  },
  { namespaces: ['default', NAMESPACE] },
);

beforeEach(() => h.server.reset());

const PRODUCER = '/tests/producer';

let sequence = 0;
function lifecycleEvent(
  type: string,
  data?: unknown,
  source: string = PRODUCER,
): CloudEvent<unknown> {
  sequence += 1;
  return new CloudEvent<unknown>({
    id: `lifecycle-${process.pid}-${sequence}`,
    source,
    type,
    ...(data === undefined ? {} : { datacontenttype: 'application/json', data }),
  });
}

/** The name the function gives the pod of event `id` from PRODUCER. */
const own = (id: string) => podNameFor({ eventSource: PRODUCER, eventId: id });

/**
 * A pod as the function makes them for event `id` of PRODUCER (its label, its event's
 * annotations, the name derived from them), or as someone else does (named `id`).
 */
function pod(id: string, options: { managed?: boolean; namespace?: string } = {}): PodInput {
  const namespace = options.namespace ?? NAMESPACE;
  const spec = { containers: [{ name: 'client', image: 'alpine/curl' }] };
  if (options.managed === false) {
    return { metadata: { name: id, namespace, labels: { app: 'other' } }, spec };
  }
  const labels = { 'app.kubernetes.io/managed-by': MANAGER_NAME };
  const annotations = { [ANNOTATIONS.eventSource]: PRODUCER, [ANNOTATIONS.eventId]: id };
  return { metadata: { name: own(id), namespace, labels, annotations }, spec };
}

const names = (namespace = NAMESPACE) =>
  h.server.pods(namespace).map((stored) => stored.metadata?.name ?? '');

const deletes = () => h.server.requests.filter((request) => request.verb === 'delete');
/** Calls on pods: the Events of an earlier test may still be on their way. */
const podApiCalls = () => h.server.coreRequests();

for (const mode of MODES) {
  describe(`a release event in ${mode} mode`, () => {
    it('deletes the pod a pending event made, with CLIENT_GRACE_PERIOD_SECONDS, and replies done', async () => {
      const created = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), mode);
      assert.equal(created.event?.type, DONE_TYPE, created.text);
      const podName = String(created.event?.data?.pod_name);
      const release = lifecycleEvent(RELEASE_TYPE, { pod_name: podName, namespace: NAMESPACE });

      const reply = await sendEvent(h.fn.url, release, mode);

      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.event?.type, RELEASE_DONE_TYPE);
      assert.equal(reply.event?.inresponseto, release.id);
      assert.equal(reply.event?.subject, podName);
      assert.equal(reply.event?.data?.pod_name, podName);
      assert.equal(reply.event?.data?.namespace, NAMESPACE);
      assert.equal(reply.event?.data?.deleted, true);
      assert.equal(typeof reply.event?.data?.age_seconds, 'number');
      assert.deepEqual(names(), []);
      const [deletion] = deletes();
      assert.equal(deletion?.path, `/api/v1/namespaces/${NAMESPACE}/pods/${podName}`);
      assert.equal(deletion?.query.gracePeriodSeconds, '5');
    });

    it('replies done again when the release is delivered again, the pod being gone', async () => {
      h.server.addPod(pod('client-foo-0123456789ab'));
      const release = lifecycleEvent(RELEASE_TYPE, { pod_name: own('client-foo-0123456789ab') });
      const first = await sendEvent(h.fn.url, release, mode);
      const again = await sendEvent(h.fn.url, release, mode);

      assert.equal(first.event?.data?.deleted, true, first.text);
      assert.equal(again.event?.type, RELEASE_DONE_TYPE, again.text);
      assert.equal(again.event?.data?.deleted, false);
      assert.match(String(again.event?.data?.message), /already gone/);
      assert.equal(deletes().length, 1, 'deleted once');
    });
  });
}

describe('a release event for a pod the function did not make', () => {
  it('replies failed NotManaged and leaves a pod without the managed-by label alone', async () => {
    h.server.addPod(pod('someone-elses', { managed: false }));
    const reply = await sendEvent(
      h.fn.url,
      lifecycleEvent(RELEASE_TYPE, { pod_name: 'someone-elses' }),
      'binary',
    );
    assert.equal(reply.event?.type, RELEASE_FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'NotManaged');
    assert.equal(reply.event?.data?.pod_name, 'someone-elses');
    assert.match(String(reply.event?.data?.message), /not made by this function/);
    assert.deepEqual(names(), ['someone-elses']);
    assert.equal(deletes().length, 0);
  });

  it('bounds the API’s message in the failed reply, as a pending event’s', async () => {
    h.server.addPod(pod('long-refusal'));
    // A permanent refusal whose message (the API server may repeat a webhook's) runs long.
    const message = `no: ${'x'.repeat(10_000)}`;
    h.server.injectFault({
      method: 'GET',
      path: /\/pods\//,
      status: 422,
      reason: 'Invalid',
      message,
    });
    const reply = await sendEvent(
      h.fn.url,
      lifecycleEvent(RELEASE_TYPE, { pod_name: own('long-refusal') }),
      'binary',
    );
    assert.equal(reply.event?.type, RELEASE_FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'Invalid');
    const said = String(reply.event?.data?.message);
    assert.ok(said.length < MAX_MESSAGE_LENGTH + 40, `${said.length} characters`);
    assert.match(said, /^no: x+…\[\+\d+ characters\]$/);
    assert.equal(deletes().length, 0);
  });

  // kube-apiserver serves before it is ready: until its RBAC caches have synced after a start,
  // it refuses what the Role allows (kubernetes/kubernetes#121635).
  it('answers an RBAC Forbidden 503 while kube-apiserver is not ready: the redelivery deletes the pod', async () => {
    h.server.addPod(pod('starting-api'));
    const release = lifecycleEvent(RELEASE_TYPE, { pod_name: own('starting-api') });
    h.server.injectFault({
      method: 'GET',
      path: /\/pods\//,
      status: 403,
      message: `pods "${own('starting-api')}" is forbidden: User "system:serviceaccount:default:provisioner" cannot get resource "pods"`,
    });
    h.server.injectFault({ method: 'GET', path: '/readyz', status: 500 });
    const reply = await sendEvent(h.fn.url, release, 'binary');
    assert.equal(reply.status, 503, reply.text);
    assert.equal(reply.headers.get('retry-after'), '1');
    assert.match(reply.text, /"error":"ApiUnavailable".*not ready yet.*cannot get resource/);
    assert.deepEqual(names(), [own('starting-api')], 'the pod is still there');
    const again = await sendEvent(h.fn.url, release, 'binary');
    assert.equal(again.event?.type, RELEASE_DONE_TYPE, again.text);
    assert.equal(again.event?.data?.deleted, true);
    assert.deepEqual(names(), []);
  });

  it('answers an RBAC Forbidden failed once kube-apiserver is ready', async () => {
    h.server.addPod(pod('ready-api'));
    h.server.injectFault({ method: 'GET', path: /\/pods\//, status: 403, message: 'forbidden' });
    const reply = await sendEvent(
      h.fn.url,
      lifecycleEvent(RELEASE_TYPE, { pod_name: own('ready-api') }),
      'binary',
    );
    assert.equal(reply.event?.type, RELEASE_FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'Forbidden');
    assert.equal(deletes().length, 0);
  });

  it('replies failed InvalidPodName for a misspelt pod_name, suggesting it', async () => {
    const reply = await sendEvent(
      h.fn.url,
      lifecycleEvent(RELEASE_TYPE, { podname: own('client-foo-0123456789ab') }),
      'structured',
    );
    assert.equal(reply.event?.type, RELEASE_FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'InvalidPodName');
    assert.match(
      String(reply.event?.data?.message),
      /; data\.podname was given: did you mean "pod_name"\?$/,
    );
  });

  it('replies failed NotManaged for another namespace, without asking the API', async () => {
    h.server.addPod(pod('client-foo-0123456789ab', { namespace: 'default' }));
    const reply = await sendEvent(
      h.fn.url,
      lifecycleEvent(RELEASE_TYPE, {
        pod_name: own('client-foo-0123456789ab'),
        namespace: 'default',
      }),
      'structured',
    );
    assert.equal(reply.event?.type, RELEASE_FAILED_TYPE, reply.text);
    assert.equal(reply.event?.data?.reason, 'NotManaged');
    // The request named the namespace; where the pod is, the function did not ask.
    assert.match(
      String(reply.event?.data?.message),
      /^data\.namespace "default" is not the namespace this function manages/,
    );
    assert.doesNotMatch(String(reply.event?.data?.message), /is in namespace/);
    assert.deepEqual(names('default'), [own('client-foo-0123456789ab')]);
    assert.equal(podApiCalls().length, 0);
  });
});

describe('a release event from another source than the pod’s event', () => {
  for (const source of ['/tests/other', '/tests/producer/', '/Tests/producer']) {
    it(`replies failed NotOwner for ${source} and deletes nothing`, async () => {
      const created = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      const podName = String(created.event?.data?.pod_name);
      const release = lifecycleEvent(RELEASE_TYPE, { pod_name: podName }, source);
      const reply = await sendEvent(h.fn.url, release, 'structured');
      assert.equal(reply.event?.type, RELEASE_FAILED_TYPE, reply.text);
      assert.equal(reply.event?.data?.reason, 'NotOwner');
      assert.match(String(reply.event?.data?.message), /only that source may release it/);
      assert.deepEqual(names(), [podName]);
      assert.equal(deletes().length, 0);
    });
  }
});

describe('a pod that claims to be the function’s by its label alone', () => {
  /** The managed-by label, and what else a pod copied or made by hand may carry. */
  const claims: Array<[string, (input: PodInput) => PodInput]> = [
    ['the label only', (input) => ({ ...input, metadata: { ...input.metadata, annotations: {} } })],
    [
      'the label and annotations, under another name (a copy)',
      (input) => ({
        ...input,
        metadata: { ...input.metadata, name: 'client-0000aaaa0000aaaa0000' },
      }),
    ],
    [
      'the label and a name, with the annotations of another event',
      (input) => ({
        ...input,
        metadata: {
          ...input.metadata,
          annotations: { [ANNOTATIONS.eventSource]: PRODUCER, [ANNOTATIONS.eventId]: 'other' },
        },
      }),
    ],
  ];
  for (const [what, claim] of claims) {
    it(`is neither released nor swept: ${what}`, async () => {
      const claimed = claim({ ...pod('claimed'), status: { phase: 'Succeeded' } });
      const name = claimed.metadata?.name ?? '';
      h.server.addPod(claimed);
      const release = await sendEvent(
        h.fn.url,
        lifecycleEvent(RELEASE_TYPE, { pod_name: name }),
        'binary',
      );
      assert.equal(release.event?.data?.reason, 'NotManaged', release.text);
      const sweep = await sendEvent(h.fn.url, lifecycleEvent(SWEEP_TYPE), 'binary');
      assert.deepEqual(sweep.event?.data?.deleted, [], sweep.text);
      assert.deepEqual(names(), [name]);
      assert.equal(deletes().length, 0);
    });
  }
});

describe('a release event with bad data', () => {
  it('answers 400 when pod_name is not a string or there is no data', async () => {
    for (const data of [{ pod_name: 7 }, undefined, ['client-foo']]) {
      const reply = await sendEvent(h.fn.url, lifecycleEvent(RELEASE_TYPE, data), 'binary');
      assert.equal(reply.status, 400, reply.text);
      const body = JSON.parse(reply.text) as { error: string; message: string };
      assert.equal(body.error, 'BadRequest');
      assert.match(body.message, /pod_name|no data|an array/);
    }
  });

  it('replies failed InvalidPodName for an empty or impossible name, and calls no API', async () => {
    for (const podName of ['', 'Not_A_Pod', 'x'.repeat(254)]) {
      const reply = await sendEvent(
        h.fn.url,
        lifecycleEvent(RELEASE_TYPE, { pod_name: podName }),
        'binary',
      );
      assert.equal(reply.event?.type, RELEASE_FAILED_TYPE, reply.text);
      assert.equal(reply.event?.data?.reason, 'InvalidPodName');
    }
    assert.equal(podApiCalls().length, 0);
  });
});

// One validation path for every type: the trace context is copied into every reply, so a value
// that cannot be a header is refused before a handler acts, whatever the event's type.
describe('a release or sweep event whose trace context cannot be carried back', () => {
  for (const traceparent of [
    '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\nx-injected: 1',
    'not-a-traceparent',
  ]) {
    it(`is refused with 400 before anything is deleted: traceparent ${JSON.stringify(traceparent)}`, async () => {
      h.server.addPod(pod('client-traced'));
      h.server.addPod({
        ...pod('client-finished'),
        status: { phase: 'Succeeded' },
      });
      for (const event of [
        lifecycleEvent(RELEASE_TYPE, { pod_name: own('client-traced') }),
        lifecycleEvent(SWEEP_TYPE),
      ]) {
        const body = JSON.stringify({ ...event.toJSON(), traceparent });
        const reply = await post(
          h.fn.url,
          { 'content-type': 'application/cloudevents+json' },
          body,
        );
        assert.equal(reply.status, 400, reply.text);
        assert.match(reply.text, /traceparent/);
      }
      assert.deepEqual(deletes(), []);
      assert.deepEqual(names().sort(), [own('client-finished'), own('client-traced')].sort());
    });
  }
});

describe('an unknown event type', () => {
  it('answers 400 naming the three types handled', async () => {
    const reply = await sendEvent(h.fn.url, lifecycleEvent('com.example.other', {}), 'binary');
    assert.equal(reply.status, 400);
    for (const type of ['io.podgateway.client.pending', RELEASE_TYPE, SWEEP_TYPE]) {
      assert.ok(reply.text.includes(type), reply.text);
    }
  });
});

describe('a sweep event', () => {
  it('deletes exactly the finished and expired managed pods, over several pages', async () => {
    // Made two hours ago: past the TTL.
    const twoHoursAgo = new Date(Date.now() - 2 * TTL_SECONDS * 1000)
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
    const dated = (input: PodInput): PodInput => ({
      ...input,
      metadata: { ...input.metadata, creationTimestamp: twoHoursAgo },
    });
    const expired = Array.from({ length: 30 }, (_, i) => `old-${String(i).padStart(3, '0')}`);
    for (const name of expired) h.server.addPod(dated(pod(name)));
    h.server.addPod(dated(pod('old-not-ours', { managed: false })));

    const succeeded = Array.from({ length: 110 }, (_, i) => `done-${String(i).padStart(3, '0')}`);
    const failedPods = Array.from(
      { length: 40 },
      (_, i) => `crashed-${String(i).padStart(3, '0')}`,
    );
    const running = Array.from({ length: 90 }, (_, i) => `live-${String(i).padStart(3, '0')}`);
    for (const name of succeeded) h.server.addPod({ ...pod(name), status: { phase: 'Succeeded' } });
    // Each failed a minute after the one before; a crash-looping pod never reaches Failed.
    failedPods.forEach((name, i) => {
      const finishedAt = new Date(Date.now() - (failedPods.length - i) * 60_000).toISOString();
      const containerStatuses = [
        {
          name: 'client',
          ready: false,
          restartCount: 0,
          image: 'alpine/curl',
          imageID: '',
          state:
            i === failedPods.length - 1
              ? { waiting: { reason: 'CrashLoopBackOff' } }
              : { terminated: { exitCode: 1, finishedAt } },
          ...(i === failedPods.length - 1
            ? { lastState: { terminated: { exitCode: 1, finishedAt } } }
            : {}),
        },
      ];
      const phase = i === failedPods.length - 1 ? 'Running' : 'Failed';
      h.server.addPod({ ...pod(name), status: { phase, containerStatuses } });
    });
    // FAILED_PODS_HISTORY_LIMIT's default: the three newest failures stay, for their logs.
    const keptFailures = failedPods.slice(-3);
    const sweptFailures = failedPods.slice(0, -3);
    for (const name of running) h.server.addPod({ ...pod(name), status: { phase: 'Running' } });
    // Not the function's: finished too, but never touched.
    h.server.addPod({
      ...pod('finished-not-ours', { managed: false }),
      status: { phase: 'Succeeded' },
    });
    h.server.addPod({ ...pod('elsewhere', { namespace: 'default' }), status: { phase: 'Failed' } });

    const sweep = lifecycleEvent(SWEEP_TYPE);
    const reply = await sendEvent(h.fn.url, sweep, 'binary');

    assert.equal(reply.event?.type, SWEEP_DONE_TYPE, reply.text);
    assert.equal(reply.event?.inresponseto, sweep.id);
    const data = reply.event?.data as {
      deleted: Array<{ pod_name: string; reason: string }>;
      complete: boolean;
      pages: number;
    };
    const byReason = (reason: string) =>
      data.deleted
        .filter((d) => d.reason === reason)
        .map((d) => d.pod_name)
        .sort();
    const named = (ids: readonly string[]) => ids.map(own).sort();
    assert.deepEqual(byReason('Expired'), named(expired));
    assert.deepEqual(byReason('Succeeded'), named(succeeded));
    assert.deepEqual(byReason('Failed'), named(sweptFailures));
    assert.equal(data.deleted.length, expired.length + succeeded.length + sweptFailures.length);
    assert.equal(data.complete, true);
    assert.deepEqual(
      names(),
      ['finished-not-ours', 'old-not-ours', ...named(running), ...named(keptFailures)].sort(),
    );
    assert.deepEqual(names('default'), [own('elsewhere')]);

    const lists = h.server.requests.filter((request) => request.verb === 'list');
    const total = expired.length + succeeded.length + failedPods.length + running.length;
    assert.ok(total > 2 * SWEEP_PAGE_SIZE, 'enough pods for three pages');
    assert.ok(lists.length >= 3, `${lists.length} list requests`);
    assert.equal(data.pages, lists.length);
    for (const list of lists) {
      assert.equal(list.query.labelSelector, `app.kubernetes.io/managed-by=${MANAGER_NAME}`);
      assert.equal(list.query.limit, String(SWEEP_PAGE_SIZE));
    }
    assert.ok(
      lists.slice(1).every((list) => list.query.continue),
      'later pages continue',
    );

    const again = await sendEvent(h.fn.url, sweep, 'structured');
    assert.equal(again.event?.type, SWEEP_DONE_TYPE, again.text);
    assert.deepEqual(again.event?.data?.deleted, []);
    assert.equal(
      names().length,
      running.length + 2 + keptFailures.length,
      'a redelivered sweep deletes nothing more',
    );
  });

  it('is also what the scheduled PingSource event does', async () => {
    h.server.addPod({ ...pod('done-1'), status: { phase: 'Succeeded' } });
    h.server.addPod(pod('live-1'));
    const ping = new CloudEvent<unknown>({
      id: `ping-${process.pid}`,
      source: `/apis/v1/namespaces/podgateway-provisioner/pingsources/client-provisioner-sweep`,
      type: PING_TYPE,
    });
    const reply = await sendEvent(h.fn.url, ping, 'binary');
    assert.equal(reply.event?.type, SWEEP_DONE_TYPE, reply.text);
    assert.deepEqual(reply.event?.data?.deleted, [
      { pod_name: own('done-1'), reason: 'Succeeded' },
    ]);
    assert.deepEqual(names(), [own('live-1')]);
  });
});

/** The sum of a metric's samples whose labels include `labels`, from the function's /metrics. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${h.fn.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const has = Object.entries(labels).every(([key, value]) =>
      (match[2] ?? '').includes(`${key}="${value}"`),
    );
    if (has) sum += Number(match[3]);
  }
  return sum;
}

describe('metrics', () => {
  it('count pods released and swept, and observe the age of released pods', async () => {
    const before = {
      deleted: await metric('podgateway_pods_released_total', { outcome: 'deleted' }),
      gone: await metric('podgateway_pods_released_total', { outcome: 'gone' }),
      swept: await metric('podgateway_pods_swept_total', { reason: 'Succeeded' }),
      ages: await metric('podgateway_pod_age_at_release_seconds_count'),
    };
    h.server.addPod(pod('client-a'));
    h.server.addPod({ ...pod('client-b'), status: { phase: 'Succeeded' } });
    const release = lifecycleEvent(RELEASE_TYPE, { pod_name: own('client-a') });
    await sendEvent(h.fn.url, release, 'binary');
    await sendEvent(h.fn.url, release, 'binary');
    await sendEvent(h.fn.url, lifecycleEvent(SWEEP_TYPE), 'binary');

    assert.equal(
      await metric('podgateway_pods_released_total', { outcome: 'deleted' }),
      before.deleted + 1,
    );
    assert.equal(
      await metric('podgateway_pods_released_total', { outcome: 'gone' }),
      before.gone + 1,
    );
    assert.equal(
      await metric('podgateway_pods_swept_total', { reason: 'Succeeded' }),
      before.swept + 1,
    );
    assert.equal(await metric('podgateway_pod_age_at_release_seconds_count'), before.ages + 1);
  });
});
