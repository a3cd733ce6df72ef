// Reading the deploy/ manifests and func.yaml for the tests, and validating each document against
// the official schemas: kubernetes-models for core and RBAC kinds, @kubernetes-models/knative for
// Knative's. Unknown fields are not reported by those schemas (they allow additional
// properties): the cross-checks in test/deployment/cross-checks.test.ts read the fields that matter by name.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { IBroker, ITrigger } from '@kubernetes-models/knative/eventing.knative.dev/v1';
import { Broker, Trigger } from '@kubernetes-models/knative/eventing.knative.dev/v1';
import {
  type IRequestReply,
  RequestReply,
} from '@kubernetes-models/knative/eventing.knative.dev/v1alpha1';
import {
  EventType,
  type IEventType,
} from '@kubernetes-models/knative/eventing.knative.dev/v1beta2';
import type { IService as IKnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1';
import type { IPingSource, ISinkBinding } from '@kubernetes-models/knative/sources.knative.dev/v1';
import { PingSource, SinkBinding } from '@kubernetes-models/knative/sources.knative.dev/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IRole, IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import type { INamespace, IServiceAccount } from 'kubernetes-models/v1';
import { Namespace, ServiceAccount } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';

export const DEPLOY_DIR = join(PROJECT_ROOT, 'deploy');

/** A YAML object, read loosely: the tests check the fields they use. */
export type Doc = { readonly [key: string]: unknown };

export interface Manifest {
  /** Path relative to the project root. */
  readonly file: string;
  readonly doc: Doc;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
}

/** Every YAML document of a file; throws on a YAML error, naming the file. */
export async function readYamlDocuments(path: string): Promise<Doc[]> {
  const text = await readFile(path, 'utf8');
  const documents = parseAllDocuments(text);
  const docs: Doc[] = [];
  for (const document of documents) {
    const [error] = document.errors;
    if (error) throw new Error(`${relative(PROJECT_ROOT, path)}: ${error.message}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (!isDoc(value)) throw new Error(`${relative(PROJECT_ROOT, path)}: not a YAML mapping`);
    docs.push(value);
  }
  return docs;
}

export async function readYaml(path: string): Promise<Doc> {
  const [doc, ...rest] = await readYamlDocuments(path);
  if (!doc || rest.length > 0) throw new Error(`${path}: expected one YAML document`);
  return doc;
}

/** The Kubernetes objects of a manifest file. */
export async function readManifests(path: string): Promise<Manifest[]> {
  const file = relative(PROJECT_ROOT, path);
  return (await readYamlDocuments(path)).map((doc) => {
    const metadata = obj(doc.metadata);
    return {
      file,
      doc,
      apiVersion: str(doc.apiVersion),
      kind: str(doc.kind),
      name: str(metadata.name),
      namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    };
  });
}

/** The .yaml files directly in a folder, sorted. */
export async function yamlFilesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => entry.name)
    .sort();
}

type Validate = (doc: Doc) => void;

/** The schema check of each kind we ship, by `apiVersion/kind`. */
const VALIDATORS: ReadonlyMap<string, Validate> = new Map<string, Validate>([
  ['v1/Namespace', (doc) => new Namespace(doc as unknown as INamespace).validate()],
  ['v1/ServiceAccount', (doc) => new ServiceAccount(doc as unknown as IServiceAccount).validate()],
  ['rbac.authorization.k8s.io/v1/Role', (doc) => new Role(doc as unknown as IRole).validate()],
  [
    'networking.k8s.io/v1/NetworkPolicy',
    (doc) => new NetworkPolicy(doc as unknown as INetworkPolicy).validate(),
  ],
  [
    'rbac.authorization.k8s.io/v1/RoleBinding',
    (doc) => new RoleBinding(doc as unknown as IRoleBinding).validate(),
  ],
  ['eventing.knative.dev/v1/Broker', (doc) => new Broker(doc as unknown as IBroker).validate()],
  ['eventing.knative.dev/v1/Trigger', (doc) => new Trigger(doc as unknown as ITrigger).validate()],
  [
    'eventing.knative.dev/v1beta2/EventType',
    (doc) => new EventType(doc as unknown as IEventType).validate(),
  ],
  [
    'eventing.knative.dev/v1alpha1/RequestReply',
    (doc) => new RequestReply(doc as unknown as IRequestReply).validate(),
  ],
  [
    'serving.knative.dev/v1/Service',
    (doc) => new KnativeService(doc as unknown as IKnativeService).validate(),
  ],
  [
    'sources.knative.dev/v1/SinkBinding',
    // The generated SinkBinding schema marks `status` required (the Go field has no omitempty);
    // the API server fills it in. Validate the rest as written.
    (doc) => new SinkBinding({ status: {}, ...doc } as unknown as ISinkBinding).validate(),
  ],
  [
    'sources.knative.dev/v1/PingSource',
    // As for SinkBinding: `status` is the API server's.
    (doc) => new PingSource({ status: {}, ...doc } as unknown as IPingSource).validate(),
  ],
]);

/** Validates a manifest against its kind's schema; throws naming the file, kind and problem. */
export function validateManifest(manifest: Manifest): void {
  const key = `${manifest.apiVersion}/${manifest.kind}`;
  const validate = VALIDATORS.get(key);
  if (!validate) throw new Error(`${manifest.file}: no schema for ${key}`);
  try {
    validate(manifest.doc);
  } catch (error) {
    throw new Error(`${manifest.file}: ${manifest.kind} ${manifest.name}: ${String(error)}`);
  }
}

export function hasSchema(manifest: Manifest): boolean {
  return VALIDATORS.has(`${manifest.apiVersion}/${manifest.kind}`);
}

// Small readers for loosely typed YAML: each returns an empty value of its kind when absent.

export function isDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function obj(value: unknown): Doc {
  return isDoc(value) ? value : {};
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Follows a path of keys and array indexes. */
export function at(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const key of path) {
    if (typeof key === 'number') current = arr(current)[key];
    else current = obj(current)[key];
  }
  return current;
}
