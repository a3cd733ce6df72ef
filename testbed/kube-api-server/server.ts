// A Kubernetes API server for tests: the pods of the core group, served over real HTTPS with its
// own CA to the real @kubernetes/client-node, answering as kube-apiserver answers: authentication
// (token, client certificate, anonymous), authorization, admission (admission.ts), validation,
// the store and its watches (store.ts), API Priority and Fairness and other faults on demand.
//
// Run directly (`node testbed/kube-api-server/server.ts [--port N] [--namespace NS]...
// [--kubeconfig-dir DIR] [--token T] [--pod-gateway NAME]...`), it serves until SIGINT/SIGTERM
// and prints one JSON line `{"url": ..., "kubeconfig": ...}` on stdout.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import { clientCertificate, type TestCertificates, testCertificates } from '../tls.ts';
import { Cluster, type NamespaceSpec } from './admission.ts';
import {
  Authenticator,
  type KubeconfigUser,
  writeKubeconfigFile,
  writeServiceAccountFiles,
} from './auth.ts';
import { prepareCreate } from './create.ts';
import type { EventObject } from './event-validation.ts';
import { EventStore } from './events.ts';
import { type Fault, FaultQueue } from './faults.ts';
import { RequestHandler } from './handler.ts';
import { copy, isObject, sendReply, statusReply } from './http.ts';
import type { ContainerLimitRange, ResourceQuota } from './limits.ts';
import { rfc3339 } from './pods.ts';
import type { RequestAttributes } from './routing.ts';
import { internalError } from './status.ts';
import { mergePodStatus, type PodStatus, PodStore, type StoredPod } from './store.ts';
import type {
  KubeApiServer,
  KubeApiServerOptions,
  KubeconfigCredential,
  PodInput,
  RecordedRequest,
} from './types.ts';
import type { Webhook, WebhookState } from './webhooks.ts';

export type { NamespaceSpec } from './admission.ts';
export type { EventObject } from './event-validation.ts';
export type { Fault } from './faults.ts';
export { POD_CREATES } from './faults.ts';
export type { ContainerLimitRange, ResourceQuota } from './limits.ts';
export type { Authorizer, PolicyRule, RequestAttributes } from './routing.ts';
export { authorizerFromRules, ruleAllows } from './routing.ts';
export type { Status } from './status.ts';
export type { PodStatus, StoredPod } from './store.ts';
export type {
  KubeApiServer,
  KubeApiServerOptions,
  KubeconfigCredential,
  PodInput,
  RecordedRequest,
} from './types.ts';
export type { PodGatewaySettings, Webhook, WebhookState } from './webhooks.ts';
export { podGatewayWebhook } from './webhooks.ts';

export async function startKubeApiServer(
  options: KubeApiServerOptions = {},
): Promise<KubeApiServer> {
  const certificates = await testCertificates();
  const server = new ApiServer(options, certificates);
  await server.listen(options.port ?? 0);
  return server;
}

const HOST = '127.0.0.1';
const DEFAULT_USER = 'system:serviceaccount:default:provisioner';

class ApiServer implements KubeApiServer {
  readonly host = HOST;
  readonly requests: RecordedRequest[] = [];
  readonly #tls: TestCertificates;
  readonly #user: string;
  readonly #authorize: (attrs: RequestAttributes, user: string) => boolean;
  readonly #auth: Authenticator;
  readonly #cluster: Cluster;
  readonly #store = new PodStore();
  readonly #events = new EventStore();
  readonly #faults = new FaultQueue();
  readonly #sockets = new Set<Socket>();
  readonly #closing = new AbortController();
  readonly #handler: RequestHandler;
  #token: string;
  #server: Server | undefined;
  #port = 0;
  #closed: Promise<void> | undefined;

