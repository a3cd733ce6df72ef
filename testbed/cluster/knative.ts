// Knative Serving in the test control plane (`--knative`): Serving's own webhook and controller,
// built from knative.dev/serving, run as processes on this machine against kube-apiserver, with
// Serving's CRDs and ConfigMaps from its module; and Eventing's and Argo Events' CRDs (schemas
// only) from shared/reference. Nothing reconciles the PodAutoscaler or the KIngress here: see
// knative-status.ts.
import { readdir } from 'node:fs/promises';
import * as k8s from '@kubernetes/client-node';
import { sharedReference } from '../shared-reference.ts';
import * as manifests from './manifests.ts';
import { loopbackPort, type ManagedProcess } from './processes.ts';

export const KNATIVE_NAMESPACE = 'knative-serving';
const WEBHOOK_SERVICE = 'webhook';

/**
 * Registries whose images the controller does not resolve to a digest (it would ask the
 * registry over the network): Knative's defaults, and those deploy/ and examples/ name (the
 * function's, the event_display of the dead letter sink and the replies, cloudevents-player's).
 */
const REGISTRIES_SKIPPING_TAG_RESOLVING = [
  'kind.local',
  'ko.local',
  'dev.local',
  'localhost:5001',
  'gcr.io',
  'quay.io',
].join(',');

type StartProcess = (
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
) => ManagedProcess;
type Ready = (what: string, check: () => Promise<boolean>, timeoutMs?: number) => Promise<void>;

export interface KnativeContext {
  readonly admin: k8s.KubeConfig;
  readonly adminKubeconfig: string;
  /** Serving's config files, in order (Binaries.knativeConfig). */
  readonly configFiles: readonly string[];
  readonly start: StartProcess;
  readonly ready: Ready;
}

type Manifest = k8s.KubernetesObject & Record<string, unknown>;

function isWebhookConfiguration(object: Manifest): boolean {
  return (
    object.kind === 'MutatingWebhookConfiguration' ||
    object.kind === 'ValidatingWebhookConfiguration'
  );
}

/** The webhook configurations with the port kube-apiserver must call (the service has none). */
export function withWebhookPort(object: Manifest, port: number): Manifest {
  if (!isWebhookConfiguration(object)) return object;
  const webhooks = (object.webhooks as { clientConfig: { service: object } }[]).map((hook) => ({
    ...hook,
    clientConfig: { ...hook.clientConfig, service: { ...hook.clientConfig.service, port } },
  }));
  return { ...object, webhooks };
}

/** config-deployment with the registries the controller must not resolve tags of. */
export function withRegistriesSkipped(object: Manifest): Manifest {
  if (object.kind !== 'ConfigMap' || object.metadata?.name !== 'config-deployment') return object;
  const data = { ...(object.data as Record<string, string>) };
  data['registries-skipping-tag-resolving'] = REGISTRIES_SKIPPING_TAG_RESOLVING;
  return { ...object, data };
}

/**
 * kube-apiserver refuses loopback Endpoints, but resolves an ExternalName Service to
 * `externalName:port` (and sets the TLS server name to the Service's DNS name, which the
 * webhook's own certificate carries): that reaches a webhook on this machine.
 */
export function webhookService(port: number): k8s.V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: WEBHOOK_SERVICE, namespace: KNATIVE_NAMESPACE },
    spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port }] },
  };
}

/**
 * The objects of `files`, typed as @kubernetes/client-node's models, so that its serializer keeps
 * the fields it renames (a plain object loses `x-kubernetes-preserve-unknown-fields`, and a CRD
 * created from it refuses what the real one accepts).
 */
async function readTyped(dir: string, files: readonly string[]): Promise<Manifest[]> {
  return (await manifests.readManifests(dir, files)).map((object) =>
    k8s.loadYaml<Manifest>(JSON.stringify(object)),
  );
}

async function yamlFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.yaml')).sort();
}

/** Eventing's CRDs (knative/eventing) and Argo Events', from shared/reference. */
async function referenceCrds(): Promise<Manifest[]> {
  const objects: Manifest[] = [];
  for (const dir of [
    sharedReference('knative', 'eventing-crds'),
    sharedReference('argo-events-crds'),
  ]) {
    objects.push(...(await readTyped(dir, await yamlFilesIn(dir))));
  }
  return objects;
}

