// The Kubernetes API test server, driven through the real @kubernetes/client-node client.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ApiException, CoreV1Api, KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import {
  authorizerFromRules,
  type KubeApiServer,
  type KubeApiServerOptions,
  podGatewayWebhook,
  type RequestAttributes,
  startKubeApiServer,
} from './support/kube-api-server.ts';
import { podQosClass } from './support/kube-pods.ts';
import { requestInfo } from './support/kube-routing.ts';
import { parseFieldSelector, parseLabelSelector } from './support/kube-selectors.ts';
import type { Status } from './support/kube-status.ts';
import { type PodObject, validatePodCreate } from './support/kube-validation.ts';

const SERVER_MODULE = fileURLToPath(new URL('./support/kube-api-server.ts', import.meta.url));

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'kube-api-test-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let dirCount = 0;
function freshDir(): string {
  dirCount += 1;
  return join(scratch, String(dirCount));
}

async function clientFor(server: KubeApiServer): Promise<{ kc: KubeConfig; api: CoreV1Api }> {
  const kc = new KubeConfig();
  kc.loadFromFile(await server.writeKubeconfig(freshDir()));
  return { kc, api: kc.makeApiClient(CoreV1Api) };
}

/** A server for one test, closed when the test ends. */
async function serverFor(
  t: { after: (fn: () => Promise<void>) => void },
  options?: KubeApiServerOptions,
): Promise<KubeApiServer> {
  const server = await startKubeApiServer(options);
  t.after(() => server.close());
  return server;
}

function pod(name: string, extra: Partial<V1Pod> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'test' } },
    spec: { containers: [{ name: 'main', image: 'registry.example/tool:1.2' }] },
    ...extra,
  };
}

/** The rejection of a client call, as the ApiException it must be. */
async function apiError(call: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof ApiException, `expected an ApiException, got ${String(error)}`);
    return error;
  }
  assert.fail('the call succeeded');
}

