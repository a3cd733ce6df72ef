// Paths, verbs and status codes of the Kubernetes API test server, through the real client: create,
// get, delete, validation errors, discovery.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { KubeApiServer } from '../../testbed/kube-api-server/server.ts';
import type { Status } from '../../testbed/kube-api-server/status.ts';
import {
  apiError,
  pod,
  RFC3339_SECONDS,
  raw,
  startSharedServer,
  statusOf,
} from './test-support.ts';

describe('kube API test server through the real client', () => {
  let server: KubeApiServer;
  let api: CoreV1Api;

  before(async () => {
    ({ server, api } = await startSharedServer());
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
});
