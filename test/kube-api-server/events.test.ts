// The test API server's Events, through the real client: created and patched through
// events.k8s.io/v1 with the real server's validation, read through both APIs, authorized by the
// deployed Role, and discoverable as kubectl discovers them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CoreV1Api,
  EventsV1Api,
  type EventsV1Event,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
} from '@kubernetes/client-node';
import { readDeployedRole } from '../../testbed/deployed-role.ts';
import { authorizerFromRules } from '../../testbed/kube-api-server/server.ts';
import { apiError, clientFor, raw, serverFor, statusOf } from './test-support.ts';

const NAMESPACE = 'client-system';

function event(name: string, extra: Partial<EventsV1Event> = {}): EventsV1Event {
  return {
    metadata: { name },
    eventTime: new V1MicroTime('2025-01-02T03:04:05.678Z'),
    regarding: {
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: NAMESPACE,
      name: 'client-a',
      uid: 'u-1',
    },
    reportingController: 'podgateway.io/client-provisioner',
    reportingInstance: 'provisioner-0',
    action: 'Provision',
    reason: 'Provisioned',
    type: 'Normal',
    note: 'provisioned',
    ...extra,
  };
}

async function clients(t: Parameters<typeof serverFor>[0]) {
  const server = await serverFor(t, { namespaces: [NAMESPACE] });
  const { kc, api } = await clientFor(server);
  return { server, core: api, events: kc.makeApiClient(EventsV1Api), kc };
}

