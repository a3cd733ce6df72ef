// Knative Eventing's CRDs and deploy/'s EventTypes and RequestReply on the real kube-apiserver:
// applied server-side (not a dry run), so the API server's own validation of the CRDs' schemas
// decides. Self-contained and idempotent: it applies the CRDs it needs, whatever the control
// plane already has.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { sharedReference } from '../shared-reference.ts';
import { waitUntil } from './processes.ts';

/** Knative Eventing's CRDs, unchanged, from shared/reference (their README names the commit). */
const crdDir = () => sharedReference('knative', 'eventing-crds');
const CRDS = ['broker.yaml', 'eventtype.yaml', 'requestreply.yaml'];
const FIELD_MANAGER = 'podgateway-cluster-suite';

export async function readObjects(file: string): Promise<k8s.KubernetesObject[]> {
  return parseAllDocuments(await readFile(file, 'utf8'))
    .map((doc) => doc.toJS() as k8s.KubernetesObject | null)
    .filter((object): object is k8s.KubernetesObject => object !== null);
}

/** Server-side apply, forced: creates or updates, as `kubectl apply --server-side` does. */
export async function applyServerSide(
  config: k8s.KubeConfig,
  objects: readonly k8s.KubernetesObject[],
): Promise<k8s.KubernetesObject[]> {
  const api = k8s.KubernetesObjectApi.makeApiClient(config);
  const applied: k8s.KubernetesObject[] = [];
  for (const object of objects) {
    applied.push(
      await api.patch(
        object,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        k8s.PatchStrategy.ServerSideApply,
      ),
    );
  }
  return applied;
}

/** Applies the Eventing CRDs and waits until each is Established (served). */
export async function applyEventingCrds(config: k8s.KubeConfig): Promise<void> {
  const crds = (await Promise.all(CRDS.map((file) => readObjects(join(crdDir(), file))))).flat();
  await applyServerSide(config, crds);
  const extensions = config.makeApiClient(k8s.ApiextensionsV1Api);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    await waitUntil(`the CRD ${name} established`, async () => {
      const read = await extensions.readCustomResourceDefinition({ name });
      return (read.status?.conditions ?? []).some(
        (condition) => condition.type === 'Established' && condition.status === 'True',
      );
    });
  }
}
