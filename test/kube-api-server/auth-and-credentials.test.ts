// TLS, authentication, authorization and credentials of the Kubernetes API test server, through the
// real client.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, afterEach, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  authorizerFromRules,
  type KubeApiServer,
  type RequestAttributes,
} from '../../testbed/kube-api-server/server.ts';
import type { Status } from '../../testbed/kube-api-server/status.ts';
import {
  apiError,
  clientFor,
  freshDir,
  pod,
  raw,
  selfSignedCa,
  serverFor,
  startSharedServer,
  statusOf,
} from './test-support.ts';

describe('kube API test server through the real client', () => {
  let server: KubeApiServer;

  before(async () => {
    ({ server } = await startSharedServer());
  });
  after(() => server.close());
  afterEach(() => server.reset());

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
