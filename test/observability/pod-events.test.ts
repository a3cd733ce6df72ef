// The Kubernetes Events on the client pods, end to end: CloudEvents over HTTP into the function,
// Events out through the real client to the API test server (under deploy/'s Role), as
// `kubectl events` would list them. And the occurrences as the recorder words them.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, it } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { EVENT_REASON } from '../../src/formats/reasons.ts';
import { RELEASE_DONE_TYPE, RELEASE_TYPE } from '../../src/handlers/release.ts';
import { SWEEP_DONE_TYPE, SWEEP_TYPE } from '../../src/handlers/sweep.ts';
import {
  isomorphismKey,
  newEvent,
  type PodOccurrence,
  podReference,
  REPORTING_CONTROLLER,
  reportingInstanceOf,
  wordingOf,
} from '../../src/observability/pod-events.ts';
import { eventually } from '../../testbed/eventually.ts';
import { startKubelet } from '../../testbed/kube-api-server/kubelet.ts';
import { startScheduler } from '../../testbed/kube-api-server/scheduler.ts';
import {
  type EventObject,
  type KubeApiServer,
  podGatewayWebhook,
} from '../../testbed/kube-api-server/server.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { type Harness, useHarness } from '../support/harness.ts';
import { ownPodMetadata } from '../support/own-pods.ts';

const NAMESPACE = 'client-system';
const POD_NAME = 'provisioner-00001-deployment-5d8f7c9b6-x2x7q';
const MICROSECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Polls every 20 ms, up to 10 s, for the Events that satisfy `wanted`. */
async function eventsWhen(
  server: KubeApiServer,
  wanted: (events: EventObject[]) => boolean,
): Promise<EventObject[]> {
  await eventually('the Events', () => wanted(server.events(NAMESPACE))).catch((error: unknown) => {
    throw new Error(`${String(error)}: ${JSON.stringify(server.events(NAMESPACE))}`);
  });
  return server.events(NAMESPACE);
}

const about = (podName: string, reason: string) => (event: EventObject) =>
  (event.regarding as { name?: string } | undefined)?.name === podName && event.reason === reason;

