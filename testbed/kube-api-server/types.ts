// The public face of the API test server: its options, what it records, and what tests can do
// with it (server.ts implements it).
import type { V1Pod } from '@kubernetes/client-node';
import type { NamespaceSpec } from './admission.ts';
import type { Identity } from './auth.ts';
import type { EventObject } from './event-validation.ts';
import type { Fault } from './faults.ts';
import type { ContainerLimitRange, ResourceQuota } from './limits.ts';
import type { PodSecurityLevel } from './pod-security.ts';
import type { RequestAttributes } from './routing.ts';
import type { PodStatus, StoredPod } from './store.ts';
import type { Webhook, WebhookState } from './webhooks.ts';

/** A pod to store: kind and apiVersion may be left out, as in a request body. */
export type PodInput = Omit<StoredPod, 'apiVersion' | 'kind'> & {
  apiVersion?: string;
  kind?: string;
};

export interface KubeApiServerOptions {
  /** The bearer token accepted for `user` (default: a random one). */
  token?: string;
  /** The namespaces that exist (default `['default']`); a spec gives labels and service accounts. */
  namespaces?: Array<string | NamespaceSpec>;
  /** Default 0: any free port. The host is always 127.0.0.1. */
  port?: number;
  /** Decides every authenticated resource request (default: allow all). */
  authorize?: (attrs: RequestAttributes, user: string) => boolean;
  /** The user the token (and the client certificate of writeKubeconfig) stands for. */
  user?: string;
  /** Admission webhooks, all up at the start and after reset(). */
  webhooks?: Webhook[];
  /** Pod Security level of namespaces without the enforce label (default `privileged`). */
  podSecurityDefault?: PodSecurityLevel;
}

export interface RecordedRequest {
  method: string;
  /** The path without the query */
  path: string;
  query: Record<string, string>;
  /** The RBAC verb (get, list, watch, create, ...), or the lower-cased method for other paths. */
  verb: string;
  /** The HTTP status answered; 0 while pending or when the connection was dropped. */
  status: number;
  userAgent: string;
  /** The authenticated user (`system:anonymous` without credentials); '' when refused or faulted. */
  user: string;
  credential: Identity['credential'] | '';
}

/** How a kubeconfig authenticates: kind writes client certificates, EKS and GKE exec plugins. */
export type KubeconfigCredential = 'token' | 'client-certificate' | 'exec';

export interface KubeApiServer {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The token kubeconfigs and service-account files get (changed by rotateToken). */
  readonly token: string;
  /** PEM of the CA that signed the server's certificate, and verifies client certificates. */
  readonly caPem: string;
  /** Every request received, in order of arrival. */
  readonly requests: RecordedRequest[];
  /** The requests to the core API, without the Kubernetes Events a function reports late. */
  coreRequests(): RecordedRequest[];
  /** Deep copies of the stored pods (of one namespace, or all), ordered by namespace and name. */
  pods(namespace?: string): StoredPod[];
  pod(namespace: string, name: string): StoredPod | undefined;
  /** Deep copies of the stored Events (events.k8s.io/v1), of one namespace or all, oldest first. */
  events(namespace?: string): EventObject[];
  /**
   * Stores a pod as if created through the API (admission, validation, defaults, server
   * metadata; the namespace defaults to 'default'); a status given is merged over the Pending
   * one, a creationTimestamp given is kept. Throws with the Status message if the API would
   * refuse the pod.
   */
  addPod(pod: PodInput | V1Pod): StoredPod;
  /** Removes a pod as its final deletion would (a DELETED watch event). */
  deletePod(namespace: string, name: string): StoredPod;
  /** A graceful deletion of a pod on a node: deletionTimestamp set now, removed after the grace. */
  beginPodDeletion(namespace: string, name: string, graceSeconds?: number): StoredPod;
  /** Merges into the pod's status (conditions by type), as the kubelet would; MODIFIED event. */
  updatePodStatus(namespace: string, name: string, status: PodStatus): StoredPod;
  /** Binds the pod to a node as the scheduler does: spec.nodeName and PodScheduled=True. */
  bindPod(namespace: string, name: string, nodeName: string): StoredPod;
  /** Calls `listener` after each stored change (a copy of the pod); returns the unsubscribe. */
  onChange(listener: (type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: StoredPod) => void): () => void;
  /** Watch requests being served right now. */
  readonly openWatches: number;
  /** Ends every watch stream, as the API server does at its watch timeout or on restart. */
  endWatches(): void;
  addNamespace(namespace: string | NamespaceSpec): void;
  labelNamespace(namespace: string, labels: Record<string, string>): void;
  /** The namespace is being deleted: creates in it are refused (NamespaceTerminating). */
  terminateNamespace(namespace: string): void;
  addServiceAccount(namespace: string, name: string): void;
  deleteServiceAccount(namespace: string, name: string): void;
  /** The namespace's one Container LimitRange (undefined removes it). */
  setLimitRange(namespace: string, range: ContainerLimitRange | undefined): void;
  /** The namespace's one ResourceQuota (undefined removes it). */
  setResourceQuota(namespace: string, quota: ResourceQuota | undefined): void;
  addWebhook(webhook: Webhook): void;
  /** Brings a webhook up or down, or makes it deny every request. */
  setWebhook(name: string, state: WebhookState): void;
  /** A new token for `user` (default: the server's user), accepted from now on. */
  issueToken(user?: string): string;
  /** The token is refused from now on (401). */
  revokeToken(token: string): void;
  /** Issues a new token and makes it `token`; the previous one stays valid until revoked. */
  rotateToken(): { token: string; previous: string };
  injectFault(fault: Fault): void;
  /** The faults not used up yet. */
  readonly faults: readonly Fault[];
  /** Forgets pods, Events, requests, faults, watches; namespaces and webhooks are the initial ones. */
  reset(): void;
  /** Writes `kubeconfig` in dir (server, CA data, credentials; current context set); returns its path. */
  writeKubeconfig(dir: string, credential?: KubeconfigCredential): Promise<string>;
  /** Writes `token`, `ca.crt` and `namespace` in dir, as mounted at /var/run/secrets/kubernetes.io/serviceaccount. */
  writeServiceAccountDir(dir: string, namespace: string): Promise<void>;
  close(): Promise<void>;
}
