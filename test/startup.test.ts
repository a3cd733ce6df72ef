// Start-up: configuration errors stop the function with a clear message; the client is found
// through a kubeconfig file or, in a cluster, through the service-account files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SERVICE_ACCOUNT_DIR } from '../src/config.ts';
import { DONE_TYPE } from '../src/reply.ts';
import { pendingEvent, sendEvent } from './support/events.ts';
import { runUntilExit, startFunction } from './support/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from './support/kube-api-server.ts';

let server: KubeApiServer;
let workDir: string;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-startup-'));
  server = await startKubeApiServer({ namespaces: ['default', 'team-a'] });
});

after(async () => {
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('start-up', () => {
  it('stops with a non-zero exit and names the variable when the configuration is bad', async () => {
    const kubeconfig = await server.writeKubeconfig(workDir);
    const { code, output } = await runUntilExit({
      KUBECONFIG: kubeconfig,
      CLIENT_NAMESPACE: 'Bad_Namespace',
    });
    assert.notEqual(code, 0);
    assert.match(output, /CLIENT_NAMESPACE: "Bad_Namespace" is not a namespace name/);
  });

  it('stops with a non-zero exit when no Kubernetes configuration is found', async () => {
    const { code, output } = await runUntilExit({ KUBECONFIG: join(workDir, 'missing') });
    assert.notEqual(code, 0);
    assert.match(output, /no Kubernetes configuration: .*missing not found/);
  });

  it('creates pods through the kubeconfig named by KUBECONFIG, in the default namespace', async () => {
    const fn = await startFunction({ env: { KUBECONFIG: await server.writeKubeconfig(workDir) } });
    try {
      const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(reply.event?.data?.namespace, 'default');
      assert.equal(server.pods('default').length, 1);
    } finally {
      await fn.stop();
      server.reset();
    }
  });
});

// The in-cluster path reads /var/run/secrets/kubernetes.io/serviceaccount, the real path: the
// function runs in a private mount namespace where our files are bound there.
const canUnshare = spawnSync('unshare', ['--mount', 'true']).status === 0;

describe('in a cluster (service-account token and CA, KUBERNETES_SERVICE_HOST/PORT)', {
  skip: !canUnshare && 'unshare --mount is not permitted here',
}, () => {
  it('authenticates with the token file, trusts ca.crt, and defaults to its own namespace', async () => {
    const accountDir = join(workDir, 'serviceaccount');
    await mkdir(accountDir, { recursive: true });
    await server.writeServiceAccountDir(accountDir, 'team-a');
    const fn = await startFunction({
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(server.port) },
      wrap: (command) => [
        'unshare',
        '--mount',
        'sh',
        '-c',
        `mkdir -p ${SERVICE_ACCOUNT_DIR} && mount --bind "$0" ${SERVICE_ACCOUNT_DIR} && exec "$@"`,
        accountDir,
        ...command,
      ],
    });
    try {
      const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'structured');
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(reply.event?.data?.namespace, 'team-a');
      assert.equal(server.pods('team-a').length, 1);
      assert.ok(
        server.requests.some((request) => request.method === 'POST' && request.status === 201),
      );
    } finally {
      await fn.stop();
    }
  });
});
