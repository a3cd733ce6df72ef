// What the launcher creates through the API once kube-apiserver is up: the project's own
// manifests (deploy/namespace.yaml and deploy/rbac.yaml, nothing else of deploy/), the fake
// nodes kwok plays, the pod-gateway webhooks' objects; and the checks that the cluster is ready.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';

export const FUNCTION_SERVICE_ACCOUNT = {
  namespace: 'podgateway-provisioner',
  name: 'client-provisioner',
};
export const CLIENT_NAMESPACE = 'client-system';
const DEPLOY_MANIFESTS = ['namespace.yaml', 'rbac.yaml'];

export function loadKubeConfig(file: string): k8s.KubeConfig {
  const config = new k8s.KubeConfig();
  config.loadFromFile(file);
  return config;
}

/** Every object of `files` under `dir`, in order (namespaces first, then what lives in them). */
export async function readManifests(dir: string, files: readonly string[] = DEPLOY_MANIFESTS) {
  const objects: k8s.KubernetesObject[] = [];
  for (const file of files) {
    const documents = parseAllDocuments(await readFile(join(dir, file), 'utf8'));
    for (const document of documents) {
      const object = document.toJS() as k8s.KubernetesObject | null;
      if (object) objects.push(object);
    }
  }
  return objects;
}

export async function createObjects(
  config: k8s.KubeConfig,
  objects: readonly object[],
): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(config);
  for (const object of objects) await api.create(object as k8s.KubernetesObject);
}

/**
 * What each fake node offers. A kubelet reports ephemeral-storage from its disk; kwok's default
 * (cpu, memory, pods) has none, and a pod limiting it (the function's client container does)
 * would stay Pending: `Insufficient ephemeral-storage`.
 */
const NODE_RESOURCES = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '100Gi' };

/**
 * A Node for kwok to play (its annotation marks it fake); no taint, so any pod may land. Its
 * status is kept on create (a kubelet registers its node so) and kwok's node stage keeps it.
 */
export function fakeNode(name: string): k8s.V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        type: 'kwok',
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
    },
    spec: {},
    status: { capacity: NODE_RESOURCES, allocatable: NODE_RESOURCES },
  };
}

export function nodeNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `kwok-node-${index}`);
}

/** Ready, and without the not-ready taint that only the node lifecycle controller removes. */
export function nodeSchedulable(node: k8s.V1Node): boolean {
  const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  const tainted = node.spec?.taints?.some((taint) => taint.key.startsWith('node.kubernetes.io/'));
  return ready === true && tainted !== true;
}

export async function nodesSchedulable(config: k8s.KubeConfig, count: number): Promise<boolean> {
  const nodes = await config.makeApiClient(k8s.CoreV1Api).listNode();
  return nodes.items.filter(nodeSchedulable).length >= count;
}

export async function serviceAccountExists(
  config: k8s.KubeConfig,
  namespace: string,
  name: string,
) {
  await config.makeApiClient(k8s.CoreV1Api).readNamespacedServiceAccount({ name, namespace });
  return true;
}

/** A bound token of the function's ServiceAccount, from the TokenRequest API. */
export async function functionToken(
  config: k8s.KubeConfig,
  expirationSeconds = 86_400,
): Promise<string> {
  const api = config.makeApiClient(k8s.CoreV1Api);
  const answer = await api.createNamespacedServiceAccountToken({
    ...FUNCTION_SERVICE_ACCOUNT,
    body: { spec: { expirationSeconds } },
  });
  const token = answer.status?.token;
  if (!token) throw new Error('the TokenRequest answer has no token');
  return token;
}
