// A pod CREATE, in kube-apiserver's order (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/
// create.go, then registry/generic/registry/store.go Create): decode, mutating admission,
// name generation and validation (rest.BeforeCreate), validating admission, and only then the
// storage write that answers 409 AlreadyExists, so an existing pod's name meets admission first
// (kubernetes/kubernetes#106842).
import { randomUUID } from 'node:crypto';
import type { Cluster } from './admission.ts';
import { copy, isObject } from './http.ts';
import { applyPodDefaults, generateName, podQosClass, rfc3339 } from './pods.ts';
import {
  alreadyExists,
  badRequest,
  invalid,
  notFound,
  type Status,
  unsupportedMediaType,
} from './status.ts';
import type { Outcome, PodStore, StoredPod } from './store.ts';
import { podSchemaErrors, validatePodCreate } from './validation.ts';

function goJsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

export function nameIn(body: Record<string, unknown>): string {
  const metadata = body.metadata;
  return isObject(metadata) && typeof metadata.name === 'string' ? metadata.name : '';
}

export function bodyName(body: Buffer): string {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return isObject(parsed) ? nameIn(parsed) : '';
  } catch {
    return '';
  }
}

/** The request body as an object, or the 415/400 the decoder answers. */
export function decodeBody(contentType: string, body: Buffer): Outcome<Record<string, unknown>> {
  const type = contentType.split(';')[0]?.trim() ?? '';
  if (type !== 'application/json') {
    return { ok: false, status: unsupportedMediaType(type) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      status: badRequest(`couldn't get version/kind; json parse error: ${reason}`),
    };
  }
  if (!isObject(parsed)) {
    return {
      ok: false,
      status: badRequest(
        `couldn't get version/kind; json parse error: json: cannot unmarshal ${goJsonType(parsed)} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
      ),
    };
  }
  return { ok: true, value: parsed };
}

/** Everything create does short of storing: the returned pod is complete but for resourceVersion. */
export function prepareCreate(
  body: Record<string, unknown>,
  namespace: string,
  cluster: Cluster,
  store: PodStore,
): Outcome<StoredPod> {
  const fail = (status: Status): Outcome<StoredPod> => ({ ok: false, status });
  const kind = body.kind ?? 'Pod';
  const apiVersion = body.apiVersion ?? 'v1';
  if (typeof kind !== 'string' || typeof apiVersion !== 'string') {
    const field = typeof kind !== 'string' ? 'kind' : 'apiVersion';
    return fail(
      badRequest(
        `couldn't get version/kind; json parse error: json: cannot unmarshal ${goJsonType(body[field])} into Go struct field .${field} of type string`,
      ),
    );
  }
  if (apiVersion !== 'v1') {
    return fail(
      badRequest(
        `the API version in the data (${apiVersion}) does not match the expected API version (v1)`,
      ),
    );
  }
  if (kind !== 'Pod') {
    return fail(
      badRequest(
        `${kind} in version "v1" cannot be handled as a Pod: converting (v1.${kind}) to (core.Pod): unknown conversion`,
      ),
    );
  }
  const submitted = { ...body, apiVersion, kind };
  const requestedName = nameIn(submitted);
  const schemaErrors = podSchemaErrors(submitted);
  if (schemaErrors.length > 0) return fail(invalid('Pod', requestedName, schemaErrors));

  const pod = copy(submitted) as unknown as StoredPod;
  const metadata = pod.metadata ?? {};
  pod.metadata = metadata;
  if (metadata.namespace && metadata.namespace !== namespace) {
    return fail(
      badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      ),
    );
  }
  if (metadata.resourceVersion) {
    return fail(badRequest('resourceVersion should not be set on objects to be created'));
  }
  if (!cluster.has(namespace)) return fail(notFound('namespaces', namespace));

  applyPodDefaults(pod);
  metadata.namespace = namespace;
  const mutated = cluster.mutate(pod, namespace);
  if (mutated !== undefined) return fail(mutated);

  if (!metadata.name && metadata.generateName) {
    let name = generateName(metadata.generateName);
    for (let i = 0; i < 10 && store.has(namespace, name); i++) {
      name = generateName(metadata.generateName);
    }
    metadata.name = name;
  }
  const errors = validatePodCreate(pod);
  if (errors.length > 0) return fail(invalid('Pod', metadata.name ?? '', errors));
  const name = metadata.name ?? '';
  // Read only when a ResourceQuota needs the usage: a scan of the store on every create would
  // make the server slower the more pods it holds.
  const others = () => store.sorted().filter((p) => p.metadata?.namespace === namespace);
  const refused = cluster.validate(pod, namespace, others);
  if (refused !== undefined) return fail(refused);

  const existing = store.get(namespace, name);
  if (existing !== undefined) {
    const status = alreadyExists('pods', name);
    // store.go Create: an AlreadyExists for an object that is being deleted says so.
    if (existing.metadata?.deletionTimestamp) {
      status.message = `object is being deleted: ${status.message}`;
    }
    return fail(status);
  }

  metadata.uid = randomUUID();
  metadata.creationTimestamp = rfc3339();
  delete metadata.resourceVersion;
  delete metadata.deletionTimestamp;
  delete metadata.deletionGracePeriodSeconds;
  delete metadata.selfLink;
  // pkg/registry/core/pod/strategy.go PrepareForCreate: a pod starts at generation 1.
  metadata.generation = 1;
  pod.status = { phase: 'Pending', qosClass: pod.spec ? podQosClass(pod.spec) : 'BestEffort' };
  return { ok: true, value: pod };
}
