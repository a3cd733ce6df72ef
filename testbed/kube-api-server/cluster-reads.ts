// Reads an administrator makes in the sandbox (`kubectl get ns`): the namespaces the server
// knows. Modelled on kube-apiserver's discovery (/api/v1 lists each resource with its verbs) and
// its list responses (pkg/registry/core/namespace). The core group's events, listed here for
// discovery, are served by events.ts.
import type { RequestInfo } from './routing.ts';
import { notFound } from './status.ts';

export const CLUSTER_READ_RESOURCES = [
  {
    name: 'namespaces',
    singularName: 'namespace',
    namespaced: false,
    kind: 'Namespace',
    verbs: ['get', 'list'],
    shortNames: ['ns'],
  },
  {
    name: 'events',
    singularName: 'event',
    namespaced: true,
    kind: 'Event',
    verbs: ['get', 'list'],
    shortNames: ['ev'],
  },
] as const;

/** The namespaces are as old as the server. */
const CREATED = new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function namespaceObject(name: string) {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: { name, creationTimestamp: CREATED, labels: { 'kubernetes.io/metadata.name': name } },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

/** The answer to a namespace read; undefined for any other request. */
export function answerClusterRead(
  method: string,
  info: RequestInfo,
  namespaces: readonly string[],
): { readonly code: number; readonly body: unknown } | undefined {
  const resourceVersion = '1';
  if (info.kind !== 'resource' || method !== 'GET' || info.attributes.verb === 'watch') {
    return undefined;
  }
  const { resource, name } = info.attributes;
  if (info.apiVersion !== 'v1') return undefined;
  if (resource === 'namespaces' && info.parts.length <= 2) {
    if (name === undefined) {
      return {
        code: 200,
        body: {
          kind: 'NamespaceList',
          apiVersion: 'v1',
          metadata: { resourceVersion },
          items: namespaces.map(namespaceObject),
        },
      };
    }
    return namespaces.includes(name)
      ? { code: 200, body: namespaceObject(name) }
      : { code: 404, body: notFound('namespaces', name) };
  }
  return undefined;
}
