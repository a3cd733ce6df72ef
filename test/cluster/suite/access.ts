// The start-up access check against the real Role (SelfSubjectAccessReviews), and the ways a
// function outside the cluster authenticates: a client certificate, an exec plugin, a bound
// token rotated under it (in-cluster, from the service-account token file).
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { issueClientCertificate } from '../../../testbed/cluster/certificates.ts';
import { kubeconfigDocument, writeKubeconfig } from '../../../testbed/cluster/kubeconfig.ts';
import { createObjects, FUNCTION_SERVICE_ACCOUNT } from '../../../testbed/cluster/manifests.ts';
import {
  CAN_UNSHARE,
  type RunningFunction,
  startFunction,
  withServiceAccountDir,
} from '../../../testbed/function-process.ts';
import { CLIENT_NAMESPACE, pendingFor, type Suite, send, waitFor } from './context.ts';
import { createClientNamespace, deleteNamespace } from './namespaces.ts';

const DONE = 'io.podgateway.client.scheduling.done';
const ALL_ALLOWED = `access check in namespace "${CLIENT_NAMESPACE}": may create, get, list, watch, delete pods and create, patch events`;
const MISSING_PERMISSION = /warning: the function's service account may not/;

async function assertServes(fn: RunningFunction): Promise<void> {
  const reply = await send(fn, pendingFor('foo'));
  assert.equal(reply.event?.type, DONE, reply.text);
}

/** The function started with `kubeconfig`: every permission checked at start, and `done`. */
async function assertStartsAndServes(suite: Suite, kubeconfig: string): Promise<void> {
  const fn = await suite.startFunction({ KUBECONFIG: kubeconfig });
  try {
    assert.ok(fn.output().includes(ALL_ALLOWED), fn.output());
    await assertServes(fn);
  } finally {
    await fn.stop();
  }
}

/** A RoleBinding of deploy/rbac.yaml's Role in client-system to a user of a client certificate. */
function bindUser(user: string): k8s.V1RoleBinding {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: `client-provisioner-${user}`, namespace: CLIENT_NAMESPACE },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'client-provisioner' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  };
}

/** A TokenRequest of the function's ServiceAccount bound to a Secret: deleting it revokes the token. */
async function boundToken(suite: Suite, secret: string): Promise<string> {
  const { namespace } = FUNCTION_SERVICE_ACCOUNT;
  const made = await suite.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: secret } },
  });
  const answer = await suite.core.createNamespacedServiceAccountToken({
    ...FUNCTION_SERVICE_ACCOUNT,
    body: {
      spec: {
        expirationSeconds: 3600,
        boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: secret, uid: made.metadata?.uid },
      },
    },
  });
  return answer.status?.token ?? '';
}

async function tokenStatus(suite: Suite, token: string): Promise<number> {
  const config = new k8s.KubeConfig();
  config.loadFromString(kubeconfigDocument(suite.cluster.server, await suite.caPem(), { token }));
  try {
    await config.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: CLIENT_NAMESPACE });
    return 200;
  } catch (error) {
    return error instanceof k8s.ApiException ? error.code : 0;
  }
}

/**
 * The kubelet's rotation: a new token swapped into the file (written beside it, then renamed),
 * the old one revoked (its Secret deleted) and refused by kube-apiserver.
 */
async function rotate(
  suite: Suite,
  file: string,
  oldSecret: string,
  newSecret: string,
  oldToken: string,
): Promise<void> {
  await writeFile(`${file}.new`, await boundToken(suite, newSecret));
  await rename(`${file}.new`, file);
  await suite.core.deleteNamespacedSecret({
    name: oldSecret,
    namespace: FUNCTION_SERVICE_ACCOUNT.namespace,
  });
  await waitFor('the old token refused', async () => (await tokenStatus(suite, oldToken)) === 401);
}