function statusOf(error: ApiException<unknown>): Status {
  assert.equal(typeof error.body, 'string', 'the Status arrives as the JSON text of the body');
  return JSON.parse(String(error.body)) as Status;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A plain HTTPS request that trusts the server's CA: to see exactly what goes over the wire. */
function raw(
  server: KubeApiServer,
  method: string,
  path: string,
  options: { body?: string; token?: string | null; contentType?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = options.token === undefined ? server.token : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined)
      headers['content-type'] = options.contentType ?? 'application/json';
    const req = request(
      `${server.url}${path}`,
      { method, headers, ca: server.caPem, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error('client timeout')));
    }
    req.end(options.body);
  });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe('kube API test server through the real client', () => {
  let server: KubeApiServer;
  let api: CoreV1Api;
  let kc: KubeConfig;

  before(async () => {
    server = await startKubeApiServer({ namespaces: ['default', 'other'] });
    ({ kc, api } = await clientFor(server));
  });
  after(() => server.close());
  afterEach(() => server.reset());

  it('creates a pod with the server-set metadata, defaults and a Pending status', async () => {
    const response = await api.createNamespacedPodWithHttpInfo({
      namespace: 'default',
      body: pod('alpha'),
    });
    assert.equal(response.httpStatusCode, 201);
    const created = response.data;
    assert.equal(created.metadata?.name, 'alpha');
    assert.equal(created.metadata?.namespace, 'default');
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
    // the client turns the timestamp into a Date; the wire has RFC 3339 at second precision
    assert.ok(created.metadata?.creationTimestamp instanceof Date);
    assert.equal(created.status?.phase, 'Pending');
    assert.equal(created.status?.qosClass, 'BestEffort');
    const spec = created.spec;
    assert.equal(spec?.restartPolicy, 'Always');
    assert.equal(spec?.dnsPolicy, 'ClusterFirst');
    assert.equal(spec?.schedulerName, 'default-scheduler');
    assert.equal(spec?.terminationGracePeriodSeconds, 30);
    assert.equal(spec?.serviceAccountName, 'default');
    assert.equal(spec?.enableServiceLinks, true);
    assert.deepEqual({ ...spec?.securityContext }, {});
    const container = spec?.containers[0];
    assert.equal(container?.imagePullPolicy, 'IfNotPresent');
    assert.equal(container?.terminationMessagePath, '/dev/termination-log');
    assert.equal(container?.terminationMessagePolicy, 'File');
    // the ServiceAccount admission plugin mounts the API token
    assert.equal(
      container?.volumeMounts?.[0]?.mountPath,
      '/var/run/secrets/kubernetes.io/serviceaccount',
    );

    const [stored] = server.pods('default');
    assert.equal(stored?.metadata?.uid, created.metadata?.uid);
    assert.match(stored?.metadata?.creationTimestamp ?? '', RFC3339_SECONDS);
    const read = await api.readNamespacedPod({ name: 'alpha', namespace: 'default' });
    assert.equal(read.metadata?.resourceVersion, created.metadata?.resourceVersion);
    // pods() hands out copies
    if (stored?.metadata) stored.metadata.name = 'changed';
    assert.equal(server.pods()[0]?.metadata?.name, 'alpha');
  });

  it('pulls images without a tag or with :latest always', async () => {
    const created = await api.createNamespacedPod({
      namespace: 'default',
      body: pod('pull', {
        spec: {
          containers: [
            { name: 'a', image: 'busybox' },
            { name: 'b', image: 'busybox:latest' },
            { name: 'c', image: 'localhost:5000/busybox' },
            { name: 'd', image: 'busybox@sha256:0000' },
          ],
        },
      }),
    });
    assert.deepEqual(
      created.spec?.containers.map((c) => c.imagePullPolicy),
      ['Always', 'Always', 'Always', 'IfNotPresent'],
    );
  });

  it('computes the QoS class', async () => {
    const created = await api.createNamespacedPod({
      namespace: 'default',
      body: pod('qos', {
        spec: {
          containers: [
            {
              name: 'main',
              image: 'busybox:1',
              resources: { limits: { cpu: '500m', memory: '64Mi' } },
            },
          ],
        },
      }),
    });
    assert.equal(created.status?.qosClass, 'Guaranteed');
    assert.deepEqual(created.spec?.containers[0]?.resources?.requests, {
      cpu: '500m',
      memory: '64Mi',
    });
  });

  it('rejects a quantity that does not parse', async () => {
    const error = await apiError(
      api.createNamespacedPod({
        namespace: 'default',
        body: pod('greedy', {
          spec: {
            containers: [
              { name: 'main', image: 'busybox', resources: { limits: { cpu: 'lots' } } },
            ],
          },
        }),
      }),
    );
    assert.equal(error.code, 422);
    assert.deepEqual(statusOf(error).details?.causes, [
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
        field: 'spec.containers[0].resources.limits[cpu]',
      },
    ]);
  });

  it('names a pod from generateName with 5 random characters', async () => {
    const created = await api.createNamespacedPod({
      namespace: 'default',
      body: pod('', { metadata: { generateName: 'client-' } }),
    });
    assert.match(created.metadata?.name ?? '', /^client-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    assert.equal(server.pods().length, 1);
  });

  it('answers 409 AlreadyExists for a second pod of the same name', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: pod('dup') });
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('dup') }),
    );
    assert.equal(error.code, 409);
    assert.deepEqual(statusOf(error), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "dup" already exists',
      reason: 'AlreadyExists',
      details: { name: 'dup', kind: 'pods' },
      code: 409,
    });
    assert.equal(error.headers['content-type'], 'application/json');
  });

  it('answers 422 Invalid for a bad label value, with the real message and cause', async () => {
    const error = await apiError(
      api.createNamespacedPod({
        namespace: 'default',
        body: pod('labelled', { metadata: { name: 'labelled', labels: { app: 'foo,bar' } } }),
      }),
    );
    assert.equal(error.code, 422);
    const status = statusOf(error);
    assert.equal(status.reason, 'Invalid');
    assert.equal(
      status.message,
      `Pod "labelled" is invalid: metadata.labels: Invalid value: "foo,bar": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    );
    assert.equal(status.details?.name, 'labelled');
    assert.equal(status.details?.kind, 'Pod');
    assert.equal(status.details?.causes?.[0]?.field, 'metadata.labels');
    assert.equal(status.details?.causes?.[0]?.reason, 'FieldValueInvalid');
    assert.equal(server.pods().length, 0);
  });

  it('rejects a string command through the schema layer (sent raw: the client would split it)', async () => {
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'cmd' },
      spec: { containers: [{ name: 'main', image: 'busybox', command: 'sleep' }] },
    });
    const response = await raw(server, 'POST', '/api/v1/namespaces/default/pods', { body });
    assert.equal(response.status, 422);
    const status = JSON.parse(response.body) as Status;
    assert.equal(status.reason, 'Invalid');
    assert.deepEqual(status.details?.causes, [
      {
        reason: 'FieldValueTypeInvalid',
        message: 'Invalid value: "sleep": must be of type array',
        field: 'spec.containers[0].command',
      },
    ]);

    // What the typed client does with the same mistake: it iterates the string.
    const typed = await api.createNamespacedPod({
      namespace: 'default',
      body: pod('typed', {
        spec: {
          containers: [{ name: 'main', image: 'busybox', command: 'sleep' as unknown as string[] }],
        },
      }),
    });
    assert.deepEqual(typed.spec?.containers[0]?.command, ['s', 'l', 'e', 'e', 'p']);
  });

  it('reports every invalid field of the containers at once', async () => {
    const error = await apiError(
      api.createNamespacedPod({
        namespace: 'default',
        body: pod('containers', {
          spec: {
            containers: [
              { name: 'Main_Container', image: 'busybox' },
              { name: 'side', image: '', env: [{ name: '1BAD', value: 'x' }] },
              { name: 'side', image: 'busybox' },
            ],
          },
        }),
      }),
    );
    assert.equal(error.code, 422);
    const status = statusOf(error);
    assert.deepEqual(
      status.details?.causes?.map((c) => [c.reason, c.field]),
      [
        ['FieldValueInvalid', 'spec.containers[0].name'],
        ['FieldValueRequired', 'spec.containers[1].image'],
        ['FieldValueInvalid', 'spec.containers[1].env[0].name'],
        ['FieldValueDuplicate', 'spec.containers[2].name'],
      ],
    );
    assert.match(status.message, /^Pod "containers" is invalid: \[spec\.containers\[0\]\.name: /);
    assert.match(
      status.message,
      /spec\.containers\[0\]\.name: Invalid value: "Main_Container": a lowercase RFC 1123 label must consist of/,
    );
    assert.match(status.message, /spec\.containers\[1\]\.image: Required value, /);
    assert.match(status.message, /spec\.containers\[2\]\.name: Duplicate value: "side"\]$/);
  });

  it('answers 404 for a namespace that does not exist', async () => {
    const error = await apiError(api.createNamespacedPod({ namespace: 'nowhere', body: pod('x') }));
    assert.equal(error.code, 404);
    const status = statusOf(error);
    assert.equal(status.reason, 'NotFound');
    assert.equal(status.message, 'namespaces "nowhere" not found');
    assert.deepEqual(status.details, { name: 'nowhere', kind: 'namespaces' });
  });

  it('answers 400 when the body names another namespace', async () => {
    const error = await apiError(
      api.createNamespacedPod({
        namespace: 'default',
        body: pod('elsewhere', { metadata: { name: 'elsewhere', namespace: 'other' } }),
      }),
    );
    assert.equal(error.code, 400);
    assert.equal(
      statusOf(error).message,
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  });

  it('answers 400 for a body that is not JSON and 415 for another media type', async () => {
    const path = '/api/v1/namespaces/default/pods';
    const notJson = await raw(server, 'POST', path, { body: '{nope' });
    assert.equal(notJson.status, 400);
    assert.match(
      (JSON.parse(notJson.body) as Status).message,
      /^couldn't get version\/kind; json parse error: /,
    );
    const yaml = await raw(server, 'POST', path, { body: 'a: b', contentType: 'text/plain' });
    assert.equal(yaml.status, 415);
    const service = await raw(server, 'POST', path, {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }),
    });
    assert.equal(service.status, 400);
    assert.match((JSON.parse(service.body) as Status).message, /cannot be handled as a Pod/);
  });

  it('gets, reads the status of, and deletes a pod; a missing pod is 404', async () => {
    await api.createNamespacedPod({ namespace: 'default', body: pod('gone') });
    const status = await api.readNamespacedPodStatus({ name: 'gone', namespace: 'default' });
    assert.equal(status.status?.phase, 'Pending');
    const deleted = await api.deleteNamespacedPod({ name: 'gone', namespace: 'default' });
    assert.equal(deleted.metadata?.name, 'gone');
    assert.equal(server.pods().length, 0);
    const error = await apiError(api.readNamespacedPod({ name: 'gone', namespace: 'default' }));
    assert.equal(error.code, 404);
    assert.deepEqual(statusOf(error), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "gone" not found',
      reason: 'NotFound',
      details: { name: 'gone', kind: 'pods' },
      code: 404,
    });
  });

  it('answers 404 for unknown paths and 405 for an unsupported method', async () => {
    const unknown = await raw(server, 'GET', '/api/v1/namespaces/default/widgets');
    assert.equal(unknown.status, 404);
    assert.equal(
      (JSON.parse(unknown.body) as Status).message,
      'the server could not find the requested resource',
    );
    const put = await raw(server, 'PUT', '/api/v1/namespaces/default/pods/x', { body: '{}' });
    assert.equal(put.status, 405);
    assert.equal((JSON.parse(put.body) as Status).reason, 'MethodNotAllowed');
  });

  it('serves discovery and version documents', async () => {
    const apis = JSON.parse((await raw(server, 'GET', '/api')).body) as { versions: string[] };
    assert.deepEqual(apis.versions, ['v1']);
    const resources = await api.getAPIResources();
    assert.ok(resources.resources.some((r) => r.name === 'pods' && r.namespaced));
    const version = JSON.parse((await raw(server, 'GET', '/version')).body) as { major: string };
    assert.equal(version.major, '1');
  });

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

  it('injects API Priority and Fairness 429s: plain text with Retry-After, seen on the wire and on the ApiException', async () => {
    server.injectFault({
      method: 'GET',
      path: /\/pods$/,
      status: 429,
      retryAfterSeconds: 3,
      times: 2,
    });
    const response = await raw(server, 'GET', '/api/v1/namespaces/default/pods');
    assert.equal(response.status, 429);
    assert.equal(response.headers['retry-after'], '3');
    // API Priority and Fairness answers in plain text, not with a Status.
    assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(response.body, 'Too many requests, please try again later.\n');
    const error = await apiError(api.listNamespacedPod({ namespace: 'default' }));
    assert.equal(error.code, 429);
    assert.equal(error.headers['retry-after'], '3');
    // used up: the next request is served
    assert.equal((await api.listNamespacedPod({ namespace: 'default' })).items.length, 0);
    assert.deepEqual(server.faults, []);
  });

  it('injects 503 ServiceUnavailable', async () => {
    server.injectFault({ method: 'POST', status: 503 });
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('later') }),
    );
    assert.equal(error.code, 503);
    assert.equal(statusOf(error).reason, 'ServiceUnavailable');
    assert.equal(server.pods().length, 0);
  });

  it('drops the connection: the client sees a network error, not an ApiException', async () => {
    server.injectFault({ method: 'POST', drop: true });
    await assert.rejects(
      api.createNamespacedPod({ namespace: 'default', body: pod('dropped') }),
      (error: unknown) => error instanceof Error && !(error instanceof ApiException),
    );
    assert.equal(server.requests[0]?.status, 0);
    assert.equal(server.pods().length, 0);
    // the client does not retry by itself
    assert.equal(server.requests.length, 1);
  });

  it('drops the connection after handling: the pod is stored, the client sees a network error', async () => {
    server.injectFault({ method: 'POST', dropAfterHandling: true });
    await assert.rejects(
      api.createNamespacedPod({ namespace: 'default', body: pod('stored-then-dropped') }),
      (error: unknown) => error instanceof Error && !(error instanceof ApiException),
    );
    assert.equal(server.requests[0]?.status, 0);
    assert.ok(server.pod('default', 'stored-then-dropped'));
  });

  it('delays, then answers normally; a client that gave up does not upset the server', async () => {
    server.injectFault({ path: '/api/v1/namespaces/default/pods/slow', delayMs: 100, times: 2 });
    await api.createNamespacedPod({ namespace: 'default', body: pod('slow') });
    const started = Date.now();
    await api.readNamespacedPod({ name: 'slow', namespace: 'default' });
    assert.ok(Date.now() - started >= 90);
    await assert.rejects(
      raw(server, 'GET', '/api/v1/namespaces/default/pods/slow', { timeoutMs: 20 }),
      /client timeout/,
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    const read = await api.readNamespacedPod({ name: 'slow', namespace: 'default' });
    assert.equal(read.metadata?.name, 'slow');
  });

  it('race: stores the pod as another writer would, then answers 409', async () => {
    server.injectFault({ method: 'POST', race: true });
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('raced') }),
    );
    assert.equal(error.code, 409);
    assert.equal(statusOf(error).reason, 'AlreadyExists');
    const stored = await api.readNamespacedPod({ name: 'raced', namespace: 'default' });
    assert.equal(stored.status?.phase, 'Pending');
  });

  it('verifies TLS: a client without the CA refuses the server', async () => {
    const untrusting = new KubeConfig();
    untrusting.loadFromOptions({
      clusters: [{ name: 'c', server: server.url, skipTLSVerify: false }],
      users: [{ name: 'u', token: server.token }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(
      untrusting.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' }),
      (error: unknown) =>
        error instanceof Error &&
        /certificate/i.test(
          String(error.cause instanceof Error ? error.cause.message : error.message),
        ),
    );
  });

  it('writes a kubeconfig with the server, the CA data and the token', async () => {
    const file = await server.writeKubeconfig(freshDir());
    const text = await readFile(file, 'utf8');
    assert.match(text, /certificate-authority-data: "/);
    const loaded = new KubeConfig();
    loaded.loadFromFile(file);
    assert.equal(loaded.getCurrentCluster()?.server, server.url);
    assert.equal(loaded.getCurrentUser()?.token, server.token);
    assert.equal(
      Buffer.from(loaded.getCurrentCluster()?.caData ?? '', 'base64').toString(),
      server.caPem,
    );
  });
});

describe('authentication and authorization', () => {
  it('answers 401 Unauthorized for a wrong token', async (t) => {
    const server = await serverFor(t);
    const kc = new KubeConfig();
    kc.loadFromFile(await server.writeKubeconfig(freshDir()));
    const user = kc.getCurrentUser();
    if (user) Object.assign(user, { token: 'wrong' });
    const error = await apiError(
      kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' }),
    );
    assert.equal(error.code, 401);
    // the generated client drops the body of a 401 (the spec declares one without a schema)
    assert.equal(error.body, undefined);
    const response = await raw(server, 'GET', '/api/v1/namespaces/default/pods', {
      token: 'wrong',
    });
    assert.equal(response.status, 401);
    assert.deepEqual(JSON.parse(response.body), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  });

  it('takes a request without credentials as system:anonymous: 403, but for health and version', async (t) => {
    const server = await serverFor(t);
    const response = await raw(server, 'GET', '/api/v1/namespaces/default/pods', { token: null });
    assert.equal(response.status, 403);
    assert.deepEqual(JSON.parse(response.body), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
    assert.equal((await raw(server, 'GET', '/version', { token: null })).status, 200);
    assert.equal((await raw(server, 'GET', '/readyz', { token: null })).status, 200);
    const api = await raw(server, 'GET', '/api', { token: null });
    assert.equal(api.status, 403);
    assert.equal(
      (JSON.parse(api.body) as Status).message,
      'forbidden: User "system:anonymous" cannot get path "/api"',
    );
    assert.deepEqual(
      server.requests.map((r) => [r.user, r.credential]),
      Array(4).fill(['system:anonymous', 'anonymous']),
    );
  });

  it('answers 403 Forbidden naming the user, verb, resource and namespace', async (t) => {
    const seen: RequestAttributes[] = [];
    const server = await serverFor(t, {
      authorize: (attrs) => {
        seen.push(attrs);
        return false;
      },
      user: 'system:serviceaccount:default:tester',
    });
    const { api } = await clientFor(server);
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('no') }),
    );
    assert.equal(error.code, 403);
    assert.deepEqual(statusOf(error), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'pods is forbidden: User "system:serviceaccount:default:tester" cannot create resource "pods" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
    assert.deepEqual(seen, [
      { verb: 'create', resource: 'pods', apiGroup: '', namespace: 'default' },
    ]);
  });

  it('grants what a Role grants: a create-only Role cannot get', async (t) => {
    const server = await serverFor(t, {
      authorize: authorizerFromRules(
        [{ apiGroups: [''], resources: ['pods'], verbs: ['create'] }],
        'default',
      ),
    });
    const { api } = await clientFor(server);
    await api.createNamespacedPod({ namespace: 'default', body: pod('mine') });
    const get = await apiError(api.readNamespacedPod({ name: 'mine', namespace: 'default' }));
    assert.equal(get.code, 403);
    assert.equal(
      statusOf(get).message,
      'pods "mine" is forbidden: User "system:serviceaccount:default:provisioner" cannot get resource "pods" in API group "" in the namespace "default"',
    );
    assert.deepEqual(statusOf(get).details, { name: 'mine', kind: 'pods' });
    const elsewhere = await apiError(
      api.createNamespacedPod({ namespace: 'other', body: pod('x') }),
    );
    assert.equal(elsewhere.code, 403);
  });

  it('loads in-cluster configuration from the service account files', async (t) => {
    const server = await serverFor(t, { namespaces: ['jobs'] });
    const prefix = freshDir();
    await server.writeServiceAccountDir(
      `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`,
      'jobs',
    );
    const saved = {
      host: process.env.KUBERNETES_SERVICE_HOST,
      port: process.env.KUBERNETES_SERVICE_PORT,
    };
    t.after(() => {
      for (const [name, value] of [
        ['KUBERNETES_SERVICE_HOST', saved.host],
        ['KUBERNETES_SERVICE_PORT', saved.port],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });
    process.env.KUBERNETES_SERVICE_HOST = server.host;
    process.env.KUBERNETES_SERVICE_PORT = String(server.port);
    const kc = new KubeConfig();
    kc.loadFromCluster(prefix);
    assert.equal(kc.getContextObject(kc.getCurrentContext())?.namespace, 'jobs');
    const api = kc.makeApiClient(CoreV1Api);
    const created = await api.createNamespacedPod({ namespace: 'jobs', body: pod('in-cluster') });
    assert.equal(created.metadata?.namespace, 'jobs');
  });
});

describe('the rules behind the server', () => {
  it('derives request attributes as the API server does', () => {
    const q = (text = '') => new URLSearchParams(text);
    const attributes = (method: string, path: string, query = q()) => {
      const info = requestInfo(method, path, query);
      return info.kind === 'resource' ? info.attributes : info;
    };
    assert.deepEqual(attributes('GET', '/api/v1/namespaces/a/pods/p/status'), {
      verb: 'get',
      resource: 'pods',
      apiGroup: '',
      namespace: 'a',
      name: 'p',
      subresource: 'status',
    });
    assert.equal(attributes('GET', '/api/v1/namespaces/a/pods', q('watch=true')).verb, 'watch');
    assert.equal(attributes('GET', '/api/v1/watch/namespaces/a/pods').verb, 'watch');
    assert.equal(attributes('DELETE', '/api/v1/namespaces/a/pods').verb, 'deletecollection');
    assert.deepEqual(
      attributes('GET', '/api/v1/namespaces/a/pods', q('fieldSelector=metadata.name%3Dp')),
      {
        verb: 'list',
        resource: 'pods',
        apiGroup: '',
        namespace: 'a',
        name: 'p',
      },
    );
    assert.deepEqual(attributes('GET', '/api/v1/pods').verb, 'list');
    assert.deepEqual(attributes('GET', '/apis/apps/v1/namespaces/a/deployments'), {
      verb: 'list',
      resource: 'deployments',
      apiGroup: 'apps',
      namespace: 'a',
    });
    assert.deepEqual(attributes('GET', '/version'), {
      kind: 'nonResource',
      path: '/version',
      verb: 'get',
    });
  });

  it('applies RBAC rules with wildcards, subresources and resource names', () => {
    const base = { apiGroup: '', resource: 'pods', namespace: 'ns' };
    const allow = authorizerFromRules(
      [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get'] },
        { apiGroups: ['*'], resources: ['pods/status'], verbs: ['*'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['delete'], resourceNames: ['only'] },
      ],
      'ns',
    );
    assert.equal(allow({ ...base, verb: 'create' }), true);
    assert.equal(allow({ ...base, verb: 'list' }), false);
    assert.equal(allow({ ...base, verb: 'get', subresource: 'status', name: 'p' }), true);
    assert.equal(allow({ ...base, verb: 'get', subresource: 'log', name: 'p' }), false);
    assert.equal(allow({ ...base, verb: 'delete', name: 'only' }), true);
    assert.equal(allow({ ...base, verb: 'delete', name: 'other' }), false);
    assert.equal(allow({ ...base, verb: 'create', namespace: 'elsewhere' }), false);
    assert.equal(allow({ apiGroup: '', resource: 'pods', verb: 'list' }), false);
    const everything = authorizerFromRules(
      [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
      'ns',
    );
    assert.equal(everything({ ...base, verb: 'watch', subresource: 'status' }), true);
  });

  it('parses label and field selectors', () => {
    const labels = parseLabelSelector('a=1,b!=2,c,!d,e in (x, y),f notin (z)');
    assert.ok(labels.ok);
    const match = labels.value;
    assert.equal(match({ a: '1', c: '', e: 'y' }), true);
    assert.equal(match({ a: '1', b: '2', c: '', e: 'y' }), false);
    assert.equal(match({ a: '1', c: '', d: '', e: 'y' }), false);
    assert.equal(match({ a: '1', c: '', e: 'y', f: 'z' }), false);
    assert.equal(parseLabelSelector('a=b=c').ok, false);
    const fields = parseFieldSelector('metadata.name=p,status.phase!=Running');
    assert.ok(fields.ok);
    assert.equal(
      fields.value.matches({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }),
      true,
    );
    assert.deepEqual(parseFieldSelector('spec.foo=x'), {
      ok: false,
      message: 'field label not supported: spec.foo',
    });
  });

  it('validates metadata as the API server does', () => {
    const messages = (p: PodObject) => validatePodCreate(p).map((e) => `${e.field}: ${e.type}`);
    const spec = { containers: [{ name: 'c', image: 'i' }] };
    assert.deepEqual(messages({ apiVersion: 'v1', kind: 'Pod', metadata: {}, spec }), [
      'metadata.name: FieldValueRequired',
    ]);
    assert.deepEqual(
      messages({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a'.repeat(254) }, spec }),
      ['metadata.name: FieldValueInvalid'],
    );
    assert.deepEqual(
      messages({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'ok',
          labels: { 'example.com/Good_Key': 'v', 'bad/key/parts': 'v', ['x'.repeat(64)]: 'v' },
          annotations: { big: 'x'.repeat(256 * 1024) },
        },
        spec,
      }),
      [
        'metadata.labels: FieldValueInvalid',
        'metadata.labels: FieldValueInvalid',
        'metadata.annotations: FieldValueTooLong',
      ],
    );
    const [tooLong] = validatePodCreate({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'ok', annotations: { big: 'x'.repeat(256 * 1024) } },
      spec,
    });
    assert.equal(tooLong?.detail, 'may not be more than 262144 bytes');
  });

  it('validates resources and computes QoS classes', () => {
    const withResources = (resources: Record<string, Record<string, string>>): PodObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'r' },
      spec: { containers: [{ name: 'c', image: 'i', resources }] },
    });
    const errors = validatePodCreate(
      withResources({ limits: { cpu: '1', memory: 'lots' }, requests: { cpu: '2', gpu: '1' } }),
    );
    assert.deepEqual(
      errors.map((e) => [e.field, e.detail]),
      [
        [
          'spec.containers[0].resources.limits[memory]',
          "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ],
        ['spec.containers[0].resources.requests', 'must be less than or equal to cpu limit of 1'],
        [
          'spec.containers[0].resources.requests[gpu]',
          'must be a standard resource for containers',
        ],
      ],
    );
    const qos = (resources: Record<string, Record<string, string>>) => {
      const spec = withResources(resources).spec;
      assert.ok(spec);
      return podQosClass(spec);
    };
    assert.equal(qos({}), 'BestEffort');
    assert.equal(qos({ requests: { cpu: '100m' } }), 'Burstable');
    assert.equal(
      qos({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } }),
      'Guaranteed',
    );
    assert.equal(
      qos({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } }),
      'Burstable',
    );
  });
});

describe('command line', () => {
  it('serves until SIGTERM and prints the URL and a kubeconfig', async (t) => {
    const dir = freshDir();
    const child = spawn(
      process.execPath,
      [SERVER_MODULE, '--namespace', 'sandbox', '--kubeconfig-dir', dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const lines = createInterface({ input: child.stdout });
    const [line] = (await once(lines, 'line')) as [string];
    const started = JSON.parse(line) as { url: string; kubeconfig: string };
    assert.match(started.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(started.kubeconfig, join(dir, 'kubeconfig'));
    const kc = new KubeConfig();
    kc.loadFromFile(started.kubeconfig);
    const api = kc.makeApiClient(CoreV1Api);
    const created = await api.createNamespacedPod({ namespace: 'sandbox', body: pod('cli') });
    assert.equal(created.metadata?.namespace, 'sandbox');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
  });
});

describe('admission, in kube-apiserver’s order (authn, authz, mutating, validation, validating, store)', () => {
  const NS = 'routed';
  const gateway = podGatewayWebhook({
    gateway: 'foo',
    gatewayDefault: false,
    gatewayLabelValue: 'foo',
    gatewayAnnotationValue: 'foo',
  });
  const routedPod = (name: string, value = 'foo'): V1Pod =>
    pod(name, {
      metadata: { name, labels: { setGateway: value }, annotations: { setGateway: value } },
    });

  async function admissionServer(t: { after: (fn: () => Promise<void>) => void }) {
    const server = await serverFor(t, {
      namespaces: [
        'default',
        {
          name: NS,
          labels: { 'routed-gateway': 'true', 'pod-security.kubernetes.io/enforce': 'privileged' },
        },
      ],
      webhooks: [gateway],
    });
    return { server, ...(await clientFor(server)) };
  }

  it('the pod-gateway webhook routes the pods that ask for its gateway, in the namespaces it selects', async (t) => {
    const { server, api } = await admissionServer(t);
    const routed = await api.createNamespacedPod({ namespace: NS, body: routedPod('mine') });
    assert.deepEqual(
      routed.spec?.initContainers?.map((c) => c.name),
      ['gateway-init'],
    );
    assert.deepEqual(
      routed.spec?.containers.map((c) => c.name),
      ['main', 'gateway-sidecar'],
    );
    assert.deepEqual(routed.spec?.initContainers?.[0]?.securityContext?.capabilities?.add, [
      'NET_ADMIN',
      'NET_RAW',
    ]);
    assert.equal(routed.spec?.dnsPolicy, 'None');
    assert.ok(routed.spec?.volumes?.some((v) => v.name === 'gateway-configmap'));
    // another gateway's pod, and a pod in a namespace the webhook does not select: untouched
    const other = await api.createNamespacedPod({ namespace: NS, body: routedPod('b', 'bar') });
    assert.equal(other.spec?.initContainers, undefined);
    const elsewhere = await api.createNamespacedPod({
      namespace: 'default',
      body: routedPod('c'),
    });
    assert.equal(elsewhere.spec?.containers.length, 1);
    // the annotation, when present, overrides the label
    const annotated = await api.createNamespacedPod({
      namespace: NS,
      body: pod('d', {
        metadata: { name: 'd', labels: { setGateway: 'bar' }, annotations: { setGateway: 'foo' } },
      }),
    });
    assert.equal(annotated.spec?.containers.length, 2);
    assert.equal(server.pods(NS).length, 3);
  });

  it('with no value configured, the webhook wants a boolean and denies anything else', async (t) => {
    const server = await serverFor(t, {
      namespaces: [{ name: NS, labels: { 'routed-gateway': 'true' } }],
      webhooks: [podGatewayWebhook({ gateway: 'any' })],
    });
    const { api } = await clientFor(server);
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: routedPod('x') }));
    assert.equal(error.code, 400);
    assert.equal(
      statusOf(error).message,
      'admission webhook "pod-gateway-any.gateway-system.svc" denied the request: strconv.ParseBool: parsing "foo": invalid syntax',
    );
    // gatewayDefault true (the chart's default): a pod without the keys is routed
    const plain = await api.createNamespacedPod({ namespace: NS, body: pod('plain') });
    assert.equal(plain.spec?.containers.length, 2);
  });

  it('a webhook that is down fails every create it selects with 500, even of a pod that exists', async (t) => {
    const { server, api } = await admissionServer(t);
    await api.createNamespacedPod({ namespace: NS, body: routedPod('there') });
    server.setWebhook(gateway.name, 'down');
    const error = await apiError(
      api.createNamespacedPod({ namespace: NS, body: routedPod('there') }),
    );
    assert.equal(error.code, 500);
    const status = statusOf(error);
    assert.equal(status.reason, 'InternalError');
    assert.match(
      status.message,
      /^Internal error occurred: failed calling webhook "pod-gateway-foo\.gateway-system\.svc": failed to call webhook: Post "https:\/\/.*": .*connection refused$/,
    );
    // not selected: the default namespace is not affected
    await api.createNamespacedPod({ namespace: 'default', body: pod('fine') });
    server.setWebhook(gateway.name, 'up');
    const again = await apiError(
      api.createNamespacedPod({ namespace: NS, body: routedPod('there') }),
    );
    assert.equal(again.code, 409);
  });

  it('a webhook denial carries its own code and message, and no reason of the API’s', async (t) => {
    const { server, api } = await admissionServer(t);
    server.setWebhook(gateway.name, { deny: { code: 403, message: 'gateway foo is closed' } });
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: routedPod('n') }));
    assert.equal(error.code, 403);
    assert.deepEqual(statusOf(error), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'admission webhook "pod-gateway-foo.gateway-system.svc" denied the request: gateway foo is closed',
      reason: '',
      code: 403,
    });
  });

  it('Pod Security baseline refuses the routed pod: the webhook adds NET_ADMIN and NET_RAW as root', async (t) => {
    const { server, api } = await admissionServer(t);
    server.labelNamespace(NS, { 'pod-security.kubernetes.io/enforce': 'baseline' });
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: routedPod('p') }));
    assert.equal(error.code, 403);
    assert.equal(statusOf(error).reason, 'Forbidden');
    assert.equal(
      statusOf(error).message,
      'pods "p" is forbidden: violates PodSecurity "baseline:latest": non-default capabilities (containers "gateway-init", "gateway-sidecar" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)',
    );
    // the unrouted pod passes baseline
    await api.createNamespacedPod({ namespace: NS, body: routedPod('q', 'bar') });
  });

  it('a pod that exists meets a full quota before the store: 403 exceeded quota, not 409', async (t) => {
    const { server, api } = await admissionServer(t);
    server.setResourceQuota('default', { name: 'pods-quota', hard: { pods: '1' } });
    await api.createNamespacedPod({ namespace: 'default', body: pod('only') });
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('only') }),
    );
    assert.equal(error.code, 403);
    assert.equal(
      statusOf(error).message,
      'pods "only" is forbidden: exceeded quota: pods-quota, requested: pods=1, used: pods=1, limited: pods=1',
    );
    server.setResourceQuota('default', { name: 'cpu', hard: { 'limits.cpu': '1' } });
    const unlimited = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('more') }),
    );
    assert.equal(
      statusOf(unlimited).message,
      'pods "more" is forbidden: failed quota: cpu: must specify limits.cpu for: main',
    );
  });

  it('a new namespace without its service account yet: 403 error looking up service account', async (t) => {
    const server = await serverFor(t, { namespaces: [{ name: 'fresh', serviceAccounts: [] }] });
    const { api } = await clientFor(server);
    const error = await apiError(api.createNamespacedPod({ namespace: 'fresh', body: pod('s') }));
    assert.equal(error.code, 403);
    assert.equal(
      statusOf(error).message,
      'pods "s" is forbidden: error looking up service account fresh/default: serviceaccount "default" not found',
    );
    server.addServiceAccount('fresh', 'default');
    await api.createNamespacedPod({ namespace: 'fresh', body: pod('s') });
  });

  it('a namespace being deleted: 403 with the NamespaceTerminating cause', async (t) => {
    const { server, api } = await admissionServer(t);
    server.terminateNamespace(NS);
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: pod('t') }));
    assert.equal(error.code, 403);
    assert.deepEqual(statusOf(error).details, {
      name: 't',
      kind: 'pods',
      causes: [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${NS} is being terminated`,
          field: 'metadata.namespace',
        },
      ],
    });
    assert.equal(
      statusOf(error).message,
      `pods "t" is forbidden: unable to create new content in namespace ${NS} because it is being terminated`,
    );
  });

  it('a LimitRange gives defaults, and refuses a container over its maximum', async (t) => {
    const { server, api } = await admissionServer(t);
    server.setLimitRange('default', {
      name: 'limits',
      default: { cpu: '100m', memory: '64Mi' },
      max: { cpu: '200m' },
    });
    const defaulted = await api.createNamespacedPod({ namespace: 'default', body: pod('l') });
    assert.deepEqual(JSON.parse(JSON.stringify(defaulted.spec?.containers[0]?.resources)), {
      limits: { cpu: '100m', memory: '64Mi' },
      requests: { cpu: '100m', memory: '64Mi' },
    });
    const big = pod('big');
    const [container] = big.spec?.containers ?? [];
    if (container) container.resources = { limits: { cpu: '1' } };
    const error = await apiError(api.createNamespacedPod({ namespace: 'default', body: big }));
    assert.equal(error.code, 403);
    assert.equal(
      statusOf(error).message,
      'pods "big" is forbidden: maximum cpu usage per Container is 200m, but limit is 1',
    );
  });

  it('RBAC comes before admission: a denied create never reaches the webhooks', async (t) => {
    const server = await serverFor(t, {
      namespaces: [{ name: NS, labels: { 'routed-gateway': 'true' } }],
      webhooks: [gateway],
      authorize: (attrs) => attrs.verb !== 'create',
    });
    server.setWebhook(gateway.name, 'down');
    const { api } = await clientFor(server);
    const error = await apiError(api.createNamespacedPod({ namespace: NS, body: routedPod('r') }));
    assert.equal(error.code, 403);
    assert.match(statusOf(error).message, /cannot create resource "pods"/);
  });
});

