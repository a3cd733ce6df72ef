// The differential check of our in-memory API server (test/kube-api-server/) against the real
// kube-apiserver: the same requests to both, the answers compared (status code, reason, message,
// the pod as stored). Every difference it found was fixed in the model (test/cluster/README.md
// lists them); a new one fails the check.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import { createObjects } from '../../../testbed/cluster/manifests.ts';
import { deployedGatewayWebhooks } from '../../../testbed/deployed-gateways.ts';
import { type KubeApiServer, startKubeApiServer } from '../../../testbed/kube-api-server/server.ts';
import {
  type ApiAnswer,
  type ApiTarget,
  callTarget,
  type Difference,
  differences,
  normalized,
} from './api-target.ts';
import { type Suite, waitFor } from './context.ts';

const PRIVILEGED = { 'pod-security.kubernetes.io/enforce': 'privileged' };
const NAMESPACES: ReadonlyArray<{ name: string; labels: Record<string, string> }> = [
  { name: 'diff-routed', labels: { 'routed-gateway': 'true', ...PRIVILEGED } },
  { name: 'diff-unrouted', labels: PRIVILEGED },
  {
    name: 'diff-restricted',
    labels: { 'routed-gateway': 'true', 'pod-security.kubernetes.io/enforce': 'restricted' },
  },
  { name: 'diff-quota', labels: { 'routed-gateway': 'true', ...PRIVILEGED } },
];
const FULL_QUOTA = { name: 'full', hard: { pods: '0' } };

/** A pod as the function makes one: a locked-down client container asking for a gateway. */
function clientPod(name: string, gateway: string): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: { setGateway: gateway, 'app.kubernetes.io/managed-by': 'differential' },
      annotations: { setGateway: gateway },
    },
    spec: {
      automountServiceAccountToken: false,
      containers: [
        {
          name: 'client',
          image: 'alpine/curl',
          command: ['sleep', 'infinity'],
          resources: {
            requests: { cpu: '10m', memory: '16Mi' },
            limits: { cpu: '100m', memory: '64Mi' },
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            seccompProfile: { type: 'RuntimeDefault' },
          },
        },
      ],
    },
  };
}

const podsOf = (namespace: string) => `/api/v1/namespaces/${namespace}/pods`;
const create = (target: ApiTarget, namespace: string, pod: k8s.V1Pod) =>
  callTarget(target, 'POST', podsOf(namespace), pod);

/** A list page reduced to what paging is: its items' names, and whether and how it goes on. */
function pageShape(answer: ApiAnswer): ApiAnswer {
  const metadata = (answer.body.metadata ?? {}) as Record<string, unknown>;
  const items = (answer.body.items ?? []) as k8s.V1Pod[];
  return {
    status: answer.status,
    body: {
      kind: answer.body.kind,
      names: items.map((item) => item.metadata?.name),
      continues: typeof metadata.continue === 'string' && metadata.continue !== '',
      remainingItemCount: metadata.remainingItemCount,
    },
  };
}

interface DifferentialCase {
  readonly name: string;
  run(target: ApiTarget): Promise<ApiAnswer[]>;
}