  constructor(options: KubeApiServerOptions, tls: TestCertificates) {
    this.#tls = tls;
    this.#token = options.token ?? randomBytes(24).toString('base64url');
    this.#user = options.user ?? DEFAULT_USER;
    this.#authorize = options.authorize ?? (() => true);
    this.#auth = new Authenticator(this.#token, this.#user);
    this.#cluster = new Cluster({
      namespaces: options.namespaces ?? ['default'],
      webhooks: options.webhooks ?? [],
      podSecurityDefault: options.podSecurityDefault ?? 'privileged',
    });
    this.#handler = new RequestHandler({
      auth: this.#auth,
      cluster: this.#cluster,
      store: this.#store,
      events: this.#events,
      faults: this.#faults,
      authorize: this.#authorize,
      user: this.#user,
      requests: this.requests,
      closing: this.#closing.signal,
      url: () => this.url,
      port: () => this.#port,
    });
  }

  get port(): number {
    return this.#port;
  }
  get url(): string {
    return `https://${HOST}:${this.#port}`;
  }
  get token(): string {
    return this.#token;
  }
  get caPem(): string {
    return this.#tls.caPem;
  }
  get faults(): readonly Fault[] {
    return this.#faults.pending;
  }

  async listen(port: number): Promise<void> {
    const { certPem: cert, keyPem: key, caPem: ca } = this.#tls;
    // Client certificates are asked for and checked against the CA, not required.
    const tls = { cert, key, ca, requestCert: true, rejectUnauthorized: false };
    const server = createServer(tls, (req, res) => {
      this.#handler.handle(req, res).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        sendReply(res, statusReply(internalError(message)));
      });
    });
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    server.on('tlsClientError', () => {}); // clients that give up mid-handshake
    server.listen(port, HOST);
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    this.#port = address.port;
    this.#server = server;
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing.abort();
    this.#store.clear();
    this.#events.clear();
    const server = this.#server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  // Test-facing state --------------------------------------------------------------------------

  pods(namespace?: string): StoredPod[] {
    return this.#store
      .sorted()
      .filter((pod) => namespace === undefined || pod.metadata?.namespace === namespace)
      .map(copy);
  }

  events(namespace?: string): EventObject[] {
    return this.#events.all(namespace);
  }

  pod(namespace: string, name: string): StoredPod | undefined {
    const pod = this.#store.get(namespace, name);
    return pod === undefined ? undefined : copy(pod);
  }

  addPod(input: PodInput | V1Pod): StoredPod {
    const body: unknown = JSON.parse(JSON.stringify(input));
    if (!isObject(body)) throw new Error('addPod: not an object');
    const metadata = isObject(body.metadata) ? body.metadata : {};
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
    const status = isObject(body.status) ? body.status : undefined;
    const outcome = prepareCreate(body, namespace, this.#cluster, this.#store);
    if (!outcome.ok) throw new Error(`addPod: ${outcome.status.code} ${outcome.status.message}`);
    const pod = outcome.value;
    if (status !== undefined) pod.status = { ...pod.status, ...status };
    // A test may date a pod back (the API itself always sets the time of the create).
    if (typeof metadata.creationTimestamp === 'string' && pod.metadata) {
      pod.metadata.creationTimestamp = metadata.creationTimestamp;
    }
    this.#store.store('ADDED', undefined, pod);
    return copy(pod);
  }

  deletePod(namespace: string, name: string): StoredPod {
    const pod = this.#store.existing(namespace, name);
    return this.#store.delete(pod, 0);
  }

  beginPodDeletion(namespace: string, name: string, graceSeconds = 30): StoredPod {
    const pod = this.#store.existing(namespace, name);
    if (!pod.spec?.nodeName) throw new Error(`pod ${name} is on no node: it would go at once`);
    return this.#store.delete(pod, graceSeconds);
  }

  updatePodStatus(namespace: string, name: string, status: PodStatus): StoredPod {
    const previous = this.#store.existing(namespace, name);
    const pod = copy(previous);
    pod.status = mergePodStatus(pod.status ?? {}, status);
    this.#store.store('MODIFIED', previous, pod);
    return copy(pod);
  }

  onChange(listener: (type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: StoredPod) => void): () => void {
    return this.#store.onChange(listener);
  }

  get openWatches(): number {
    return this.#store.openWatches;
  }

  endWatches(): void {
    this.#store.endWatches();
  }

  bindPod(namespace: string, name: string, nodeName: string): StoredPod {
    const previous = this.#store.existing(namespace, name);
    const bound = previous.spec?.nodeName;
    if (bound) throw new Error(`pod ${name} is already assigned to node "${bound}"`);
    const pod = copy(previous);
    if (pod.spec !== undefined) pod.spec.nodeName = nodeName;
    pod.status = mergePodStatus(pod.status ?? {}, {
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: rfc3339() }],
    });
    this.#store.store('MODIFIED', previous, pod);
    return copy(pod);
  }

  addNamespace(namespace: string | NamespaceSpec): void {
    this.#cluster.addNamespace(namespace);
  }
  labelNamespace(namespace: string, labels: Record<string, string>): void {
    this.#cluster.labelNamespace(namespace, labels);
  }
  terminateNamespace(namespace: string): void {
    this.#cluster.terminateNamespace(namespace);
  }
  addServiceAccount(namespace: string, name: string): void {
    this.#cluster.addServiceAccount(namespace, name);
  }
  deleteServiceAccount(namespace: string, name: string): void {
    this.#cluster.deleteServiceAccount(namespace, name);
  }
  setLimitRange(namespace: string, range: ContainerLimitRange | undefined): void {
    this.#cluster.setLimitRange(namespace, range);
  }
  setResourceQuota(namespace: string, quota: ResourceQuota | undefined): void {
    this.#cluster.setResourceQuota(namespace, quota);
  }
  addWebhook(webhook: Webhook): void {
    this.#cluster.addWebhook(webhook);
  }
  setWebhook(name: string, state: WebhookState): void {
    this.#cluster.setWebhook(name, state);
  }

  issueToken(user = this.#user): string {
    return this.#auth.issueToken(user);
  }
  revokeToken(token: string): void {
    this.#auth.revokeToken(token);
  }
  rotateToken(): { token: string; previous: string } {
    const previous = this.#token;
    this.#token = this.#auth.issueToken(this.#user);
    return { token: this.#token, previous };
  }

  injectFault(fault: Fault): void {
    this.#faults.add(fault);
  }

  /**
   * The requests to the core API (`/api/v1`: pods, namespaces), without the Kubernetes Events
   * (`/apis/events.k8s.io`) the function reports after its replies: those of an earlier test's
   * pods may still arrive in the next test.
   */
  coreRequests(): RecordedRequest[] {
    return this.requests.filter((request) => request.path.startsWith('/api/'));
  }

  reset(): void {
    this.#store.clear();
    this.#events.clear();
    this.requests.length = 0;
    this.#faults.clear();
    this.#cluster.reset();
  }

  async writeKubeconfig(dir: string, credential: KubeconfigCredential = 'token'): Promise<string> {
    const user: KubeconfigUser =
      credential === 'client-certificate'
        ? { clientCertificate: await clientCertificate(this.#tls, this.#user) }
        : credential === 'exec'
          ? { execToken: this.issueToken() }
          : { token: this.#token };
    const namespace = this.#cluster.initialNamespace;
    return writeKubeconfigFile(dir, { url: this.url, caPem: this.caPem, namespace, user });
  }

  async writeServiceAccountDir(dir: string, namespace: string): Promise<void> {
    await writeServiceAccountFiles(dir, { token: this.#token, caPem: this.caPem, namespace });
  }
}

// Not awaited: the CLI module imports this one, which must finish loading first.
if (import.meta.main) {
  import('./cli.ts')
    .then(({ main }) => main())
    .catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
}