describe('graceful deletion', () => {
  it('a pod on a node stays, with deletionTimestamp, until its grace period ends; a create of its name says so', async (t) => {
    const server = await serverFor(t);
    const { api } = await clientFor(server);
    await api.createNamespacedPod({ namespace: 'default', body: pod('going') });
    server.bindPod('default', 'going', 'node-1');
    const answered = await api.deleteNamespacedPod({
      name: 'going',
      namespace: 'default',
      gracePeriodSeconds: 1,
    });
    assert.match(String(answered.metadata?.deletionTimestamp?.toISOString()), /^\d{4}-/);
    assert.equal(answered.metadata?.deletionGracePeriodSeconds, 1);
    assert.ok(server.pod('default', 'going')?.metadata?.deletionTimestamp, 'still stored');
    const error = await apiError(
      api.createNamespacedPod({ namespace: 'default', body: pod('going') }),
    );
    assert.equal(error.code, 409);
    assert.equal(statusOf(error).message, 'object is being deleted: pods "going" already exists');
    while (server.pod('default', 'going') !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await api.createNamespacedPod({ namespace: 'default', body: pod('going') });
  });

  it('a pod on no node goes at once', async (t) => {
    const server = await serverFor(t);
    const { api } = await clientFor(server);
    await api.createNamespacedPod({ namespace: 'default', body: pod('unbound') });
    await api.deleteNamespacedPod({ name: 'unbound', namespace: 'default' });
    assert.equal(server.pod('default', 'unbound'), undefined);
  });
});

describe('credentials', () => {
  it('a client-certificate kubeconfig: the server verifies the certificate and takes its CN as the user', async (t) => {
    const server = await serverFor(t, { user: 'kubernetes-admin' });
    const kc = new KubeConfig();
    kc.loadFromFile(await server.writeKubeconfig(freshDir(), 'client-certificate'));
    assert.equal(kc.getCurrentUser()?.token, undefined);
    const api = kc.makeApiClient(CoreV1Api);
    await api.createNamespacedPod({ namespace: 'default', body: pod('by-cert') });
    assert.deepEqual(
      server.requests.map((r) => [r.user, r.credential]),
      [['kubernetes-admin', 'client-certificate']],
    );
  });

  it('the client verifies the server against the kubeconfig’s CA', async (t) => {
    const server = await serverFor(t);
    const kc = new KubeConfig();
    kc.loadFromFile(await server.writeKubeconfig(freshDir()));
    const cluster = kc.getCurrentCluster();
    const otherCa = await selfSignedCa();
    if (cluster) Object.assign(cluster, { caData: Buffer.from(otherCa).toString('base64') });
    await assert.rejects(
      kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' }),
      (error: unknown) =>
        error instanceof Error &&
        /certificate/i.test(String((error.cause as Error | undefined)?.message)),
    );
    assert.deepEqual(server.requests, []);
  });

  it('an exec-plugin kubeconfig: the token the plugin prints is the one sent', async (t) => {
    const server = await serverFor(t);
    const kc = new KubeConfig();
    kc.loadFromFile(await server.writeKubeconfig(freshDir(), 'exec'));
    assert.ok(kc.getCurrentUser()?.exec, 'an exec user');
    const api = kc.makeApiClient(CoreV1Api);
    await api.listNamespacedPod({ namespace: 'default' });
    assert.equal(server.requests[0]?.credential, 'token');
  });

  it('a rotated token is accepted at once; the previous one until it is revoked', async (t) => {
    const server = await serverFor(t);
    const { token, previous } = server.rotateToken();
    const list = (bearer: string) =>
      raw(server, 'GET', '/api/v1/namespaces/default/pods', { token: bearer });
    assert.equal((await list(token)).status, 200);
    assert.equal((await list(previous)).status, 200);
    server.revokeToken(previous);
    assert.equal((await list(previous)).status, 401);
    assert.equal(server.token, token);
  });

  it('refuses an APF Retry-After outside 1 to 32 seconds', async (t) => {
    const server = await serverFor(t);
    assert.throws(() => server.injectFault({ status: 429, retryAfterSeconds: 33 }), /1 to 32/);
  });
});

/** A CA of its own, which signed nothing of the server's. */
async function selfSignedCa(): Promise<string> {
  const dir = freshDir();
  await mkdir(dir, { recursive: true });
  const run = promisify(execFile);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'ca.key'),
    '-out',
    join(dir, 'ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=other-ca',
  ]);
  return readFile(join(dir, 'ca.crt'), 'utf8');
}

describe('hooks for the simulated cluster', () => {
  it('keeps a creationTimestamp a test gives addPod, to date a pod back', async (t) => {
    const server = await serverFor(t);
    const stored = server.addPod({
      metadata: { name: 'old', creationTimestamp: '2020-01-02T03:04:05Z' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    assert.equal(stored.metadata?.creationTimestamp, '2020-01-02T03:04:05Z');
    const fresh = server.addPod({
      metadata: { name: 'new' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
    assert.notEqual(fresh.metadata?.creationTimestamp, '2020-01-02T03:04:05Z');
  });
});
