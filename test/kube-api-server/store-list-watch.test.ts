// The store of the Kubernetes API test server, through the real client: lists, pages, dry runs, the
// request record and watches.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { type CoreV1Api, type KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import type { KubeApiServer } from '../../testbed/kube-api-server/server.ts';
import type { Status } from '../../testbed/kube-api-server/status.ts';
import { apiError, isAbort, pod, raw, startSharedServer } from './test-support.ts';

describe('kube API test server through the real client', () => {
  let server: KubeApiServer;
  let api: CoreV1Api;
  let kc: KubeConfig;

  before(async () => {
    ({ server, kc, api } = await startSharedServer());
  });
  after(() => server.close());
  afterEach(() => server.reset());

  it('lists pods with label selectors and a resourceVersion', async () => {
    const labelled = (name: string, labels: Record<string, string>) =>
      api.createNamespacedPod({
        namespace: 'default',
        body: pod(name, { metadata: { name, labels } }),
      });
    await labelled('web-1', { app: 'web', tier: 'front' });
    await labelled('web-2', { app: 'web' });
    const last = await labelled('db-1', { app: 'db', tier: 'back' });
    const elsewhere = await api.createNamespacedPod({ namespace: 'other', body: pod('web-3') });
    const names = async (labelSelector: string) =>
      (await api.listNamespacedPod({ namespace: 'default', labelSelector })).items.map(
        (p) => p.metadata?.name,
      );
    assert.deepEqual(await names('app=web'), ['web-1', 'web-2']);
    assert.deepEqual(await names('app!=web'), ['db-1']);
    assert.deepEqual(await names('tier'), ['db-1', 'web-1']);
    assert.deepEqual(await names('app=web,!tier'), ['web-2']);
    assert.deepEqual(await names('app in (web,db),tier notin (front)'), ['db-1', 'web-2']);
    const list = await api.listNamespacedPod({ namespace: 'default' });
    assert.equal(list.kind, 'PodList');
    // the resourceVersion of the whole store, not of the namespace's last change
    assert.equal(list.metadata?.resourceVersion, elsewhere.metadata?.resourceVersion);
    assert.ok(Number(last.metadata?.resourceVersion) < Number(list.metadata?.resourceVersion));
    const bad = await apiError(
      api.listNamespacedPod({ namespace: 'default', labelSelector: 'a=b c' }),
    );
    assert.equal(bad.code, 400);
  });

  it('pages a list with limit and continue', async () => {
    for (const name of ['p1', 'p2', 'p3']) {
      await api.createNamespacedPod({ namespace: 'default', body: pod(name) });
    }
    const first = await api.listNamespacedPod({ namespace: 'default', limit: 2 });
    assert.deepEqual(
      first.items.map((p) => p.metadata?.name),
      ['p1', 'p2'],
    );
    assert.equal(first.metadata?.remainingItemCount, 1);
    const next = await api.listNamespacedPod({
      namespace: 'default',
      limit: 2,
      _continue: first.metadata?._continue ?? '',
    });
    assert.deepEqual(
      next.items.map((p) => p.metadata?.name),
      ['p3'],
    );
    assert.equal(next.metadata?._continue, undefined);
  });

  it('stores nothing for dryRun=All but answers as if created', async () => {
    const created = await api.createNamespacedPod({
      namespace: 'default',
      body: pod('dry'),
      dryRun: 'All',
    });
    assert.equal(created.metadata?.name, 'dry');
    assert.equal(created.status?.phase, 'Pending');
    assert.equal(server.pods().length, 0);
    const invalidDry = await apiError(
      api.createNamespacedPod({
        namespace: 'default',
        body: pod('Dry'),
        dryRun: 'All',
      }),
    );
    assert.equal(invalidDry.code, 422);
  });

  it('records every request with its verb, status and user agent', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: pod('seen') });
    await api.readNamespacedPod({ name: 'seen', namespace: 'default' });
    await api.listNamespacedPod({ namespace: 'default', labelSelector: 'app=test' });
    await apiError(api.readNamespacedPod({ name: 'unseen', namespace: 'default' }));
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.path, r.verb, r.status]),
      [
        ['POST', '/api/v1/namespaces/default/pods', 'create', 201],
        ['GET', '/api/v1/namespaces/default/pods/seen', 'get', 200],
        ['GET', '/api/v1/namespaces/default/pods', 'list', 200],
        ['GET', '/api/v1/namespaces/default/pods/unseen', 'get', 404],
      ],
    );
    assert.deepEqual(server.requests[2]?.query, { labelSelector: 'app=test' });
    assert.match(server.requests[0]?.userAgent ?? '', /^kubernetes-client-javascript\/2\./);
  });

  it('watches: ADDED, then MODIFIED when the pod is bound and its status changes', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: pod('watched') });
    await api.createNamespacedPod({ namespace: 'default', body: pod('ignored') });
    const events: Array<[string, string | undefined, string | undefined]> = [];
    let seen = 0;
    let notify: () => void = () => {};
    const watch = new Watch(kc);
    const done = new Promise<unknown>((resolve) => {
      void watch
        .watch(
          '/api/v1/namespaces/default/pods',
          { fieldSelector: 'metadata.name=watched' },
          (type, object: V1Pod) => {
            events.push([type, object.spec?.nodeName, object.status?.conditions?.[0]?.type]);
            seen += 1;
            notify();
          },
          resolve,
        )
        .then((controller) => {
          stop = () => controller.abort();
        });
    });
    let stop: () => void = () => {};
    const waitFor = (count: number) =>
      new Promise<void>((resolve) => {
        notify = () => {
          if (seen >= count) resolve();
        };
        notify();
      });
    await waitFor(1);
    server.bindPod('default', 'watched', 'node-1');
    server.updatePodStatus('default', 'watched', {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
    });
    server.updatePodStatus('default', 'ignored', { phase: 'Running' });
    await waitFor(3);
    stop();
    await done;
    assert.deepEqual(events, [
      ['ADDED', undefined, undefined],
      ['MODIFIED', 'node-1', 'PodScheduled'],
      ['MODIFIED', 'node-1', 'PodScheduled'],
    ]);
    const final = server.pod('default', 'watched');
    assert.equal(final?.status?.phase, 'Running');
    assert.deepEqual(
      final?.status?.conditions?.map((c) => [c.type, c.status]),
      [
        ['PodScheduled', 'True'],
        ['Ready', 'True'],
      ],
    );
    const watchRequest = server.requests.find((r) => r.verb === 'watch');
    assert.equal(watchRequest?.query.watch, 'true');
  });

  it('ends a watch after timeoutSeconds, and replays changes after a resourceVersion', async () => {
    const created = await api.createNamespacedPod({ namespace: 'default', body: pod('replay') });
    server.updatePodStatus('default', 'replay', { phase: 'Running' });
    await api.deleteNamespacedPod({ name: 'replay', namespace: 'default' });
    const types: string[] = [];
    const started = Date.now();
    const error = await new Promise<unknown>((resolve) => {
      void new Watch(kc).watch(
        '/api/v1/namespaces/default/pods',
        { resourceVersion: created.metadata?.resourceVersion, timeoutSeconds: 1 },
        (type) => types.push(type),
        resolve,
      );
    });
    assert.equal(error, null);
    assert.ok(Date.now() - started >= 900);
    assert.deepEqual(types, ['MODIFIED', 'DELETED']);
  });

  it('serves the /watch/ path, and answers a too old resourceVersion with a 410 ERROR event', async () => {
    const added = server.addPod(
      pod('direct', { metadata: { name: 'direct', namespace: 'other' } }),
    );
    assert.equal(added.status?.phase, 'Pending');
    assert.match(added.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    const types: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const watching = new Watch(kc).watch(
        '/api/v1/watch/namespaces/other/pods',
        {},
        (type) => {
          types.push(type);
          void watching.then((controller) => controller.abort());
        },
        (error: unknown) => (error === null || isAbort(error) ? resolve() : reject(error)),
      );
    });
    assert.deepEqual(types, ['ADDED']);
    assert.equal(server.requests.at(-1)?.verb, 'watch');
    server.deletePod('other', 'direct');
    server.reset();
    const tooOld = await raw(
      server,
      'GET',
      '/api/v1/namespaces/other/pods?watch=1&resourceVersion=1',
    );
    const [event] = tooOld.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; object: Status });
    assert.equal(event?.type, 'ERROR');
    assert.equal(event?.object.code, 410);
    assert.equal(event?.object.reason, 'Expired');
    assert.throws(() => server.addPod(pod('Bad')), /422 Pod "Bad" is invalid/);
  });
});
