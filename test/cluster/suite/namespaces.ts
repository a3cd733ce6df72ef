// Client namespaces besides client-system, each with deploy/rbac.yaml's Role and RoleBinding for
// the function's ServiceAccount (or a Role that lacks some verbs).
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { createObjects, readManifests } from '../../../testbed/cluster/manifests.ts';
import { PROJECT_ROOT } from '../../../testbed/function-process.ts';

interface RoleOptions {
  /** Verbs on pods the Role leaves out. */
  readonly withoutPodVerbs?: readonly string[];
}

const ROUTED_PRIVILEGED = {
  'routed-gateway': 'true',
  'pod-security.kubernetes.io/enforce': 'privileged',
};

function withoutVerbs(role: k8s.V1Role, verbs: readonly string[]): k8s.V1Role {
  const rules = (role.rules ?? []).map((rule) =>
    rule.resources?.includes('pods')
      ? { ...rule, verbs: rule.verbs.filter((verb) => !verbs.includes(verb)) }
      : rule,
  );
  return { ...role, rules };
}

/** deploy/rbac.yaml's Role and RoleBinding, moved to `namespace`. */
export async function functionRbac(
  namespace: string,
  options: RoleOptions = {},
): Promise<k8s.KubernetesObject[]> {
  const objects = await readManifests(join(PROJECT_ROOT, 'deploy'), ['rbac.yaml']);
  return objects
    .filter((object) => object.kind === 'Role' || object.kind === 'RoleBinding')
    .map((object) => {
      const moved = { ...object, metadata: { ...object.metadata, namespace } };
      return object.kind === 'Role'
        ? withoutVerbs(moved as k8s.V1Role, options.withoutPodVerbs ?? [])
        : moved;
    });
}

/** A namespace the webhooks route and Pod Security lets them, with the function's Role. */
export async function createClientNamespace(
  admin: k8s.KubeConfig,
  name: string,
  options: RoleOptions = {},
): Promise<void> {
  const namespace: k8s.V1Namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: ROUTED_PRIVILEGED },
  };
  await createObjects(admin, [namespace, ...(await functionRbac(name, options))]);
}

/** Deletes the namespace without waiting for its finalization. */
export async function deleteNamespace(admin: k8s.KubeConfig, name: string): Promise<void> {
  await admin.makeApiClient(k8s.CoreV1Api).deleteNamespace({ name });
}
