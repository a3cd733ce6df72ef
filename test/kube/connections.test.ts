// One connection pool per process, and the library's TLS verification and authentication kept.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiException, CoreV1Api, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describeApiFailure } from '../../src/kube/client.ts';
import { POOL_LIFETIME_MS, PooledKubeConfig } from '../../src/kube/connections.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { unrelatedCaPem } from '../../testbed/tls.ts';

let server: KubeApiServer;
let workDir: string;
let kubeconfig: string;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-connections-'));
  server = await startKubeApiServer();
  kubeconfig = await server.writeKubeconfig(workDir);
});

after(async () => {
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

function pooled(file = kubeconfig): PooledKubeConfig {
  const config = new PooledKubeConfig();
  config.loadFromFile(file);
  return config;
}

async function dispatcherOf(config: KubeConfig) {
  const context = new RequestContext(`${server.url}/api/v1/namespaces/default/pods`, 'GET');
  await config.applySecurityAuthentication(context);
  return { dispatcher: context.getDispatcher(), headers: context.getHeaders() };
}

function pod(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  };
}

describe('PooledKubeConfig', () => {
  it('gives every call the same dispatcher, where the library makes a new one each time', async () => {
    const library = new KubeConfig();
    library.loadFromFile(kubeconfig);
    const a = await dispatcherOf(library);
    const b = await dispatcherOf(library);
    assert.notEqual(a.dispatcher, b.dispatcher, 'client-node 2.0 makes an Agent per call');

    const config = pooled();
    const first = await dispatcherOf(config);
    const second = await dispatcherOf(config);
    assert.ok(first.dispatcher);
    assert.equal(second.dispatcher, first.dispatcher);
    assert.equal(second.headers.Authorization, `Bearer ${server.token}`, 'still authenticated');
  });

  it('sends on every pooled call the headers the library sends: basic auth and impersonation too', async () => {
    const withUser = (config: KubeConfig) => {
      const user = config.getCurrentUser();
      assert.ok(user);
      Object.assign(user, { username: 'ann', password: 'secret', impersonateUser: 'bob' });
      return config;
    };
    const library = new KubeConfig();
    library.loadFromFile(kubeconfig);
    const expected = (await dispatcherOf(withUser(library))).headers;
    const config = withUser(pooled());
    await dispatcherOf(config);
    const { headers } = await dispatcherOf(config);
    assert.equal(headers['Impersonate-User'], 'bob');
    assert.equal(headers.Authorization, expected.Authorization);
    assert.deepEqual(headers, expected);
  });

  it('replaces the pool after its lifetime, so new TLS settings are picked up', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: Date.now() });
    const config = pooled();
    const first = await dispatcherOf(config);
    t.mock.timers.tick(POOL_LIFETIME_MS - 1);
    assert.equal((await dispatcherOf(config)).dispatcher, first.dispatcher);
    t.mock.timers.tick(1);
    const renewed = await dispatcherOf(config);
    assert.notEqual(renewed.dispatcher, first.dispatcher);
    assert.equal((await dispatcherOf(config)).dispatcher, renewed.dispatcher);
  });

  it('makes real calls over HTTPS with the bearer token, many on one pool', async () => {
    const api = pooled().makeApiClient(CoreV1Api);
    const names = Array.from({ length: 20 }, (_, i) => `pooled-${i}`);
    await Promise.all(
      names
        .slice(0, 10)
        .map((name) => api.createNamespacedPod({ namespace: 'default', body: pod(name) })),
    );
    for (const name of names.slice(10)) {
      await api.createNamespacedPod({ namespace: 'default', body: pod(name) });
    }
    const read = await api.readNamespacedPod({ name: 'pooled-19', namespace: 'default' });
    assert.equal(read.metadata?.name, 'pooled-19');
    assert.equal(
      server.pods('default').filter((p) => p.metadata?.name?.startsWith('pooled-')).length,
      20,
    );
  });

  it('still refuses a server whose certificate the configured CA did not sign', async () => {
    const otherCa = Buffer.from(await unrelatedCaPem()).toString('base64');
    const text = (await readFile(kubeconfig, 'utf8')).replace(
      /certificate-authority-data: ".*"/,
      `certificate-authority-data: "${otherCa}"`,
    );
    const wrongCa = join(workDir, 'wrong-ca-kubeconfig');
    await writeFile(wrongCa, text);
    const api = pooled(wrongCa).makeApiClient(CoreV1Api);
    const error = await api.readNamespacedPod({ name: 'x', namespace: 'default' }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof Error && !(error instanceof ApiException), 'no answer read');
    const failure = describeApiFailure(error);
    assert.equal(failure.reason, 'ApiUnavailable');
    assert.match(failure.message, /certificate/i);
  });

  it('still sends the token: a wrong one gets 401', async () => {
    const text = (await readFile(kubeconfig, 'utf8')).replace(
      /token: ".*"/,
      'token: "not-the-token"',
    );
    const wrongToken = join(workDir, 'wrong-token-kubeconfig');
    await writeFile(wrongToken, text);
    const api = pooled(wrongToken).makeApiClient(CoreV1Api);
    await assert.rejects(api.readNamespacedPod({ name: 'x', namespace: 'default' }), {
      code: 401,
    });
  });

  it('asks the exec credential plugin on every call the pool serves: a changed token is sent at once', async () => {
    const tokenFile = join(workDir, 'exec-token');
    const plugin = join(workDir, 'exec-plugin.mjs');
    // An ExecCredential that is already expired: the library runs the plugin again next call.
    await writeFile(
      plugin,
      `import { readFileSync } from 'node:fs';
process.stdout.write(JSON.stringify({
  apiVersion: 'client.authentication.k8s.io/v1',
  kind: 'ExecCredential',
  status: { token: readFileSync(${JSON.stringify(tokenFile)}, 'utf8'), expirationTimestamp: new Date(Date.now() - 1000).toISOString() },
}));`,
    );
    const exec = [
      '    exec:',
      '      apiVersion: client.authentication.k8s.io/v1',
      `      command: ${JSON.stringify(process.execPath)}`,
      `      args: [${JSON.stringify(plugin)}]`,
      '      interactiveMode: Never',
    ].join('\n');
    const text = (await readFile(kubeconfig, 'utf8')).replace(/ {4}token: ".*"/, exec);
    const execConfig = join(workDir, 'exec-kubeconfig');
    await writeFile(execConfig, text);
    const config = pooled(execConfig);
    const api = config.makeApiClient(CoreV1Api);
    await writeFile(tokenFile, server.token);
    await api.createNamespacedPod({ namespace: 'default', body: pod('exec-1') });
    const first = await dispatcherOf(config);
    await writeFile(tokenFile, 'revoked');
    await assert.rejects(api.readNamespacedPod({ name: 'exec-1', namespace: 'default' }), {
      code: 401,
    });
    await writeFile(tokenFile, server.token);
    const read = await api.readNamespacedPod({ name: 'exec-1', namespace: 'default' });
    assert.equal(read.metadata?.name, 'exec-1');
    assert.equal((await dispatcherOf(config)).dispatcher, first.dispatcher, 'one pool throughout');
  });
});