/** The sum of a metric's samples whose labels include `labels`, from the function's /metrics. */
async function metric(
  h: Harness,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`${h.fn.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    if (
      Object.entries(labels).every(([key, value]) => (match[2] ?? '').includes(`${key}="${value}"`))
    ) {
      sum += Number(match[3]);
    }
  }
  return sum;
}

let sequence = 0;
function lifecycleEvent(type: string, data?: unknown): CloudEvent<unknown> {
  sequence += 1;
  return new CloudEvent<unknown>({
    id: `pod-events-${process.pid}-${sequence}`,
    source: '/tests/producer',
    type,
    ...(data === undefined ? {} : { datacontenttype: 'application/json', data }),
  });
}

describe('the occurrences, as Events word them', () => {
  const occurrences: PodOccurrence[] = [
    { kind: 'provisioned', request: { eventSource: '/s', eventId: 'e1', gatewayName: 'foo' } },
    { kind: 'ready', nodeName: 'node-1', podIp: '10.0.0.7' },
    { kind: 'released', cloudEvent: { source: '/s', id: 'e2' } },
    { kind: 'swept', why: 'Expired' },
    { kind: 'notRouted', missingContainers: ['gateway-init', 'gateway-sidecar'] },
  ];

  it('gives each a CamelCase reason and action, a type, and a sentence', () => {
    const worded = occurrences.map(wordingOf);
    assert.deepEqual(
      worded.map(({ type, reason, action }) => [type, reason, action]),
      [
        ['Normal', EVENT_REASON.Provisioned, 'Provision'],
        ['Normal', EVENT_REASON.Ready, 'WaitForReady'],
        ['Normal', EVENT_REASON.Released, 'Release'],
        ['Normal', EVENT_REASON.Swept, 'Sweep'],
        ['Warning', EVENT_REASON.NotRouted, 'CheckRouting'],
      ],
    );
    assert.equal(worded[0]?.note, 'provisioned for CloudEvent /s/e1 for gateway foo');
    assert.equal(worded[1]?.note, 'ready on node node-1 with IP 10.0.0.7');
    assert.equal(worded[2]?.note, 'deleted: released for CloudEvent /s/e2');
    assert.equal(worded[3]?.note, 'deleted by the sweep: the pod outlived CLIENT_TTL_SECONDS');
    assert.match(
      worded[4]?.note ?? '',
      /^deleted: not routed .*\(missing gateway-init, gateway-sidecar\)/,
    );
  });

  it('names Events apart within a millisecond, and keys repeats by everything but the time', () => {
    const pod = { metadata: { name: 'client-a', namespace: NAMESPACE, uid: 'u-1' } };
    const worded = wordingOf({ kind: 'swept', why: 'Failed' });
    const first = newEvent(podReference(pod), worded, 'i', 1_700_000_000_000);
    const second = newEvent(podReference(pod), worded, 'i', 1_700_000_000_000);
    assert.notEqual(first.metadata?.name, second.metadata?.name);
    assert.match(first.metadata?.name ?? '', /^client-a\.[0-9a-f]+$/);
    assert.match(JSON.parse(JSON.stringify(first)).eventTime, MICROSECONDS);
    assert.equal(isomorphismKey(first), isomorphismKey(second));
    const other = newEvent(podReference(pod), wordingOf({ kind: 'swept', why: 'Expired' }), 'i', 0);
    assert.notEqual(isomorphismKey(first), isomorphismKey(other));
  });

  it('reports as the function’s pod: POD_NAME, else HOSTNAME, else the host name', () => {
    assert.equal(reportingInstanceOf({ POD_NAME: 'p', HOSTNAME: 'h' }, 'x'), 'p');
    assert.equal(reportingInstanceOf({ HOSTNAME: 'h' }, 'x'), 'h');
    assert.equal(reportingInstanceOf({}, 'x'.repeat(200)).length, 128);
  });
});

describe('Events of a pod’s life (WAIT_FOR=created)', () => {
  const h = useHarness(
    {
      CLIENT_NAMESPACE: NAMESPACE,
      POD_NAME,
      CLIENT_TTL_SECONDS: '3600',
      SWEEP_INTERVAL_SECONDS: '0',
      FAILED_PODS_HISTORY_LIMIT: '0',
    },
    { namespaces: ['default', NAMESPACE] },
  );
  beforeEach(() => h.server.reset());

  it('a pending event: Provisioned on the pod it created, with every field kubectl shows', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const reply = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const podName = String(reply.event?.data?.pod_name);
    const [stored] = await eventsWhen(h.server, (events) => events.length > 0);
    const pod = h.server.pod(NAMESPACE, podName);
    assert.deepEqual(stored?.regarding, {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: NAMESPACE,
      name: podName,
      uid: pod?.metadata?.uid,
    });
    assert.equal(stored?.reportingController, REPORTING_CONTROLLER);
    assert.equal(stored?.reportingInstance, POD_NAME);
    assert.equal(stored?.type, 'Normal');
    assert.equal(stored?.reason, 'Provisioned');
    assert.equal(stored?.action, 'Provision');
    assert.equal(
      stored?.note,
      `provisioned for CloudEvent ${event.source}/${event.id} for gateway foo`,
    );
    assert.match(String(stored?.eventTime), MICROSECONDS);
    assert.equal(stored?.series, undefined);

    // A redelivery finds the pod: nothing new happened to it. An Event is sent after its reply:
    // one the redelivery made would have been sent before a later event's, so by the time that
    // one is stored.
    const again = await sendEvent(h.fn.url, event, 'structured');
    assert.match(String(again.event?.data?.message), /already existed/);
    const later = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    const laterPod = String(later.event?.data?.pod_name);
    const events = await eventsWhen(h.server, (all) => all.some(about(laterPod, 'Provisioned')));
    assert.deepEqual(
      events.map((stored) => (stored.regarding as { name?: string } | undefined)?.name),
      [podName, laterPod],
    );
  });

  it('a release: Released, naming the CloudEvent', async () => {
    const created = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    const podName = String(created.event?.data?.pod_name);
    const release = lifecycleEvent(RELEASE_TYPE, { pod_name: podName });
    const reply = await sendEvent(h.fn.url, release, 'binary');
    assert.equal(reply.event?.type, RELEASE_DONE_TYPE, reply.text);
    const events = await eventsWhen(h.server, (all) => all.some(about(podName, 'Released')));
    const released = events.find(about(podName, 'Released'));
    assert.equal(released?.note, `deleted: released for CloudEvent /tests/producer/${release.id}`);
    assert.equal(released?.action, 'Release');
  });

  // kube-apiserver refuses a note over 1,024 bytes (Go len), whatever the UTF-16 length.
  for (const [what, id] of [
    ['1,000 ASCII characters', 'a'.repeat(1000)],
    ['500 × é (1,000 bytes)', 'é'.repeat(500)],
    ['emoji (4 bytes each) across the limit', `${'b'.repeat(3)}${'😀'.repeat(300)}`],
  ] as const) {
    it(`a long id of ${what}: Provisioned and Released are written, each note within 1,024 bytes`, async () => {
      const event = pendingEvent({ gateway_name: 'foo' }, { id });
      const reply = await sendEvent(h.fn.url, event, 'structured');
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      const podName = String(reply.event?.data?.pod_name);
      const release = lifecycleEvent(RELEASE_TYPE, { pod_name: podName });
      const released = await sendEvent(
        h.fn.url,
        new CloudEvent({ ...release, id: `${id}-release` }),
        'structured',
      );
      assert.equal(released.event?.type, RELEASE_DONE_TYPE, released.text);
      const events = await eventsWhen(h.server, (all) => all.length >= 2);
      for (const reason of ['Provisioned', 'Released']) {
        const note = String(events.find(about(podName, reason))?.note);
        assert.ok(Buffer.byteLength(note) <= 1024, `${reason}: ${Buffer.byteLength(note)} bytes`);
        assert.ok(Buffer.byteLength(note) > 1000, `${reason}: clipped to the limit`);
        assert.ok(note.endsWith('…'), `${reason} ends with the marker`);
        assert.ok(note.isWellFormed(), `${reason}: no code point split`);
      }
    });
  }

  it('a sweep: Swept, saying why', async () => {
    const spec = { containers: [{ name: 'client', image: 'alpine/curl' }] };
    const done = ownPodMetadata('done-1', NAMESPACE);
    const old = ownPodMetadata('old-1', NAMESPACE, { creationTimestamp: '2020-01-01T00:00:00Z' });
    h.server.addPod({ metadata: done, spec, status: { phase: 'Succeeded' } });
    h.server.addPod({
      metadata: old,
      spec,
    });
    const reply = await sendEvent(h.fn.url, lifecycleEvent(SWEEP_TYPE), 'binary');
    assert.equal(reply.event?.type, SWEEP_DONE_TYPE, reply.text);
    const events = await eventsWhen(h.server, (all) => all.length === 2);
    assert.deepEqual(
      events
        .map((event) => [(event.regarding as { name: string }).name, event.reason, event.note])
        .sort(),
      [
        [done.name, 'Swept', 'deleted by the sweep: the pod Succeeded'],
        [old.name, 'Swept', 'deleted by the sweep: the pod outlived CLIENT_TTL_SECONDS'],
      ].sort(),
    );
  });

  it('a sweep of failed pods past FAILED_PODS_HISTORY_LIMIT: Swept on each pod it deletes', async () => {
    const spec = { containers: [{ name: 'client', image: 'alpine/curl' }] };
    const failed = [1, 2].map((n) => ownPodMetadata(`failed-${n}`, NAMESPACE));
    for (const metadata of failed) {
      h.server.addPod({ metadata, spec, status: { phase: 'Failed' } });
    }
    const reply = await sendEvent(h.fn.url, lifecycleEvent(SWEEP_TYPE), 'binary');
    assert.equal(reply.event?.type, SWEEP_DONE_TYPE, reply.text);
    const swept = (reply.event?.data?.deleted ?? []) as Array<{ pod_name: string }>;
    const deleted = swept.map((pod) => pod.pod_name);
    assert.equal(deleted.length, 2, 'FAILED_PODS_HISTORY_LIMIT=0 keeps none');
    const events = await eventsWhen(h.server, (all) => all.length === 2);
    assert.deepEqual(
      events.map((event) => [(event.regarding as { name: string }).name, event.note]).sort(),
      deleted.map((name) => [name, 'deleted by the sweep: the pod Failed']).sort(),
    );
  });
});

describe('Events with WAIT_FOR=ready', () => {
  const h = useHarness(
    { CLIENT_NAMESPACE: NAMESPACE, WAIT_FOR: 'ready', EVENT_DEADLINE_MS: '30000' },
    {
      namespaces: [{ name: NAMESPACE, labels: { 'routed-gateway': 'true' } }],
      webhooks: [
        podGatewayWebhook({
          gateway: 'foo',
          gatewayDefault: false,
          gatewayLabelValue: 'foo',
          gatewayAnnotationValue: 'foo',
        }),
      ],
    },
  );
  let stop: (() => void) | undefined;
  beforeEach(() => {
    h.server.reset();
    if (stop === undefined) {
      const scheduler = startScheduler(h.server, { bindAfterMs: 20 });
      const kubelet = startKubelet(h.server, { startAfterMs: 50 });
      stop = () => {
        scheduler.stop();
        kubelet.stop();
      };
    }
  });
  after(() => stop?.());

  it('Ready with the node and the IP; redeliveries of the answered event write no Event at all', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const reply = await sendEvent(h.fn.url, event, 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const podName = String(reply.event?.data?.pod_name);
    const ready = (all: EventObject[]) => all.find(about(podName, 'Ready'));
    const first = ready(await eventsWhen(h.server, (all) => ready(all) !== undefined));
    assert.equal(
      first?.note,
      `ready on node ${String(reply.event?.data?.node_name)} with IP ${String(reply.event?.data?.pod_ip)}`,
    );
    assert.equal(first?.action, 'WaitForReady');
    const eventWrites = () =>
      h.server.requests.filter(
        (request) => request.path.includes('/events') && request.method !== 'GET',
      ).length;
    const writesBefore = eventWrites();

    // A producer (or Knative) replaying the event: each answered done, none worded again.
    for (let i = 0; i < 20; i += 1) {
      const again = await sendEvent(h.fn.url, event, i % 2 === 0 ? 'structured' : 'binary');
      assert.equal(again.event?.type, DONE_TYPE, again.text);
    }
    // Events are written after the reply: a moment for any to be sent.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(eventWrites(), writesBefore, 'no Event request for a redelivery');
    const events = h.server.events(NAMESPACE);
    assert.equal(events.filter(about(podName, 'Ready')).length, 1, 'one Event object');
    assert.equal(ready(events)?.series, undefined, 'no series');
  });
});

describe('an Events API that fails', () => {
  const h = useHarness(
    { CLIENT_NAMESPACE: NAMESPACE },
    {
      namespaces: [NAMESPACE],
      // A Role without the events verbs.
      authorize: (request) => request.resource !== 'events',
    },
  );
  beforeEach(() => h.server.reset());

  it('leaves the reply done and counts the failure: Forbidden', async () => {
    const before = await metric(h, 'podgateway_pod_events_failed_total', { reason: 'Forbidden' });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    await eventually('the failure to be counted', async () => {
      return (
        (await metric(h, 'podgateway_pod_events_failed_total', { reason: 'Forbidden' })) > before
      );
    });
    assert.equal(
      await metric(h, 'podgateway_pod_events_failed_total', { reason: 'Forbidden' }),
      before + 1,
    );
    assert.deepEqual(h.server.events(NAMESPACE), []);
  });

  it('an Events API that hangs does not hold the reply, and its refusal is counted', async () => {
    h.server.injectFault({ method: 'POST', path: /\/events$/, delayMs: 3000 });
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    // The API server holds the Event 3 s before storing it: a reply that waited for the write
    // would come after the Event is stored.
    assert.deepEqual(h.server.events(NAMESPACE), []);

    const before = await metric(h, 'podgateway_pod_events_failed_total', { reason: 'Invalid' });
    h.server.injectFault({ method: 'POST', path: /\/events$/, status: 422 });
    const second = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(second.event?.type, DONE_TYPE, second.text);
    await eventually('the refusal to be counted', async () => {
      return (
        (await metric(h, 'podgateway_pod_events_failed_total', { reason: 'Invalid' })) > before
      );
    });
    assert.equal(
      await metric(h, 'podgateway_pod_events_failed_total', { reason: 'Invalid' }),
      before + 1,
    );
  });
});
