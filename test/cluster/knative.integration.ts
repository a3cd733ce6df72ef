// deploy/ against Knative Serving's own webhook and controller (npm run cluster -- --knative):
// what `kubectl apply -k deploy/` makes of the Service, and what Serving refuses.
//   node --test test/cluster/knative.integration.ts
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { type Cluster, startCluster } from '../../testbed/cluster/cluster.ts';
import { loadKubeConfig, readManifests } from '../../testbed/cluster/manifests.ts';
import { waitUntil } from '../../testbed/cluster/processes.ts';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';
import { describeQueueProxy } from './queue-proxy-cases.ts';

const NAMESPACE = 'podgateway-provisioner';
const SERVICE = 'client-provisioner';
const SERVING = { group: 'serving.knative.dev', version: 'v1', namespace: NAMESPACE };

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** kubectl from PATH, as docs/deploy.md runs it, in the repository's root. */
function kubectl(kubeconfig: string, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'kubectl',
      [`--kubeconfig=${kubeconfig}`, ...args],
      { cwd: PROJECT_ROOT, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error('kubectl not found on PATH: these cases run it as docs/deploy.md does'));
        } else if (error !== null && code === -1) reject(error);
        else resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A model instance of @kubernetes/client-node as the plain object its JSON is. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value ?? null));
}

type Conditioned = { status?: { conditions?: { type: string; status: string }[] } };

