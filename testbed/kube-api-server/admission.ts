// The cluster state admission reads (namespaces with their labels, phase, service accounts,
// LimitRanges and ResourceQuotas; webhooks) and the admission chain of a pod CREATE, in
// kube-apiserver's order: the mutating plugins (NamespaceLifecycle, LimitRanger, ServiceAccount,
// DefaultTolerationSeconds, Priority, MutatingAdmissionWebhook), then, after validation, the
// validating ones (LimitRanger, PodSecurity, ValidatingAdmissionWebhook, ResourceQuota)
// (pkg/kubeapiserver/options/plugins.go AllOrderedPlugins; the chain runs every Admit, then every
// Validate: staging/src/k8s.io/apiserver/pkg/admission/chain.go).
import { copy } from './http.ts';
import {
  applyLimitRangeDefaults,
  type ContainerLimitRange,
  limitRangeViolations,
  quotaViolation,
  type ResourceQuota,
} from './limits.ts';
import { enforcedLevel, type PodSecurityLevel, podSecurityViolation } from './pod-security.ts';
import { admitPod, applyPodDefaults } from './pods.ts';
import { failure, forbiddenBecause, internalError, type Status } from './status.ts';
import type { PodObject } from './validation.ts';
import { callWebhook, selects, type Webhook, type WebhookState } from './webhooks.ts';

export interface NamespaceSpec {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * The service accounts that exist (default `['default']`, which the service account
   * controller creates a moment after the namespace: `[]` is a namespace just made).
   */
  readonly serviceAccounts?: readonly string[];
}

interface NamespaceState {
  labels: Record<string, string>;
  terminating: boolean;
  readonly serviceAccounts: Set<string>;
  limitRanges: ContainerLimitRange[];
  quotas: ResourceQuota[];
}

export interface ClusterOptions {
  readonly namespaces: ReadonlyArray<string | NamespaceSpec>;
  readonly webhooks: readonly Webhook[];
  /** The Pod Security level of namespaces without the enforce label (Kubernetes: privileged). */
  readonly podSecurityDefault: PodSecurityLevel;
}

export class Cluster {
  readonly #initial: ClusterOptions;
  readonly #namespaces = new Map<string, NamespaceState>();
  #webhooks: Webhook[] = [];

  constructor(options: ClusterOptions) {
    this.#initial = options;
    this.reset();
  }

  reset(): void {
    this.#namespaces.clear();
    for (const spec of this.#initial.namespaces) this.addNamespace(spec);
    this.#webhooks = this.#initial.webhooks.map((webhook) => ({ ...webhook, state: 'up' }));
  }

  get initialNamespace(): string {
    const first = this.#initial.namespaces[0] ?? 'default';
    return typeof first === 'string' ? first : first.name;
  }

  /** The namespaces that exist, sorted (kubectl get ns in the sandbox). */
  namespaceNames(): string[] {
    return [...this.#namespaces.keys()].sort();
  }

  has(namespace: string): boolean {
    return this.#namespaces.has(namespace);
  }

  addNamespace(spec: string | NamespaceSpec): void {
    const {
      name,
      labels = {},
      serviceAccounts = ['default'],
    } = typeof spec === 'string' ? { name: spec } : spec;
    this.#namespaces.set(name, {
      // The API server sets this label on every namespace (1.22+).
      labels: { 'kubernetes.io/metadata.name': name, ...labels },
      terminating: false,
      serviceAccounts: new Set(serviceAccounts),
      limitRanges: [],
      quotas: [],
    });
  }

