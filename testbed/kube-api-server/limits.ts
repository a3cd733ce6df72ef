// LimitRange and ResourceQuota admission for pods, as kube-apiserver's plugins do them:
// plugin/pkg/admission/limitranger/admission.go (defaults in Admit, min/max in Validate) and
// staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/controller.go with the pod
// evaluator of pkg/quota/v1/evaluator/core/pods.go. Only cpu and memory, per Container.
import type { Container, PodObject } from './validation.ts';
import { parseQuantity } from './validation.ts';

type Resources = Partial<Record<'cpu' | 'memory', string>>;

/** A LimitRange's one `type: Container` item. */
export interface ContainerLimitRange {
  readonly name: string;
  readonly default?: Resources;
  readonly defaultRequest?: Resources;
  readonly max?: Resources;
  readonly min?: Resources;
}

/** A ResourceQuota's spec.hard: `pods`, `requests.cpu`, `limits.memory`, `cpu` (= requests.cpu), … */
export interface ResourceQuota {
  readonly name: string;
  readonly hard: Readonly<Record<string, string>>;
}

const COMPUTE = ['cpu', 'memory'] as const;

function allContainers(pod: PodObject): Container[] {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
}

/** LimitRanger's Admit: default limits and requests for containers that give none. */
export function applyLimitRangeDefaults(pod: PodObject, ranges: readonly ContainerLimitRange[]) {
  for (const range of ranges) {
    for (const container of allContainers(pod)) {
      const resources = container.resources ?? {};
      const limits = { ...resources.limits };
      const requests = { ...resources.requests };
      for (const name of COMPUTE) {
        const defaultLimit = range.default?.[name];
        if (limits[name] === undefined && defaultLimit !== undefined) limits[name] = defaultLimit;
        const defaultRequest = range.defaultRequest?.[name] ?? range.default?.[name];
        if (requests[name] === undefined && defaultRequest !== undefined) {
          requests[name] = defaultRequest;
        }
      }
      if (Object.keys(limits).length > 0) resources.limits = limits;
      if (Object.keys(requests).length > 0) resources.requests = requests;
      container.resources = resources;
    }
  }
}

/** LimitRanger's Validate: the min/max errors, worded as limitranger's minConstraint/maxConstraint. */
export function limitRangeViolations(
  pod: PodObject,
  ranges: readonly ContainerLimitRange[],
): string[] {
  const errors: string[] = [];
  for (const range of ranges) {
    for (const container of allContainers(pod)) {
      for (const name of COMPUTE) {
        const request = container.resources?.requests?.[name];
        const limit = container.resources?.limits?.[name];
        const min = range.min?.[name];
        const max = range.max?.[name];
        if (min !== undefined) {
          if (request === undefined) {
            errors.push(`minimum ${name} usage per Container is ${min}.  No request is specified`);
          } else if (value(request) < value(min)) {
            errors.push(
              `minimum ${name} usage per Container is ${min}, but request is ${String(request)}`,
            );
          }
        }
        if (max !== undefined) {
          if (limit === undefined) {
            errors.push(`maximum ${name} usage per Container is ${max}.  No limit is specified`);
          } else if (value(limit) > value(max)) {
            errors.push(
              `maximum ${name} usage per Container is ${max}, but limit is ${String(limit)}`,
            );
          }
        }
      }
    }
  }
  return errors;
}

function value(quantity: string | number): number {
  return parseQuantity(quantity) ?? 0;
}

/** The quota usage of one pod, under the names a quota can limit. */
export function podUsage(pod: PodObject): Map<string, number> {
  const usage = new Map<string, number>([['pods', 1]]);
  const add = (key: string, amount: number) => usage.set(key, (usage.get(key) ?? 0) + amount);
  for (const container of pod.spec?.containers ?? []) {
    for (const name of COMPUTE) {
      const request = container.resources?.requests?.[name];
      const limit = container.resources?.limits?.[name];
      if (request !== undefined) {
        add(`requests.${name}`, value(request));
        add(name, value(request));
      }
      if (limit !== undefined) add(`limits.${name}`, value(limit));
    }
  }
  return usage;
}

/** Pods in a terminal phase no longer count (pods.go, QuotaV1Pod). */
export function chargesQuota(pod: PodObject): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/**
 * The first quota the pod would exceed, as the quota admission words it:
 * `exceeded quota: NAME, requested: pods=1, used: pods=2, limited: pods=2`, or
 * `failed quota: NAME: must specify limits.cpu for: CONTAINERS` when a container gives no value
 * for a constrained resource. Undefined when every quota has room.
 */
export function quotaViolation(
  pod: PodObject,
  quotas: readonly ResourceQuota[],
  others: readonly PodObject[],
): string | undefined {
  const requested = podUsage(pod);
  for (const quota of quotas) {
    const constrained = Object.keys(quota.hard).filter((key) => key !== 'pods');
    const missing = missingConstraints(pod, constrained);
    if (missing !== undefined) return `failed quota: ${quota.name}: ${missing}`;
    const used = new Map<string, number>();
    for (const other of others.filter(chargesQuota)) {
      for (const [key, amount] of podUsage(other)) used.set(key, (used.get(key) ?? 0) + amount);
    }
    const exceeded = Object.keys(quota.hard)
      .filter((key) => requested.has(key))
      .filter(
        (key) => (used.get(key) ?? 0) + (requested.get(key) ?? 0) > value(quota.hard[key] ?? '0'),
      )
      .sort();
    if (exceeded.length > 0) {
      const list = (pick: (key: string) => string) =>
        exceeded.map((key) => `${key}=${pick(key)}`).join(',');
      return `exceeded quota: ${quota.name}, requested: ${list((k) => format(k, requested.get(k) ?? 0))}, used: ${list((k) => format(k, used.get(k) ?? 0))}, limited: ${list((k) => quota.hard[k] ?? '0')}`;
    }
  }
  return undefined;
}

/** pods.go podComputeUsageHelper's check: every container must give what the quota limits. */
function missingConstraints(pod: PodObject, constrained: readonly string[]): string | undefined {
  for (const key of [...constrained].sort()) {
    const [kind, name] = key.includes('.') ? key.split('.') : ['requests', key];
    if (name !== 'cpu' && name !== 'memory') continue;
    const lacking = (pod.spec?.containers ?? []).filter((container) => {
      const list = kind === 'limits' ? container.resources?.limits : container.resources?.requests;
      return list?.[name] === undefined;
    });
    if (lacking.length > 0) {
      return `must specify ${key} for: ${lacking.map((c) => c.name).join(',')}`;
    }
  }
  return undefined;
}

/** A quantity for a message: millicores for cpu below a core, Mi for memory, else the number. */
function format(key: string, amount: number): string {
  if (key.endsWith('cpu'))
    return Number.isInteger(amount) ? String(amount) : `${Math.round(amount * 1000)}m`;
  if (key.endsWith('memory') && amount % 2 ** 20 === 0) return `${amount / 2 ** 20}Mi`;
  return String(amount);
}