async function crdsEstablished(admin: k8s.KubeConfig, names: readonly string[]) {
  const api = admin.makeApiClient(k8s.ApiextensionsV1Api);
  for (const name of names) {
    const crd = await api.readCustomResourceDefinition({ name });
    const established = crd.status?.conditions?.some(
      (condition) => condition.type === 'Established' && condition.status === 'True',
    );
    if (established !== true) return false;
  }
  return true;
}

/** True once the webhook has written its certificate into all three configurations. */
async function caBundlesPatched(admin: k8s.KubeConfig, names: readonly string[]) {
  const api = admin.makeApiClient(k8s.AdmissionregistrationV1Api);
  for (const name of names) {
    const configuration = name.startsWith('webhook.')
      ? await api.readMutatingWebhookConfiguration({ name })
      : await api.readValidatingWebhookConfiguration({ name });
    if (!configuration.webhooks?.every((hook) => (hook.clientConfig.caBundle ?? '') !== '')) {
      return false;
    }
  }
  return true;
}

/** What every Knative process is told: its namespace, and its servers on free ports. */
async function knativeEnv(): Promise<Record<string, string>> {
  return {
    SYSTEM_NAMESPACE: KNATIVE_NAMESPACE,
    // Metrics bind where told; the profiling server listens on all interfaces (":PORT").
    METRICS_PROMETHEUS_HOST: '127.0.0.1',
    METRICS_PROMETHEUS_PORT: String(await loopbackPort()),
    PROFILING_PORT: String(await loopbackPort()),
  };
}

/** Applies Serving's objects, starts its webhook then its controller; resolves once both run. */
export async function startKnative(context: KnativeContext): Promise<void> {
  const { admin, ready } = context;
  const webhookPort = await loopbackPort();
  const serving = ((await manifests.readManifests('/', context.configFiles)) as Manifest[]).map(
    (object) => withRegistriesSkipped(withWebhookPort(object, webhookPort)),
  );
  const crds = [
    ...serving.filter((object) => object.kind === 'CustomResourceDefinition'),
    ...(await referenceCrds()),
  ];
  const namespaced = serving.filter(
    (object) => object.kind !== 'CustomResourceDefinition' && !isWebhookConfiguration(object),
  );
  const registrations = serving.filter(isWebhookConfiguration);

  // Namespace and ConfigMaps first: the webhook validates ConfigMaps once it is registered.
  await manifests.createObjects(admin, [...crds, ...namespaced, webhookService(webhookPort)]);
  const crdNames = crds.map((crd) => crd.metadata?.name ?? '');
  await ready(`${crdNames.length} Knative and Argo Events CRDs established`, () =>
    crdsEstablished(admin, crdNames),
  );
  await manifests.createObjects(admin, registrations);

  const kubeconfig = [`--kubeconfig=${context.adminKubeconfig}`];
  context.start('knative-webhook', kubeconfig, {
    ...(await knativeEnv()),
    // The webhook panics without its name; it listens on all interfaces (":PORT").
    WEBHOOK_NAME: WEBHOOK_SERVICE,
    WEBHOOK_PORT: String(webhookPort),
  });
  const names = registrations.map((object) => object.metadata?.name ?? '');
  await ready(
    "Knative's webhook certificate in its three configurations",
    () => caBundlesPatched(admin, names),
    120_000,
  );
  await ready("Knative's webhook admitting a Service", () => webhookAdmits(admin), 120_000);
  context.start('knative-controller', kubeconfig, await knativeEnv());
}

/** A server-side dry run of a Service create: it goes through both of Serving's webhooks. */
async function webhookAdmits(admin: k8s.KubeConfig): Promise<boolean> {
  const api = k8s.KubernetesObjectApi.makeApiClient(admin);
  await api.create(
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'probe', namespace: KNATIVE_NAMESPACE },
      spec: { template: { spec: { containers: [{ image: 'dev.local/probe' }] } } },
    } as k8s.KubernetesObject,
    undefined,
    'All',
  );
  return true;
}

/** The names of the processes startKnative starts, for the cluster's stop order. */
export const KNATIVE_PROCESSES = ['knative-controller', 'knative-webhook'] as const;