const CASES: readonly DifferentialCase[] = [
  {
    name: 'create a routed pod',
    run: async (target) => [await create(target, 'diff-routed', clientPod('routed', 'foo'))],
  },
  {
    name: 'create a routed pod that has an init container of its own',
    run: async (target) => {
      const pod = clientPod('own-init', 'foo');
      const own = { name: 'prepare', image: 'alpine/curl', command: ['true'] };
      const body = {
        ...pod,
        spec: { ...pod.spec, containers: pod.spec?.containers ?? [], initContainers: [own] },
      };
      return [await create(target, 'diff-routed', body)];
    },
  },
  {
    name: 'create an unrouted pod',
    run: async (target) => [await create(target, 'diff-unrouted', clientPod('unrouted', 'foo'))],
  },
  {
    name: 'create a pod twice',
    run: async (target) => {
      const first = await create(target, 'diff-routed', clientPod('twice', 'bar'));
      const second = await create(target, 'diff-routed', clientPod('twice', 'bar'));
      return [{ status: first.status, body: {} }, second];
    },
  },
  {
    name: 'get a missing pod',
    run: async (target) => [await callTarget(target, 'GET', `${podsOf('diff-routed')}/missing`)],
  },
  {
    name: 'delete with a wrong uid precondition',
    run: async (target) => {
      const made = await create(target, 'diff-unrouted', clientPod('precondition', 'none'));
      const body = { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } };
      const path = `${podsOf('diff-unrouted')}/precondition`;
      return [{ status: made.status, body: {} }, await callTarget(target, 'DELETE', path, body)];
    },
  },
  {
    name: 'list with limit and continue',
    run: async (target) => {
      for (const index of [0, 1, 2]) {
        await create(target, 'diff-unrouted', clientPod(`page-${index}`, 'none'));
      }
      const selector = 'labelSelector=app.kubernetes.io%2Fmanaged-by%3Ddifferential';
      const first = await callTarget(
        target,
        'GET',
        `${podsOf('diff-unrouted')}?${selector}&limit=2`,
      );
      const token = String((first.body.metadata as { continue?: string }).continue ?? '');
      const next = `${podsOf('diff-unrouted')}?${selector}&limit=2&continue=${encodeURIComponent(token)}`;
      return [pageShape(first), pageShape(await callTarget(target, 'GET', next))];
    },
  },
  {
    name: 'a Pod Security refusal',
    run: async (target) => [await create(target, 'diff-restricted', clientPod('refused', 'foo'))],
  },
  {
    name: 'a quota refusal',
    run: async (target) => [await create(target, 'diff-quota', clientPod('over-quota', 'foo'))],
  },
];

async function prepareRealCluster(suite: Suite): Promise<void> {
  const namespaces = NAMESPACES.map(({ name, labels }) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels },
  }));
  const quota = {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: FULL_QUOTA.name, namespace: 'diff-quota' },
    spec: { hard: FULL_QUOTA.hard },
  };
  await createObjects(suite.admin, [...namespaces, quota]);
  for (const { name } of NAMESPACES) {
    await waitFor(`the default ServiceAccount of ${name}`, async () => {
      await suite.core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return true;
    });
  }
  await suite.waitForAdmission(
    'the quota counted',
    (d) => d.kind === 'refused',
    'foo',
    'diff-quota',
  );
  await suite.waitForAdmission(
    'Pod Security enforcing restricted',
    (d) => d.kind === 'refused',
    'foo',
    'diff-restricted',
  );
}

async function startModel(): Promise<KubeApiServer> {
  const model = await startKubeApiServer({
    namespaces: NAMESPACES.map(({ name, labels }) => ({ name, labels })),
    webhooks: await deployedGatewayWebhooks(),
  });
  model.setResourceQuota('diff-quota', FULL_QUOTA);
  return model;
}

function describeDifference(caseName: string, difference: Difference): string {
  return `${caseName} ${difference.path}: real ${JSON.stringify(difference.real)}, model ${JSON.stringify(difference.model)}`;
}

export function describeDifferential(suite: Suite): void {
  describe('the in-memory API server against kube-apiserver', () => {
    let model: KubeApiServer | undefined;
    before(async () => {
      model = await startModel();
      await prepareRealCluster(suite);
    });
    after(() => model?.close());

    for (const testCase of CASES) {
      it(`answers alike: ${testCase.name}`, async (t) => {
        if (model === undefined) throw new Error('the model is not running');
        const real: ApiTarget = {
          name: 'kube-apiserver',
          url: suite.cluster.server,
          caPem: await suite.caPem(),
          token: suite.cluster.adminToken,
        };
        const ours: ApiTarget = {
          name: 'model',
          url: model.url,
          caPem: model.caPem,
          token: model.token,
        };
        const realAnswers = await testCase.run(real);
        const modelAnswers = await testCase.run(ours);
        const found = differences(normalized(realAnswers), normalized(modelAnswers)).map(
          (difference) => describeDifference(testCase.name, difference),
        );
        for (const line of found) t.diagnostic(line);
        assert.deepEqual(found, [], 'the model answers otherwise than kube-apiserver');
      });
    }
  });
}
