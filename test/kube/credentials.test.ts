// The three kinds of credentials real clusters hand out, end to end: the built function reaches
// the API test server with a client-certificate kubeconfig (kind's), an exec-plugin kubeconfig
// (EKS's, GKE's), and in-cluster with a projected token the kubelet rotates while it runs.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { startInProcess } from '../../testbed/function-in-process.ts';
import {
  CAN_UNSHARE,
  type ServedFunction,
  startFunction,
  withServiceAccountDir,
} from '../../testbed/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { unrelatedCaPem } from '../../testbed/tls.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';

const NAMESPACE = 'client-system';
let server: KubeApiServer;
let workDir: string;
let dirCount = 0;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-credentials-'));
  server = await startKubeApiServer({
    namespaces: [NAMESPACE],
    user: `system:serviceaccount:podgateway-provisioner:client-provisioner`,
  });
});

after(async () => {
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

function freshDir(): string {
  dirCount += 1;
  return join(workDir, String(dirCount));
}

/** In this process, unless the function must see the service-account files (`wrap`). */
async function withFunction(
  env: Record<string, string>,
  run: (fn: ServedFunction) => Promise<void>,
  wrap?: (command: string[]) => string[],
): Promise<void> {
  server.reset();
  const fullEnv = { CLIENT_NAMESPACE: NAMESPACE, ...env };
  const fn = wrap ? await startFunction({ env: fullEnv, wrap }) : await startInProcess(fullEnv);
  try {
    await run(fn);
  } finally {
    await fn.stop();
  }
}

const send = (fn: ServedFunction) =>
  sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');

const apiCalls = () => server.coreRequests();

describe('a client-certificate kubeconfig (as kind writes it)', () => {
  it('authenticates with the certificate, and trusts the server through the kubeconfig’s CA', async () => {
    const kubeconfig = await server.writeKubeconfig(freshDir(), 'client-certificate');
    assert.match(await readFile(kubeconfig, 'utf8'), /client-certificate-data/);
    await withFunction({ KUBECONFIG: kubeconfig, API_TIMEOUT_MS: '2000' }, async (fn) => {
      const reply = await send(fn);
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.deepEqual(
        apiCalls().map((r) => [r.method, r.status, r.credential, r.user]),
        [
          [
            'POST',
            201,
            'client-certificate',
            'system:serviceaccount:podgateway-provisioner:client-provisioner',
          ],
        ],
      );
    });
  });

  it('refuses a server its CA did not sign: no request reaches it, and the event is retried', async () => {
    const dir = freshDir();
    const kubeconfig = await server.writeKubeconfig(dir, 'client-certificate');
    const text = await readFile(kubeconfig, 'utf8');
    const otherCa = Buffer.from(await unrelatedCaPem()).toString('base64');
    await writeFile(
      kubeconfig,
      text.replace(/certificate-authority-data: ".*"/, `certificate-authority-data: "${otherCa}"`),
    );
    await withFunction(
      { KUBECONFIG: kubeconfig, API_TIMEOUT_MS: '400', EVENT_DEADLINE_MS: '1500' },
      async (fn) => {
        const reply = await send(fn);
        assert.equal(reply.status, 503, reply.text);
        assert.match(reply.text, /ApiUnavailable.*certificate/);
        assert.deepEqual(apiCalls(), []);
      },
    );
  });
});

describe('an exec credential plugin kubeconfig (as EKS and GKE write them)', () => {
  it('runs the plugin and sends the token it prints', async () => {
    const kubeconfig = await server.writeKubeconfig(freshDir(), 'exec');
    assert.match(
      await readFile(kubeconfig, 'utf8'),
      /exec:\n\s+apiVersion: client.authentication.k8s.io\/v1/,
    );
    // Only the plugin's token is left valid: the server's own one is refused.
    const { previous } = server.rotateToken();
    server.revokeToken(previous);
    await withFunction({ KUBECONFIG: kubeconfig, API_TIMEOUT_MS: '2000' }, async (fn) => {
      const reply = await send(fn);
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.deepEqual(
        apiCalls().map((r) => [r.method, r.status, r.credential]),
        [['POST', 201, 'token']],
      );
    });
  });
});

describe('a kubeconfig whose user names a token-file (a bound token that something rotates)', () => {
  it('sends the token the file holds now, after it was rotated and the old one revoked', async () => {
    const dir = freshDir();
    await mkdir(dir, { recursive: true });
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, server.token);
    const written = await readFile(await server.writeKubeconfig(dir), 'utf8');
    const kubeconfig = join(dir, 'token-file.kubeconfig');
    // The library reads a token-file once, at load: the function must read it again.
    await writeFile(kubeconfig, written.replace(/token: \S+/, `token-file: ${tokenFile}`));
    assert.match(await readFile(kubeconfig, 'utf8'), /token-file: \//);
    await withFunction({ KUBECONFIG: kubeconfig, API_TIMEOUT_MS: '2000' }, async (fn) => {
      assert.equal((await send(fn)).event?.type, DONE_TYPE);
      const { token, previous } = server.rotateToken();
      // As the kubelet's atomic writer does it: a new file renamed over the old one.
      await writeFile(`${tokenFile}.new`, token);
      await rename(`${tokenFile}.new`, tokenFile);
      server.revokeToken(previous);
      const reply = await send(fn);
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(apiCalls().at(-1)?.status, 201);
    });
  });
});

// The in-cluster path reads /var/run/secrets/kubernetes.io/serviceaccount, the real path: the
// function runs in a private mount namespace where our directory is bound there (as in
// test/lifecycle/startup.test.ts), so a token written here is what the kubelet's rotation looks like there.

describe('in a cluster, with the projected token rotated while the function runs', {
  skip: !CAN_UNSHARE && 'unshare --mount is not permitted here',
}, () => {
  it('the next call sends the new token; the old one is refused from then on', async () => {
    const accountDir = freshDir();
    await mkdir(accountDir, { recursive: true });
    await server.writeServiceAccountDir(accountDir, NAMESPACE);
    const env = {
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(server.port),
      API_TIMEOUT_MS: '2000',
    };
    const wrap = withServiceAccountDir(accountDir);
    await withFunction(
      env,
      async (fn) => {
        assert.equal((await send(fn)).event?.type, DONE_TYPE);
        // The kubelet writes the new token; the API server stops taking the old one.
        const { previous } = server.rotateToken();
        await server.writeServiceAccountDir(accountDir, NAMESPACE);
        server.revokeToken(previous);
        const reply = await send(fn);
        assert.equal(reply.event?.type, DONE_TYPE, reply.text);
        assert.deepEqual(
          apiCalls().map((r) => [r.method, r.status]),
          [
            ['POST', 201],
            ['POST', 201],
          ],
        );
        assert.equal(server.pods(NAMESPACE).length, 2);
      },
      wrap,
    );
  });
});
