// The test API server's SelfSubjectAccessReview, through the real client: the server's own
// authorizer answers for the user who asks, whatever that user's Role says of the review itself.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiException, AuthorizationV1Api, KubeConfig } from '@kubernetes/client-node';
import { readDeployedRole } from '../../testbed/deployed-role.ts';
import {
  authorizerFromRules,
  type KubeApiServer,
  startKubeApiServer,
} from '../../testbed/kube-api-server/server.ts';

let server: KubeApiServer;
let workDir: string;
let api: AuthorizationV1Api;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'access-review-'));
  // The deployed Role, bound in client-system: it does not mention selfsubjectaccessreviews.
  const role = await readDeployedRole();
  server = await startKubeApiServer({
    namespaces: ['client-system'],
    authorize: authorizerFromRules(role.rules, 'client-system'),
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(await server.writeKubeconfig(workDir));
  api = kubeConfig.makeApiClient(AuthorizationV1Api);
});

after(async () => {
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

function review(resourceAttributes: Record<string, string>) {
  return api.createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes } },
  });
}

describe('SelfSubjectAccessReview', () => {
  it('answers allowed for what the Role grants, in its namespace only', async () => {
    const granted = await review({ namespace: 'client-system', verb: 'create', resource: 'pods' });
    assert.equal(granted.status?.allowed, true);
    assert.equal(granted.spec.resourceAttributes?.verb, 'create');
    const elsewhere = await review({ namespace: 'default', verb: 'create', resource: 'pods' });
    assert.equal(elsewhere.status?.allowed, false);
    assert.equal(elsewhere.status?.denied, undefined, 'RBAC has no opinion; it does not deny');
    const notGranted = await review({
      namespace: 'client-system',
      verb: 'patch',
      resource: 'pods',
    });
    assert.equal(notGranted.status?.allowed, false);
  });

  it('refuses a spec without resourceAttributes with 422, as validation does', async () => {
    await assert.rejects(
      api.createSelfSubjectAccessReview({ body: { spec: {} } }),
      (error: unknown) =>
        error instanceof ApiException &&
        error.code === 422 &&
        /exactly one of nonResourceAttributes or resourceAttributes must be specified/.test(
          String(error.body),
        ),
    );
  });

  it('answers 401 to a wrong token: authentication comes first', async () => {
    const file = await server.writeKubeconfig(join(workDir, 'wrong-token'));
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace(server.token, 'not-the-token'));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(file);
    await assert.rejects(
      kubeConfig.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
        body: { spec: { resourceAttributes: { verb: 'get', resource: 'pods' } } },
      }),
      (error: unknown) => error instanceof ApiException && error.code === 401,
    );
  });
});