export function describeAccess(suite: Suite): void {
  describe('the access check at start, against the real Role', () => {
    const namespace = 'no-delete-clients';
    after(() => deleteNamespace(suite.admin, namespace));

    it('says the function may make every call it needs, with no warning', async () => {
      const fn = await suite.startFunction();
      try {
        assert.ok(fn.output().includes(ALL_ALLOWED), fn.output());
        assert.doesNotMatch(fn.output(), MISSING_PERMISSION);
      } finally {
        await fn.stop();
      }
    });

    it('warns about a Role without delete', async () => {
      await createClientNamespace(suite.admin, namespace, { withoutPodVerbs: ['delete'] });
      const fn = await suite.startFunction({ CLIENT_NAMESPACE: namespace });
      try {
        assert.match(
          fn.output(),
          /warning: the function's service account may not delete pods in namespace "no-delete-clients", which it needs to /,
        );
        assert.match(fn.output(), /may NOT delete pods/);
        assert.doesNotMatch(fn.output(), /may not (create|get|list|watch) pods/);
      } finally {
        await fn.stop();
      }
    });
  });

  describe('credentials', () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'podgateway-credentials-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('a client certificate of a user bound to the Role', async () => {
      const user = 'podgateway-certificate-user';
      const pair = await issueClientCertificate(
        dirname(suite.cluster.caFile),
        'function-user',
        user,
      );
      await createObjects(suite.admin, [bindUser(user)]);
      const kubeconfig = join(dir, 'certificate.kubeconfig');
      const credentials = { kind: 'certificate', pair } as const;
      await writeKubeconfig(kubeconfig, suite.cluster.server, suite.cluster.caFile, credentials);
      await assertStartsAndServes(suite, kubeconfig);
    });

    it('an exec plugin that prints an ExecCredential with a bound token', async () => {
      const token = await boundToken(suite, 'exec-plugin-token');
      const credential = JSON.stringify({
        apiVersion: 'client.authentication.k8s.io/v1',
        kind: 'ExecCredential',
        status: { token },
      });
      const plugin = join(dir, 'credential-plugin.sh');
      await writeFile(plugin, `#!/bin/sh\ncat <<'CREDENTIAL'\n${credential}\nCREDENTIAL\n`);
      await chmod(plugin, 0o700);
      const user = {
        exec: {
          apiVersion: 'client.authentication.k8s.io/v1',
          command: plugin,
          interactiveMode: 'Never',
        },
      };
      const kubeconfig = join(dir, 'exec.kubeconfig');
      await writeFile(
        kubeconfig,
        kubeconfigDocument(suite.cluster.server, await suite.caPem(), user),
      );
      await assertStartsAndServes(suite, kubeconfig);
    });

    // Found here: @kubernetes/client-node reads a kubeconfig's token-file once, at load; the
    // function now re-reads it when it changes, as it does the in-cluster token file.
    it('a bound token rotated in a kubeconfig token-file', async () => {
      const tokenFile = join(dir, 'kubeconfig-token');
      const first = await boundToken(suite, 'token-file-first');
      await writeFile(tokenFile, first);
      const kubeconfig = join(dir, 'token-file.kubeconfig');
      const user = { 'token-file': tokenFile };
      await writeFile(
        kubeconfig,
        kubeconfigDocument(suite.cluster.server, await suite.caPem(), user),
      );
      const fn = await suite.startFunction({ KUBECONFIG: kubeconfig });
      try {
        await assertServes(fn);
        await rotate(suite, tokenFile, 'token-file-first', 'token-file-second', first);
        await assertServes(fn);
      } finally {
        await fn.stop();
      }
    });

    it('a bound token rotated in the service-account token file (in-cluster)', {
      skip: CAN_UNSHARE ? false : 'needs unshare --mount to place the token file',
    }, async () => {
      const accountDir = join(dir, 'serviceaccount');
      await mkdir(accountDir);
      await writeFile(join(accountDir, 'ca.crt'), await readFile(suite.cluster.caFile));
      await writeFile(join(accountDir, 'namespace'), FUNCTION_SERVICE_ACCOUNT.namespace);
      const first = await boundToken(suite, 'rotation-first');
      await writeFile(join(accountDir, 'token'), first);
      const port = new URL(suite.cluster.server).port;
      const fn = await startFunction({
        env: {
          ...suite.functionEnv({
            KUBERNETES_SERVICE_HOST: '127.0.0.1',
            KUBERNETES_SERVICE_PORT: port,
          }),
          KUBECONFIG: '',
        },
        wrap: withServiceAccountDir(accountDir),
      });
      try {
        await assertServes(fn);
        await rotate(suite, join(accountDir, 'token'), 'rotation-first', 'rotation-second', first);
        await assertServes(fn);
      } finally {
        await fn.stop();
      }
    });
  });
}