function isReady(object: Conditioned): boolean {
  return object.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** deploy/service.yaml's Knative Service, as a plain object to change. */
async function deployService(): Promise<Record<string, unknown> & k8s.KubernetesObject> {
  const objects = await readManifests(join(PROJECT_ROOT, 'deploy'), ['service.yaml']);
  const service = objects.find((object) => object.kind === 'Service');
  assert.ok(service, 'deploy/service.yaml has a Service');
  return structuredClone(service) as Record<string, unknown> & k8s.KubernetesObject;
}

type Container = k8s.V1Container;
type ServiceSpec = { template: { spec: k8s.V1PodSpec } };

/** A copy of deploy/'s Service named `name`, with `change` applied to its pod spec. */
async function changedService(name: string, change: (spec: k8s.V1PodSpec) => void) {
  const service = await deployService();
  service.metadata = { ...service.metadata, name };
  change((service.spec as ServiceSpec).template.spec);
  return service;
}

describe('Knative Serving in the test cluster', { timeout: 30 * 60_000 }, () => {
  let cluster: Cluster;
  let admin: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  const run = (args: readonly string[], input?: string) =>
    kubectl(cluster.adminKubeconfig, args, input);
  const readServing = async (plural: string, name: string) =>
    (await custom.getNamespacedCustomObject({ ...SERVING, plural, name })) as Conditioned &
      k8s.KubernetesObject;

  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'podgateway-knative-'));
    cluster = await startCluster({ dir, knative: true });
    admin = loadKubeConfig(cluster.adminKubeconfig);
    custom = admin.makeApiClient(k8s.CustomObjectsApi);
  });
  after(async () => {
    await cluster?.stop();
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('kubectl apply -k deploy/ (docs/deploy.md) is accepted, every object of it', async () => {
    const applied = await run(['apply', '-k', 'deploy/']);
    assert.equal(applied.code, 0, applied.stderr);
    const expected = (
      await readManifests(join(PROJECT_ROOT, 'deploy'), ['service.yaml', 'broker.yaml'])
    ).map((object) => object.metadata?.name);
    for (const name of expected) assert.match(applied.stdout, new RegExp(`/${name} created`));
  });

  it("makes the Service a Configuration, a Revision and a Deployment: deploy/'s user-container beside queue-proxy", async () => {
    const wanted = ((await deployService()).spec as ServiceSpec).template.spec.containers[0];
    await waitUntil(
      'the Configuration',
      async () => (await readServing('configurations', SERVICE)) !== undefined,
    );
    const revisionName = `${SERVICE}-00001`;
    await waitUntil(
      'the Revision',
      async () => (await readServing('revisions', revisionName)) !== undefined,
    );
    const apps = admin.makeApiClient(k8s.AppsV1Api);
    const deploymentName = `${revisionName}-deployment`;
    await waitUntil(
      'the Deployment',
      async () =>
        (await apps.readNamespacedDeployment({ name: deploymentName, namespace: NAMESPACE })) !==
        undefined,
      120_000,
    );
    const deployment = await apps.readNamespacedDeployment({
      name: deploymentName,
      namespace: NAMESPACE,
    });
    const pod = deployment.spec?.template.spec;
    assert.deepEqual(
      pod?.containers.map((container) => container.name),
      ['user-container', 'queue-proxy'],
    );
    const user = pod?.containers[0] as Container;
    assert.equal(user.image, 'localhost:5001/client-provisioner:0.1.0');
    // Serving adds its own variables (PORT, K_SERVICE, ...) after deploy/'s, in deploy/'s order.
    const env = (user.env ?? []).map(({ name, value }) => ({ name, value: value ?? '' }));
    const deployEnv = (wanted?.env ?? []).map(({ name, value }) => ({ name, value: value ?? '' }));
    assert.deepEqual(env.slice(0, deployEnv.length), deployEnv);
    assert.deepEqual(
      env
        .slice(deployEnv.length)
        .map(({ name }) => name)
        .sort(),
      ['K_CONFIGURATION', 'K_REVISION', 'K_SERVICE', 'PORT'],
    );
    assert.deepEqual(plain(user.resources), wanted?.resources);
    assert.deepEqual(plain(user.securityContext), wanted?.securityContext);
    // Serving's probes go through queue-proxy: the readiness path is its (SERVING_READINESS_PROBE),
    // the liveness probe keeps deploy/'s path on the user port.
    assert.equal(user.livenessProbe?.httpGet?.path, wanted?.livenessProbe?.httpGet?.path);
    const queue = pod?.containers[1] as Container;
    const queueEnv = new Map((queue.env ?? []).map(({ name, value }) => [name, value]));
    assert.equal(queueEnv.get('CONTAINER_CONCURRENCY'), '16');
    assert.equal(queueEnv.get('USER_PORT'), '8080');
    const probe = JSON.parse(queueEnv.get('SERVING_READINESS_PROBE') ?? '{}') as {
      httpGet?: { path?: string; port?: number };
    };
    assert.equal(probe.httpGet?.path, wanted?.readinessProbe?.httpGet?.path);
    assert.equal(probe.httpGet?.port, 8080);
    assert.equal(pod?.serviceAccountName, 'client-provisioner');
  });

  it('with the PodAutoscaler and KIngress marked ready, the Revision, Route and Service become Ready', async () => {
    for (const [plural, name] of [
      ['revisions', `${SERVICE}-00001`],
      ['routes', SERVICE],
      ['services', SERVICE],
    ] as const) {
      await waitUntil(
        `${plural}/${name} Ready`,
        async () => isReady(await readServing(plural, name)),
        120_000,
      );
    }
    const service = (await readServing('services', SERVICE)) as { status?: { url?: string } };
    // deploy/'s cluster-local label: an address inside the cluster only.
    assert.equal(service.status?.url, `http://${SERVICE}.${NAMESPACE}.svc.cluster.local`);
  });

  // Serving's CRD schema has no pod-level securityContext fields (kube-apiserver's strict field
  // validation refuses them, as kubectl asks for it); the rest is Serving's webhook's.
  const webhookDenied =
    'admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: ';
  const refused: readonly [string, (spec: k8s.V1PodSpec) => void, string][] = [
    [
      'a pod-level securityContext',
      (spec) => {
        spec.securityContext = { runAsUser: 1000 };
      },
      'Service in version "v1" cannot be handled as a Service: strict decoding error: unknown field "spec.template.spec.securityContext.runAsUser"',
    ],
    [
      'containerPort 8012',
      (spec) => {
        (spec.containers[0] as Container).ports = [{ containerPort: 8012 }];
      },
      `${webhookDenied}invalid value: 8012 is a reserved port: spec.template.spec.containers[0].ports.containerPort`,
    ],
    [
      'an env PORT',
      (spec) => {
        (spec.containers[0] as Container).env?.push({ name: 'PORT', value: '9000' });
      },
      `${webhookDenied}"PORT" is a reserved environment variable: spec.template.spec.containers[0].env[`,
    ],
    [
      'a capability added',
      (spec) => {
        const container = spec.containers[0] as Container;
        container.securityContext = {
          ...container.securityContext,
          capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
        };
      },
      `${webhookDenied}must not set the field(s): spec.template.spec.containers[0].securityContext.capabilities.add`,
    ],
  ];
  for (const [what, change, message] of refused) {
    it(`refuses a Service with ${what}, in Serving's own words`, async () => {
      const name = `refused-${what.replace(/\W+/g, '-').toLowerCase()}`;
      const service = await changedService(name, change);
      const applied = await run(['apply', '-f', '-'], JSON.stringify(service));
      assert.notEqual(applied.code, 0);
      assert.ok(applied.stderr.includes(message), applied.stderr);
      await assert.rejects(readServing('services', name));
    });
  }

  it("kubectl apply -k examples/argo-events/ (docs/deploy.md) is accepted, with Argo Events' CRDs", async () => {
    // Argo Events' own install makes its namespace (and the EventBus the example needs).
    await admin
      .makeApiClient(k8s.CoreV1Api)
      .createNamespace({ body: { metadata: { name: 'argo-events' } } });
    const applied = await run(['apply', '-k', 'examples/argo-events/']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /eventsource\.argoproj\.io\/\S+ created/);
    assert.match(applied.stdout, /sensor\.argoproj\.io\/\S+ created/);
    assert.match(applied.stdout, /sinkbinding\.sources\.knative\.dev\/\S+ created/);
  });

  it('deploy/monitoring: its ConfigMap is accepted; PodMonitor and PrometheusRule are left out (no Prometheus Operator CRDs here)', async () => {
    const built = await run(['kustomize', 'deploy/monitoring']);
    assert.equal(built.code, 0, built.stderr);
    const objects = parseAllDocuments(built.stdout).map(
      (document) => document.toJS() as k8s.KubernetesObject,
    );
    const withCrd = objects.filter(
      (object) => !object.apiVersion?.startsWith('monitoring.coreos.com/'),
    );
    assert.deepEqual(
      objects
        .filter((object) => !withCrd.includes(object))
        .map((object) => object.kind)
        .sort(),
      ['PodMonitor', 'PrometheusRule'],
    );
    const applied = await run(
      ['apply', '-f', '-'],
      withCrd.map((object) => JSON.stringify(object)).join('\n---\n'),
    );
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /configmap\/client-provisioner-dashboard created/);
  });

  describeQueueProxy(() => cluster, `${SERVICE}-00001-deployment`, NAMESPACE);
});