describe('Events (events.k8s.io/v1)', () => {
  it('creates one, with server metadata and the eventTime to the microsecond, and reads it back', async (t) => {
    const { server, events } = await clients(t);
    const created = await events.createNamespacedEvent({
      namespace: NAMESPACE,
      body: event('a.1'),
    });
    assert.ok(created.metadata?.uid);
    assert.ok(created.metadata?.resourceVersion);
    const stored = server.events(NAMESPACE);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]?.eventTime, '2025-01-02T03:04:05.678000Z');
    const read = await events.readNamespacedEvent({ namespace: NAMESPACE, name: 'a.1' });
    assert.equal(read.note, 'provisioned');
    const list = await events.listNamespacedEvent({
      namespace: NAMESPACE,
      fieldSelector: 'regarding.name=client-a,reason=Provisioned',
    });
    assert.deepEqual(
      list.items.map((item) => item.metadata?.name),
      ['a.1'],
    );
    const none = await events.listNamespacedEvent({
      namespace: NAMESPACE,
      fieldSelector: 'regarding.name=other',
    });
    assert.equal(none.items.length, 0);
    const again = await apiError(
      events.createNamespacedEvent({ namespace: NAMESPACE, body: event('a.1') }),
    );
    assert.equal(again.code, 409);
  });

  it('refuses what ValidateEventCreate refuses, every field in one 422', async (t) => {
    const { events } = await clients(t);
    const body = event('bad', {
      eventTime: undefined,
      reportingController: '',
      reportingInstance: 'x'.repeat(129),
      action: '',
      reason: 'r'.repeat(129),
      type: 'Info',
      note: 'n'.repeat(1025),
      series: { count: 1, lastObservedTime: new V1MicroTime() },
      deprecatedCount: 3,
    });
    const status = statusOf(
      await apiError(events.createNamespacedEvent({ namespace: NAMESPACE, body })),
    );
    assert.equal(status.code, 422);
    assert.match(status.message, /^Event\.events\.k8s\.io "bad" is invalid: \[/);
    const fields = status.details?.causes?.map((cause) => cause.field);
    assert.deepEqual(fields?.sort(), [
      'action',
      'count',
      'eventTime',
      'message',
      'reason',
      // Required, and not a qualified name, as the real server says
      'reportingController',
      'reportingController',
      'reportingInstance',
      'series.count',
      'type',
    ]);
    const controller = event('c', { reportingController: 'not a name' });
    const invalid = statusOf(
      await apiError(events.createNamespacedEvent({ namespace: NAMESPACE, body: controller })),
    );
    assert.match(invalid.message, /reportingController: Invalid value: "not a name"/);
  });

  it('counts the note, reason, action and reportingInstance in UTF-8 bytes, as Go len() does', async (t) => {
    const { events } = await clients(t);
    // 1,024 bytes: taken, whatever the number of UTF-16 units.
    for (const [name, note] of [
      ['ascii', 'n'.repeat(1024)],
      ['two-byte', 'é'.repeat(512)],
      ['four-byte', '😀'.repeat(256)],
    ] as const) {
      await events.createNamespacedEvent({ namespace: NAMESPACE, body: event(name, { note }) });
    }
    // 1,026 and 1,053 bytes but at most 1,024 UTF-16 units: the real server refuses them.
    const over = event('over', {
      note: `${'n'.repeat(1023)}…`,
      reason: 'é'.repeat(65),
      action: 'é'.repeat(65),
      reportingInstance: 'é'.repeat(65),
    });
    const status = statusOf(
      await apiError(events.createNamespacedEvent({ namespace: NAMESPACE, body: over })),
    );
    assert.equal(status.code, 422);
    assert.deepEqual(status.details?.causes?.map((cause) => cause.field).sort(), [
      'action',
      'message',
      'reason',
      'reportingInstance',
    ]);
  });

  it('patches a series with a strategic merge patch, and keeps the rest immutable', async (t) => {
    const { events } = await clients(t);
    await events.createNamespacedEvent({ namespace: NAMESPACE, body: event('s.1') });
    const series = { count: 2, lastObservedTime: new V1MicroTime('2025-01-02T03:05:00Z') };
    const patched = await events.patchNamespacedEvent(
      { namespace: NAMESPACE, name: 's.1', body: { series } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    assert.equal(patched.series?.count, 2);
    assert.equal(patched.note, 'provisioned');
    const merge = await events.patchNamespacedEvent(
      { namespace: NAMESPACE, name: 's.1', body: { series: { count: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.equal(merge.series?.count, 3);
    const immutable = statusOf(
      await apiError(
        events.patchNamespacedEvent(
          { namespace: NAMESPACE, name: 's.1', body: { note: 'changed' } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    );
    assert.equal(immutable.code, 422);
    assert.match(immutable.message, /message: Invalid value: "changed": field is immutable/);
    const tooFew = statusOf(
      await apiError(
        events.patchNamespacedEvent(
          { namespace: NAMESPACE, name: 's.1', body: { series: { count: 1 } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      ),
    );
    assert.match(tooFew.message, /series\.count: Invalid value: "": should be at least 2/);
    const missing = await apiError(
      events.patchNamespacedEvent(
        { namespace: NAMESPACE, name: 'gone', body: { series } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    assert.equal(missing.code, 404);
  });

  it('shows the same Events through the core v1 API, selectable as kubectl describe pod selects them', async (t) => {
    const { core, events } = await clients(t);
    await events.createNamespacedEvent({
      namespace: NAMESPACE,
      body: event('c.1', { series: { count: 2, lastObservedTime: new V1MicroTime() } }),
    });
    await events.createNamespacedEvent({
      namespace: NAMESPACE,
      body: event('c.2', {
        regarding: { kind: 'Pod', namespace: NAMESPACE, name: 'client-b', uid: 'u-2' },
      }),
    });
    const list = await core.listNamespacedEvent({
      namespace: NAMESPACE,
      fieldSelector: `involvedObject.name=client-a,involvedObject.namespace=${NAMESPACE},involvedObject.kind=Pod,involvedObject.uid=u-1`,
    });
    assert.equal(list.items.length, 1);
    const [item] = list.items;
    assert.equal(item?.message, 'provisioned');
    assert.equal(item?.reportingComponent, 'podgateway.io/client-provisioner');
    assert.equal(item?.involvedObject.name, 'client-a');
    assert.equal(item?.series?.count, 2);
    assert.equal((await core.listEventForAllNamespaces()).items.length, 2);
  });

  it('is authorized by the deployed Role: create and patch in the client namespace, nothing else', async (t) => {
    const role = await readDeployedRole();
    const server = await serverFor(t, {
      namespaces: [NAMESPACE, 'default'],
      authorize: authorizerFromRules(role.rules, NAMESPACE),
    });
    const { kc } = await clientFor(server);
    const events = kc.makeApiClient(EventsV1Api);
    await events.createNamespacedEvent({ namespace: NAMESPACE, body: event('r.1') });
    await events.patchNamespacedEvent(
      {
        namespace: NAMESPACE,
        name: 'r.1',
        body: { series: { count: 2, lastObservedTime: new V1MicroTime() } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    assert.equal((await apiError(events.listNamespacedEvent({ namespace: NAMESPACE }))).code, 403);
    const elsewhere = event('r.2', { regarding: { kind: 'Pod', namespace: 'default', name: 'x' } });
    assert.equal(
      (await apiError(events.createNamespacedEvent({ namespace: 'default', body: elsewhere })))
        .code,
      403,
    );
    assert.equal(
      (await apiError(kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NAMESPACE })))
        .code,
      403,
    );
  });

  it('is in discovery: /apis lists the group, /apis/events.k8s.io/v1 the resource', async (t) => {
    const { server } = await clients(t);
    const groups = JSON.parse((await raw(server, 'GET', '/apis')).body) as {
      groups: Array<{ name: string; preferredVersion: { groupVersion: string } }>;
    };
    assert.deepEqual(
      groups.groups.map((group) => [group.name, group.preferredVersion.groupVersion]),
      [['events.k8s.io', 'events.k8s.io/v1']],
    );
    const resources = JSON.parse((await raw(server, 'GET', '/apis/events.k8s.io/v1')).body) as {
      resources: Array<{ name: string; verbs: string[] }>;
    };
    assert.deepEqual(
      resources.resources.map((resource) => resource.name),
      ['events'],
    );
    const core = JSON.parse((await raw(server, 'GET', '/api/v1')).body) as {
      resources: Array<{ name: string; verbs: string[] }>;
    };
    assert.deepEqual(core.resources.find((resource) => resource.name === 'events')?.verbs, [
      'get',
      'list',
    ]);
  });
});