  #state(namespace: string): NamespaceState {
    const state = this.#namespaces.get(namespace);
    if (state === undefined) throw new Error(`namespaces "${namespace}" not found`);
    return state;
  }

  labelNamespace(namespace: string, labels: Readonly<Record<string, string>>): void {
    const state = this.#state(namespace);
    state.labels = { ...state.labels, ...labels };
  }

  /** A namespace being deleted: phase Terminating until its content is gone. */
  terminateNamespace(namespace: string): void {
    this.#state(namespace).terminating = true;
  }

  addServiceAccount(namespace: string, name: string): void {
    this.#state(namespace).serviceAccounts.add(name);
  }

  deleteServiceAccount(namespace: string, name: string): void {
    this.#state(namespace).serviceAccounts.delete(name);
  }

  setLimitRange(namespace: string, range: ContainerLimitRange | undefined): void {
    this.#state(namespace).limitRanges = range === undefined ? [] : [range];
  }

  setResourceQuota(namespace: string, quota: ResourceQuota | undefined): void {
    this.#state(namespace).quotas = quota === undefined ? [] : [quota];
  }

  addWebhook(webhook: Webhook): void {
    this.#webhooks.push({ ...webhook, state: webhook.state ?? 'up' });
  }

  setWebhook(name: string, state: WebhookState): void {
    const webhook = this.#webhooks.find((w) => w.name === name);
    if (webhook === undefined) throw new Error(`no webhook named ${name}`);
    webhook.state = state;
  }

  /**
   * The mutating half, in place: NamespaceLifecycle
   * (staging/src/k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/admission.go),
   * LimitRanger defaults (plugin/pkg/admission/limitranger/admission.go), ServiceAccount
   * (plugin/pkg/admission/serviceaccount/admission.go), the default-on plugins of pods.ts,
   * then the mutating webhooks. A Status when the pod is refused.
   */
  mutate(pod: PodObject, namespace: string): Status | undefined {
    const state = this.#state(namespace);
    const name = pod.metadata?.name ?? '';
    if (state.terminating) return namespaceTerminating(name, namespace);
    applyLimitRangeDefaults(pod, state.limitRanges);
    const account = pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default';
    if (!state.serviceAccounts.has(account)) {
      return forbiddenBecause(
        'pods',
        name,
        `error looking up service account ${namespace}/${account}: serviceaccount "${account}" not found`,
      );
    }
    admitPod(pod);
    const refused = this.#callWebhooks('mutating', pod, state);
    // The patched object is decoded again, with defaults for what the webhooks added.
    applyPodDefaults(pod);
    return refused;
  }

  /**
   * The validating half, after validation: LimitRanger's min/max, PodSecurity
   * (staging/src/k8s.io/pod-security-admission/admission/admission.go), the validating webhooks,
   * and ResourceQuota last (staging/src/k8s.io/apiserver/pkg/admission/plugin/resourcequota/
   * controller.go), which counts the pods already stored in the namespace.
   */
  validate(
    pod: PodObject,
    namespace: string,
    stored: () => readonly PodObject[],
  ): Status | undefined {
    const state = this.#state(namespace);
    const name = pod.metadata?.name ?? '';
    const limits = limitRangeViolations(pod, state.limitRanges);
    if (limits.length > 0) {
      const reason = limits.length === 1 ? (limits[0] ?? '') : `[${limits.join(', ')}]`;
      return forbiddenBecause('pods', name, reason);
    }
    const level = enforcedLevel(state.labels, this.#initial.podSecurityDefault);
    const security = podSecurityViolation(pod, level);
    if (security !== undefined) return forbiddenBecause('pods', name, security);
    const refused = this.#callWebhooks('validating', copy(pod), state);
    if (refused !== undefined) return refused;
    const quota = state.quotas.length > 0 ? quotaViolation(pod, state.quotas, stored()) : undefined;
    if (quota !== undefined) return forbiddenBecause('pods', name, quota);
    return undefined;
  }

  #callWebhooks(type: Webhook['type'], pod: PodObject, state: NamespaceState): Status | undefined {
    for (const webhook of this.#webhooks) {
      if (webhook.type !== type || !selects(webhook, state.labels)) continue;
      const verdict = callWebhook(webhook, pod);
      if (verdict.kind === 'unreachable') return internalError(verdict.message);
      // statuserror.go: the webhook's code and (possibly empty) reason, no details.
      if (verdict.kind === 'denied') return failure(verdict.code, '', verdict.message);
    }
    return undefined;
  }
}

/** lifecycle/admission.go: a 403 with the NamespaceTerminating cause. */
function namespaceTerminating(name: string, namespace: string): Status {
  const status = forbiddenBecause(
    'pods',
    name,
    `unable to create new content in namespace ${namespace} because it is being terminated`,
  );
  status.details = {
    ...status.details,
    causes: [
      {
        reason: 'NamespaceTerminating',
        message: `namespace ${namespace} is being terminated`,
        field: 'metadata.namespace',
      },
    ],
  };
  return status;
}
