// What the API server does to a Pod besides validating it: defaulting (pkg/apis/core/v1/defaults.go),
// the default admission plugins that touch pods (ServiceAccount, DefaultTolerationSeconds,
// Priority), name generation and the status set on create (phase Pending, QoS class).
import { randomInt } from 'node:crypto';
import type { Container, PodObject, PodSpec } from './validation.ts';
import { parseQuantity } from './validation.ts';

/** The alphabet of k8s.io/apimachinery/pkg/util/rand.String: no vowels, no confusable digits. */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_NAME_LENGTH = 63;
const RANDOM_LENGTH = 5;
const MAX_GENERATED_PREFIX = MAX_NAME_LENGTH - RANDOM_LENGTH;

export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export function randomNameSuffix(length = RANDOM_LENGTH): string {
  let suffix = '';
  for (let i = 0; i < length; i++) suffix += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)];
  return suffix;
}

/** names.SimpleNameGenerator: the prefix cut to 58 characters, then 5 random ones. */
export function generateName(prefix: string): string {
  return `${prefix.slice(0, MAX_GENERATED_PREFIX)}${randomNameSuffix()}`;
}

/** RFC 3339 at second precision, as metav1.Time marshals. */
export function rfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `Always` for `:latest` or no tag, else `IfNotPresent` (a digest counts as pinned). */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  if (image.includes('@')) return 'IfNotPresent';
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon === -1 ? '' : lastSegment.slice(colon + 1);
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** Quantities come back from the server as strings. */
function quantityString(quantity: string | number): string {
  if (typeof quantity === 'string') return quantity;
  if (Number.isInteger(quantity)) return String(quantity);
  const milli = quantity * 1000;
  return Number.isInteger(milli) ? `${milli}m` : String(quantity);
}

function stringifyQuantities(
  list: Record<string, string | number> | undefined,
): Record<string, string> | undefined {
  if (list === undefined) return undefined;
  return Object.fromEntries(Object.entries(list).map(([k, v]) => [k, quantityString(v)]));
}

function defaultProbe(probe: Container['livenessProbe']): void {
  if (probe === undefined) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (probe.httpGet !== undefined) probe.httpGet.scheme ??= 'HTTP';
}

function defaultContainer(container: Container): void {
  const image = container.image ?? '';
  container.imagePullPolicy ??= defaultPullPolicy(image);
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  for (const port of container.ports ?? []) port.protocol ??= 'TCP';
  for (const env of container.env ?? []) {
    const fieldRef = env.valueFrom?.fieldRef;
    if (fieldRef !== undefined) fieldRef.apiVersion ??= 'v1';
  }
  defaultProbe(container.livenessProbe);
  defaultProbe(container.readinessProbe);
  defaultProbe(container.startupProbe);
  const resources = container.resources ?? {};
  const limits = stringifyQuantities(resources.limits);
  const requests = stringifyQuantities(resources.requests);
  if (limits !== undefined) {
    resources.limits = limits;
    // Requests default to the limits when not given.
    resources.requests = { ...limits, ...requests };
  } else if (requests !== undefined) {
    resources.requests = requests;
  }
  container.resources = resources;
}

/** SetDefaults_Pod / SetDefaults_PodSpec / SetDefaults_Container and friends, in place. */
export function applyPodDefaults(pod: PodObject): void {
  const spec = pod.spec;
  if (spec === undefined) return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
    defaultContainer(container);
  }
  for (const volume of spec.volumes ?? []) {
    if (volume.secret !== undefined) volume.secret.defaultMode ??= 420;
    if (volume.configMap !== undefined) volume.configMap.defaultMode ??= 420;
    if (volume.projected !== undefined) volume.projected.defaultMode ??= 420;
    if (volume.downwardAPI !== undefined) volume.downwardAPI.defaultMode ??= 420;
  }
}

const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';

function toleratesNoExecute(spec: PodSpec, key: string): boolean {
  return (spec.tolerations ?? []).some(
    (t) =>
      (t.key === key || (t.key === undefined && t.operator === 'Exists')) &&
      (t.effect === undefined || t.effect === 'NoExecute'),
  );
}

/**
 * The mutating admission plugins enabled by default that change pods: ServiceAccount (account
 * name and the projected token volume), DefaultTolerationSeconds, Priority.
 */
export function admitPod(pod: PodObject): void {
  const spec = pod.spec;
  if (spec === undefined) return;
  spec.serviceAccountName ||= spec.serviceAccount || 'default';
  spec.serviceAccount = spec.serviceAccountName;
  if (spec.automountServiceAccountToken !== false) mountServiceAccountToken(spec);
  const tolerations = spec.tolerations ?? [];
  for (const key of [NOT_READY, UNREACHABLE]) {
    if (!toleratesNoExecute(spec, key)) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
  if (!spec.priorityClassName) spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
}

function mountServiceAccountToken(spec: PodSpec): void {
  const containers = [...spec.containers, ...(spec.initContainers ?? [])];
  const needing = containers.filter(
    (c) => !(c.volumeMounts ?? []).some((m) => m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH),
  );
  if (needing.length === 0) return;
  const name = `kube-api-access-${randomNameSuffix()}`;
  spec.volumes = [
    ...(spec.volumes ?? []),
    {
      name,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          {
            configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] },
          },
          {
            downwardAPI: {
              items: [
                {
                  path: 'namespace',
                  fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' },
                },
              ],
            },
          },
        ],
      },
    },
  ];
  for (const container of needing) {
    container.volumeMounts = [
      ...(container.volumeMounts ?? []),
      { name, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH },
    ];
  }
}

export type QosClass = 'BestEffort' | 'Burstable' | 'Guaranteed';

/** GetPodQOS: from the cpu and memory requests and limits of all containers. */
export function podQosClass(spec: PodSpec): QosClass {
  const computeResources = ['cpu', 'memory'];
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
    const limitsFound = new Set<string>();
    for (const [name, quantity] of Object.entries(container.resources?.requests ?? {})) {
      const value = parseQuantity(quantity) ?? 0;
      if (computeResources.includes(name) && value !== 0) {
        requests.set(name, (requests.get(name) ?? 0) + value);
      }
    }
    for (const [name, quantity] of Object.entries(container.resources?.limits ?? {})) {
      const value = parseQuantity(quantity) ?? 0;
      if (computeResources.includes(name) && value !== 0) {
        limitsFound.add(name);
        limits.set(name, (limits.get(name) ?? 0) + value);
      }
    }
    if (!computeResources.every((name) => limitsFound.has(name))) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, request] of requests) {
      if (limits.get(name) !== request) guaranteed = false;
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
