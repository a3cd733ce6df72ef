// A Kubernetes API server for tests: the pods of the core group, served over real HTTPS with its
// own CA to the real @kubernetes/client-node, answering as kube-apiserver answers (paths, status
// codes, Status bodies and their messages, server-set fields, defaults, validation, watch).
//
// Run directly (`node test/support/kube-api-server.ts [--port N] [--namespace NS]...
// [--kubeconfig-dir DIR] [--token T]`), it serves until SIGINT/SIGTERM and prints one JSON line
// `{"url": ..., "kubeconfig": ...}` on stdout.
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { V1Pod } from '@kubernetes/client-node';
import { admitPod, applyPodDefaults, generateName, podQosClass, rfc3339 } from './kube-pods.ts';
import {
  type Authorizer,
  type RequestAttributes,
  type RequestInfo,
  requestInfo,
} from './kube-routing.ts';
import { type Matcher, parseFieldSelector, parseLabelSelector } from './kube-selectors.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  expired,
  failure,
  forbidden,
  internalError,
  invalid,
  MODIFIED_CONFLICT,
  methodNotAllowed,
  notFound,
  pathNotFound,
  requestEntityTooLarge,
  type Status,
  serviceUnavailable,
  timeout,
  tooManyRequests,
  unauthorized,
  unsupportedMediaType,
} from './kube-status.ts';
import { type PodObject, podSchemaErrors, validatePodCreate } from './kube-validation.ts';
import { testCertificates } from './tls.ts';

export type { Authorizer, PolicyRule, RequestAttributes } from './kube-routing.ts';
export { authorizerFromRules, ruleAllows } from './kube-routing.ts';
export type { Status } from './kube-status.ts';

export type StoredPod = PodObject;
export type PodStatus = NonNullable<PodObject['status']>;
/** A pod to store: kind and apiVersion may be left out, as in a request body. */
export type PodInput = Omit<PodObject, 'apiVersion' | 'kind'> & {
  apiVersion?: string;
  kind?: string;
};

export interface KubeApiServerOptions {
  /** The bearer token accepted (default: a random one). */
  token?: string;
  /** The namespaces that exist (default `['default']`). */
  namespaces?: string[];
  /** Default 0: any free port. The host is always 127.0.0.1. */
  port?: number;
  /** Decides every resource request after authentication (default: allow all). */
  authorize?: (attrs: RequestAttributes) => boolean;
  /** The authenticated user's name, as Forbidden messages show it. */
  user?: string;
  /** A mutating admission webhook: changes each pod being created (e.g. gateway-injected containers). */
  mutate?: (pod: StoredPod) => void;
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
}

export interface Fault {
  /** Only requests with this method (any if absent). */
  method?: string;
  /** Only requests whose path (without query) equals this string or matches this RegExp. */
  path?: RegExp | string;
  /** How many matching requests it affects (default 1). */
  times?: number;
  /** Answer with this status code (with the reason and message the real server gives). */
  status?: number;
  reason?: string;
  message?: string;
  /** Sent as the `Retry-After` header and `details.retryAfterSeconds` (429 defaults to 1). */
  retryAfterSeconds?: number;
  /** Wait this long first; alone, the request is then handled normally. */
  delayMs?: number;
  /** Destroy the connection without answering. */
  drop?: boolean;
  /** On create: store the pod first, as if another writer won, then answer 409 AlreadyExists. */
  race?: boolean;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly token: string;
  /** PEM of the CA that signed the server's certificate. */
  readonly caPem: string;
  /** Every request received, in order of arrival. */
  readonly requests: RecordedRequest[];
  /** Deep copies of the stored pods (of one namespace, or all), ordered by namespace and name. */
  pods(namespace?: string): StoredPod[];
  pod(namespace: string, name: string): StoredPod | undefined;
  /**
   * Stores a pod as if created through the API (validation, defaults, server metadata; the
   * namespace defaults to 'default'); a status given is merged over the Pending one, a
   * creationTimestamp given is kept. Throws with the Status message if the API would refuse the pod.
   */
  addPod(pod: PodInput | V1Pod): StoredPod;
  /** Removes a pod as its final deletion would (a DELETED watch event). */
  deletePod(namespace: string, name: string): StoredPod;
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
  addNamespace(name: string): void;
  injectFault(fault: Fault): void;
  /** The faults not used up yet. */
  readonly faults: readonly Fault[];
  /** Forgets pods, recorded requests, faults and watches; the namespaces are the initial ones. */
  reset(): void;
  /** Writes `kubeconfig` in dir (server, CA data, token; current context set); returns its path. */
  writeKubeconfig(dir: string): Promise<string>;
  /** Writes `token`, `ca.crt` and `namespace` in dir, as mounted at /var/run/secrets/kubernetes.io/serviceaccount. */
  writeServiceAccountDir(dir: string, namespace: string): Promise<void>;
  close(): Promise<void>;
}

export async function startKubeApiServer(
  options: KubeApiServerOptions = {},
): Promise<KubeApiServer> {
  const certificates = await testCertificates();
  const server = new ApiServer(options, certificates.caPem);
  await server.listen(certificates, options.port ?? 0);
  return server;
}

// ---------------------------------------------------------------------------------------------

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 3 * 1024 * 1024;
const HISTORY_LIMIT = 1000;
const DEFAULT_USER = 'system:serviceaccount:default:provisioner';
const VERSION_INFO = {
  major: '1',
  minor: '34',
  gitVersion: 'v1.34.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-08-27T00:00:00Z',
  goVersion: 'go1.24.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface StoreEvent {
  readonly resourceVersion: number;
  readonly type: EventType;
  readonly previous: StoredPod | undefined;
  readonly current: StoredPod;
}

interface Watcher {
  readonly matches: Matcher<StoredPod>;
  readonly res: ServerResponse;
  timer?: NodeJS.Timeout;
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly record: RecordedRequest;
  readonly info: RequestInfo;
  readonly body: Buffer;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; status: Status };

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function goJsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

class ApiServer implements KubeApiServer {
  readonly host = HOST;
  readonly token: string;
  readonly caPem: string;
  readonly requests: RecordedRequest[] = [];

  readonly #initialNamespaces: readonly string[];
  readonly #namespaces: Set<string>;
  readonly #authorize: Authorizer;
  readonly #user: string;
  readonly #mutate: ((pod: StoredPod) => void) | undefined;
  readonly #pods = new Map<string, StoredPod>();
  readonly #faults: Fault[] = [];
  readonly #watchers = new Set<Watcher>();
  readonly #listeners = new Set<(type: EventType, pod: StoredPod) => void>();
  readonly #sockets = new Set<Socket>();
  readonly #closing = new AbortController();
  #history: StoreEvent[] = [];
  /** Events after this resource version are all in #history. */
  #historyFloor = 0;
  #resourceVersion = 0;
  #server: Server | undefined;
  #port = 0;
  #closed: Promise<void> | undefined;

  constructor(options: KubeApiServerOptions, caPem: string) {
    this.token = options.token ?? randomBytes(24).toString('base64url');
    this.caPem = caPem;
    this.#initialNamespaces = [...(options.namespaces ?? ['default'])];
    this.#namespaces = new Set(this.#initialNamespaces);
    this.#authorize = options.authorize ?? (() => true);
    this.#user = options.user ?? DEFAULT_USER;
    this.#mutate = options.mutate;
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `https://${HOST}:${this.#port}`;
  }

  get openWatches(): number {
    return this.#watchers.size;
  }

  endWatches(): void {
    this.#endWatches();
  }

  onChange(listener: (type: EventType, pod: StoredPod) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get faults(): readonly Fault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  async listen(tls: { certPem: string; keyPem: string }, port: number): Promise<void> {
    const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'application/json' });
          res.end(JSON.stringify(internalError(message)));
        }
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
    this.#endWatches();
    const server = this.#server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  // -------------------------------------------------------------------------------------------
  // Test-facing state

  pods(namespace?: string): StoredPod[] {
    return this.#sortedPods()
      .filter((pod) => namespace === undefined || pod.metadata?.namespace === namespace)
      .map(copy);
  }

  pod(namespace: string, name: string): StoredPod | undefined {
    const pod = this.#pods.get(key(namespace, name));
    return pod === undefined ? undefined : copy(pod);
  }

  addPod(input: PodInput | V1Pod): StoredPod {
    const body: unknown = JSON.parse(JSON.stringify(input));
    if (!isObject(body)) throw new Error('addPod: not an object');
    const metadata = isObject(body.metadata) ? body.metadata : {};
    const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : 'default';
    const status = isObject(body.status) ? body.status : undefined;
    const outcome = this.#prepareCreate(body, namespace);
    if (!outcome.ok) throw new Error(`addPod: ${outcome.status.code} ${outcome.status.message}`);
    const pod = outcome.value;
    if (status !== undefined) pod.status = { ...pod.status, ...status };
    // A test may date a pod back (the API itself always sets the time of the create).
    if (typeof metadata.creationTimestamp === 'string' && pod.metadata) {
      pod.metadata.creationTimestamp = metadata.creationTimestamp;
    }
    this.#store('ADDED', undefined, pod);
    return copy(pod);
  }

  deletePod(namespace: string, name: string): StoredPod {
    const pod = this.#existing(namespace, name);
    this.#pods.delete(key(namespace, name));
    const deleted = copy(pod);
    this.#store('DELETED', pod, deleted);
    return copy(deleted);
  }

  updatePodStatus(namespace: string, name: string, status: PodStatus): StoredPod {
    const previous = this.#existing(namespace, name);
    const pod = copy(previous);
    pod.status = mergePodStatus(pod.status ?? {}, status);
    this.#store('MODIFIED', previous, pod);
    return copy(pod);
  }

  bindPod(namespace: string, name: string, nodeName: string): StoredPod {
    const previous = this.#existing(namespace, name);
    const bound = previous.spec?.nodeName;
    if (bound) throw new Error(`pod ${name} is already assigned to node "${bound}"`);
    const pod = copy(previous);
    if (pod.spec !== undefined) pod.spec.nodeName = nodeName;
    pod.status = mergePodStatus(pod.status ?? {}, {
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: rfc3339() }],
    });
    this.#store('MODIFIED', previous, pod);
    return copy(pod);
  }

  addNamespace(name: string): void {
    this.#namespaces.add(name);
  }

  injectFault(fault: Fault): void {
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  reset(): void {
    this.#pods.clear();
    this.requests.length = 0;
    this.#faults.length = 0;
    this.#endWatches();
    this.#history = [];
    this.#historyFloor = this.#resourceVersion;
    this.#namespaces.clear();
    for (const namespace of this.#initialNamespaces) this.#namespaces.add(namespace);
  }

  async writeKubeconfig(dir: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'kubeconfig');
    const name = 'kube-api-test';
    const q = JSON.stringify; // a JSON string is a YAML double-quoted scalar
    const yaml = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: ${name}`,
      '  cluster:',
      `    server: ${q(this.url)}`,
      `    certificate-authority-data: ${q(Buffer.from(this.caPem).toString('base64'))}`,
      'users:',
      `- name: ${name}`,
      '  user:',
      `    token: ${q(this.token)}`,
      'contexts:',
      `- name: ${name}`,
      '  context:',
      `    cluster: ${name}`,
      `    user: ${name}`,
      `    namespace: ${q(this.#initialNamespaces[0] ?? 'default')}`,
      `current-context: ${name}`,
      '',
    ].join('\n');
    await writeFile(file, yaml, { mode: 0o600 });
    return file;
  }

  async writeServiceAccountDir(dir: string, namespace: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    // As the kubelet mounts them: no trailing newlines.
    await Promise.all([
      writeFile(join(dir, 'token'), this.token, { mode: 0o600 }),
      writeFile(join(dir, 'ca.crt'), this.caPem),
      writeFile(join(dir, 'namespace'), namespace),
    ]);
  }

  // -------------------------------------------------------------------------------------------
  // Store and watch

  #sortedPods(): StoredPod[] {
    return [...this.#pods.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, p]) => p);
  }

  #existing(namespace: string, name: string): StoredPod {
    const pod = this.#pods.get(key(namespace, name));
    if (pod === undefined) throw new Error(`pods "${name}" not found in namespace "${namespace}"`);
    return pod;
  }

  /** Records a change with a new resourceVersion and tells the watchers. */
  #store(type: EventType, previous: StoredPod | undefined, current: StoredPod): void {
    this.#resourceVersion += 1;
    const metadata = current.metadata ?? {};
    metadata.resourceVersion = String(this.#resourceVersion);
    current.metadata = metadata;
    const name = metadata.name ?? '';
    const namespace = metadata.namespace ?? '';
    if (type !== 'DELETED') this.#pods.set(key(namespace, name), current);
    const event: StoreEvent = {
      resourceVersion: this.#resourceVersion,
      type,
      previous: previous === undefined ? undefined : copy(previous),
      current: copy(current),
    };
    this.#history.push(event);
    if (this.#history.length > HISTORY_LIMIT) {
      const dropped = this.#history.shift();
      if (dropped !== undefined) this.#historyFloor = dropped.resourceVersion;
    }
    for (const watcher of this.#watchers) this.#deliver(watcher, event);
    for (const listener of this.#listeners) listener(type, copy(current));
  }

  #deliver(watcher: Watcher, event: StoreEvent): void {
    const seen = watchEvent(watcher.matches, event);
    if (seen !== undefined) writeWatchEvent(watcher.res, seen.type, seen.object);
  }

  #endWatches(): void {
    for (const watcher of this.#watchers) {
      clearTimeout(watcher.timer);
      watcher.res.end();
    }
    this.#watchers.clear();
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => {}); // the client went away; nothing to do
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', this.url);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      verb: '',
      status: 0,
      userAgent: req.headers['user-agent'] ?? '',
    };
    this.requests.push(record);
    const info = requestInfo(method, url.pathname, url.searchParams);
    record.verb = info.kind === 'resource' ? info.attributes.verb : info.verb;

    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === 'aborted') return;
    const exchange: Exchange = {
      req,
      res,
      url,
      record,
      info,
      body: body === 'too large' ? Buffer.alloc(0) : body,
    };
    const reply =
      body === 'too large'
        ? statusReply(requestEntityTooLarge(MAX_BODY_BYTES))
        : await this.#answer(exchange);
    if (reply !== undefined) this.#send(exchange, reply);
  }

  /** The reply to a request, or undefined when it is already taken care of (watch, dropped). */
  async #answer(exchange: Exchange): Promise<Reply | undefined> {
    const { req, info } = exchange;
    const fault = this.#takeFault(req.method ?? 'GET', exchange.url.pathname);
    if (fault !== undefined) {
      const faulted = await this.#applyFault(exchange, fault);
      if (faulted !== 'continue') return faulted;
    }
    if (!this.#authenticated(req)) return statusReply(unauthorized());
    if (info.kind === 'resource' && !this.#authorize({ ...info.attributes })) {
      return statusReply(forbidden(this.#user, info.attributes));
    }
    return this.#route(exchange);
  }

  #authenticated(req: IncomingMessage): boolean {
    const match = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    return match?.[1] === this.token;
  }

  #takeFault(method: string, path: string): Fault | undefined {
    const index = this.#faults.findIndex(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined ||
          (typeof f.path === 'string' ? f.path === path : f.path.test(path))),
    );
    if (index === -1) return undefined;
    const fault = this.#faults[index];
    if (fault === undefined) return undefined;
    const times = (fault.times ?? 1) - 1;
    if (times <= 0) this.#faults.splice(index, 1);
    else fault.times = times;
    return fault;
  }

  /** The fault's answer; undefined when nothing is to be sent; 'continue' to handle normally. */
  async #applyFault(exchange: Exchange, fault: Fault): Promise<Reply | undefined | 'continue'> {
    const { req, res } = exchange;
    if (fault.delayMs !== undefined && fault.delayMs > 0) {
      try {
        await sleep(fault.delayMs, undefined, { signal: this.#closing.signal });
      } catch {
        return undefined; // the server is closing
      }
      if (res.destroyed || req.socket.destroyed) return undefined; // the client gave up
    }
    if (fault.drop) {
      req.socket.destroy();
      return undefined;
    }
    const attrs = exchange.info.kind === 'resource' ? exchange.info.attributes : undefined;
    if (fault.race && attrs?.verb === 'create' && attrs.resource === 'pods' && attrs.namespace) {
      const created = this.#createPod(exchange, attrs.namespace, false);
      if (!created.ok) return statusReply(created.status);
      return statusReply(alreadyExists('pods', created.value.metadata?.name ?? ''));
    }
    if (fault.status === undefined) return 'continue';
    const status = this.#faultStatus(fault, exchange);
    const retryAfter = status.details?.retryAfterSeconds;
    return retryAfter === undefined
      ? statusReply(status)
      : statusReply(status, { 'retry-after': String(retryAfter) });
  }

  /** The Status the real server sends with this code; the fault's reason and message win. */
  #faultStatus(fault: Fault, exchange: Exchange): Status {
    const code = fault.status ?? 500;
    const attrs: RequestAttributes =
      exchange.info.kind === 'resource'
        ? exchange.info.attributes
        : { verb: exchange.info.verb, resource: '', apiGroup: '' };
    const name = attrs.name ?? bodyName(exchange.body);
    const retryAfter = fault.retryAfterSeconds;
    const status = ((): Status => {
      switch (code) {
        case 400:
          return badRequest('the server rejected our request for an unknown reason');
        case 401:
          return unauthorized();
        case 403:
          return forbidden(this.#user, attrs);
        case 404:
          return name === '' ? pathNotFound() : notFound(attrs.resource, name);
        case 409:
          return fault.reason === 'Conflict'
            ? conflict(attrs.resource, name, MODIFIED_CONFLICT)
            : alreadyExists(attrs.resource, name);
        case 422:
          return invalid('Pod', name, []);
        case 429:
          return tooManyRequests(undefined, retryAfter ?? 1);
        case 500:
          return internalError();
        case 503:
          return serviceUnavailable();
        case 504:
          return timeout(undefined, retryAfter);
        default:
          return failure(code, 'Unknown', STATUS_CODES[code] ?? 'unknown error');
      }
    })();
    const details =
      retryAfter === undefined
        ? status.details
        : { ...status.details, retryAfterSeconds: retryAfter };
    return failure(
      status.code,
      fault.reason ?? status.reason,
      fault.message ?? status.message,
      details,
    );
  }

  #route(exchange: Exchange): Reply | undefined {
    const { info, req } = exchange;
    const method = req.method ?? 'GET';
    if (info.kind === 'nonResource') return this.#serveNonResource(exchange, method);
    const { attributes: attrs, apiVersion, parts } = info;
    if (apiVersion !== 'v1' || attrs.resource !== 'pods' || parts.length > 3) {
      return statusReply(pathNotFound());
    }
    const namespace = attrs.namespace;
    const name = parts[1];
    if (parts.length === 1) {
      if (method === 'GET' && attrs.verb === 'watch') return this.#watch(exchange, namespace);
      if (method === 'GET') return this.#list(exchange, namespace);
      if (method === 'POST' && namespace !== undefined) return this.#create(exchange, namespace);
      return statusReply(methodNotAllowed());
    }
    if (namespace === undefined || name === undefined) return statusReply(pathNotFound());
    if (parts.length === 3 && parts[2] !== 'status') return statusReply(pathNotFound());
    if (method === 'GET' && attrs.verb === 'watch') return this.#watch(exchange, namespace, name);
    if (method === 'GET') return this.#get(namespace, name);
    if (method === 'DELETE' && parts.length === 2) return this.#delete(exchange, namespace, name);
    return statusReply(methodNotAllowed());
  }

  #serveNonResource(exchange: Exchange, method: string): Reply {
    const path = exchange.url.pathname.replace(/\/+$/, '') || '/';
    const documents: Record<string, () => unknown> = {
      '/api': () => ({
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [
          { clientCIDR: '0.0.0.0/0', serverAddress: `${HOST}:${this.#port}` },
        ],
      }),
      '/api/v1': () => API_RESOURCES,
      '/apis': () => ({ kind: 'APIGroupList', apiVersion: 'v1', groups: [] }),
      '/version': () => VERSION_INFO,
    };
    const document = documents[path];
    const health = ['/healthz', '/livez', '/readyz'].includes(path);
    if (document === undefined && !health) return statusReply(pathNotFound());
    if (method !== 'GET') return statusReply(methodNotAllowed());
    if (document !== undefined) return jsonReply(200, document());
    return { code: 200, text: 'ok' };
  }

  // -------------------------------------------------------------------------------------------
  // Pod handlers

  #get(namespace: string, name: string): Reply {
    const pod = this.#pods.get(key(namespace, name));
    if (pod === undefined) return statusReply(notFound('pods', name));
    return jsonReply(200, pod);
  }

  #list(exchange: Exchange, namespace: string | undefined): Reply {
    const query = exchange.url.searchParams;
    const selected = this.#selector(query, namespace);
    if (!selected.ok) return statusReply(selected.status);
    let items = this.#sortedPods().filter(selected.value);
    const continueToken = query.get('continue');
    if (continueToken) {
      const start = decodeContinue(continueToken);
      if (start === undefined) {
        return statusReply(
          badRequest(
            'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
          ),
        );
      }
      items = items.filter((pod) => podKey(pod) >= start);
    }
    const metadata: Record<string, unknown> = { resourceVersion: String(this.#resourceVersion) };
    const limit = Number(query.get('limit') ?? '0');
    if (Number.isInteger(limit) && limit > 0 && items.length > limit) {
      const last = items[limit - 1];
      if (last !== undefined)
        metadata.continue = encodeContinue(this.#resourceVersion, podKey(last));
      if (!query.get('labelSelector') && !query.get('fieldSelector')) {
        metadata.remainingItemCount = items.length - limit;
      }
      items = items.slice(0, limit);
    }
    return jsonReply(200, {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata,
      // Items of a list carry no kind and apiVersion of their own.
      items: items.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest),
    });
  }

  #selector(query: URLSearchParams, namespace: string | undefined): Outcome<Matcher<StoredPod>> {
    const labels = parseLabelSelector(query.get('labelSelector') ?? '');
    if (!labels.ok) return { ok: false, status: badRequest(labels.message) };
    const fields = parseFieldSelector(query.get('fieldSelector') ?? '');
    if (!fields.ok) return { ok: false, status: badRequest(fields.message) };
    const matchLabels = labels.value;
    const matchFields = fields.value.matches;
    return {
      ok: true,
      value: (pod) =>
        (namespace === undefined || pod.metadata?.namespace === namespace) &&
        matchLabels(pod.metadata?.labels) &&
        matchFields(pod),
    };
  }

  #watch(exchange: Exchange, namespace: string | undefined, name?: string): Reply | undefined {
    const query = exchange.url.searchParams;
    const selected = this.#selector(query, namespace);
    if (!selected.ok) return statusReply(selected.status);
    const selector = selected.value;
    const matches: Matcher<StoredPod> =
      name === undefined ? selector : (pod) => pod.metadata?.name === name && selector(pod);
    const resourceVersion = query.get('resourceVersion') ?? '';
    if (resourceVersion !== '' && !/^\d+$/.test(resourceVersion)) {
      return statusReply(
        badRequest(`invalid resource version: ${JSON.stringify(resourceVersion)}`),
      );
    }
    const from = Number(resourceVersion || '0');
    const { res, record } = exchange;
    record.status = 200;
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-cache, private',
      'audit-id': randomUUID(),
    });
    res.flushHeaders();
    if (from > 0 && from < this.#historyFloor) {
      const status = expired(`too old resource version: ${from} (${this.#historyFloor + 1})`);
      writeWatchEvent(res, 'ERROR', status);
      res.end();
      return undefined;
    }
    if (from === 0) {
      // No resource version, or "0": the current state first, as synthetic ADDED events.
      for (const pod of this.#sortedPods()) {
        if (matches(pod)) writeWatchEvent(res, 'ADDED', pod);
      }
    } else {
      for (const event of this.#history) {
        if (event.resourceVersion <= from) continue;
        const seen = watchEvent(matches, event);
        if (seen !== undefined) writeWatchEvent(res, seen.type, seen.object);
      }
    }
    const watcher: Watcher = { matches, res };
    this.#watchers.add(watcher);
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? '0');
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      watcher.timer = setTimeout(() => {
        this.#watchers.delete(watcher);
        res.end();
      }, timeoutSeconds * 1000);
    }
    res.once('close', () => {
      clearTimeout(watcher.timer);
      this.#watchers.delete(watcher);
    });
    return undefined; // streaming
  }

  #create(exchange: Exchange, namespace: string): Reply {
    const dryRun = exchange.url.searchParams.getAll('dryRun');
    if (dryRun.some((value) => value !== 'All')) {
      return statusReply(
        badRequest(
          `dryRun: Unsupported value: ${JSON.stringify(dryRun.find((v) => v !== 'All'))}: supported values: "All"`,
        ),
      );
    }
    const created = this.#createPod(exchange, namespace, dryRun.length > 0);
    if (!created.ok) return statusReply(created.status);
    return jsonReply(201, created.value);
  }

  /** The create pipeline: decode, admit, validate, store (unless a dry run). */
  #createPod(exchange: Exchange, namespace: string, dryRun: boolean): Outcome<StoredPod> {
    const contentType = (exchange.req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    if (contentType !== 'application/json') {
      return { ok: false, status: unsupportedMediaType(contentType) };
    }
    let body: unknown;
    try {
      body = JSON.parse(exchange.body.toString('utf8'));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        status: badRequest(`couldn't get version/kind; json parse error: ${reason}`),
      };
    }
    if (!isObject(body)) {
      return {
        ok: false,
        status: badRequest(
          `couldn't get version/kind; json parse error: json: cannot unmarshal ${goJsonType(body)} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`,
        ),
      };
    }
    const prepared = this.#prepareCreate(body, namespace);
    if (!prepared.ok) return prepared;
    const pod = prepared.value;
    if (!dryRun) this.#store('ADDED', undefined, pod);
    return { ok: true, value: copy(pod) };
  }

  /** Everything create does short of storing: the returned pod is complete but for resourceVersion. */
  #prepareCreate(body: Record<string, unknown>, namespace: string): Outcome<StoredPod> {
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
    if (!this.#namespaces.has(namespace)) return fail(notFound('namespaces', namespace));

    applyPodDefaults(pod);
    admitPod(pod);
    // Mutating webhooks run after the built-in mutating admission, before validation, and what
    // they patch in is defaulted again
    // (staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/mutating/dispatcher.go).
    if (this.#mutate) {
      this.#mutate(pod);
      applyPodDefaults(pod);
    }
    metadata.namespace = namespace;
    if (!metadata.name && metadata.generateName) {
      let name = generateName(metadata.generateName);
      for (let i = 0; i < 10 && this.#pods.has(key(namespace, name)); i++) {
        name = generateName(metadata.generateName);
      }
      metadata.name = name;
    }
    const errors = validatePodCreate(pod);
    if (errors.length > 0) return fail(invalid('Pod', metadata.name ?? '', errors));
    const name = metadata.name ?? '';
    if (this.#pods.has(key(namespace, name))) return fail(alreadyExists('pods', name));

    metadata.uid = randomUUID();
    metadata.creationTimestamp = rfc3339();
    delete metadata.resourceVersion;
    delete metadata.deletionTimestamp;
    delete metadata.deletionGracePeriodSeconds;
    delete metadata.selfLink;
    delete metadata.generation;
    pod.status = { phase: 'Pending', qosClass: pod.spec ? podQosClass(pod.spec) : 'BestEffort' };
    return { ok: true, value: pod };
  }

  #delete(exchange: Exchange, namespace: string, name: string): Reply {
    const pod = this.#pods.get(key(namespace, name));
    if (pod === undefined) return statusReply(notFound('pods', name));
    let options: Record<string, unknown> = {};
    if (exchange.body.length > 0) {
      try {
        const parsed: unknown = JSON.parse(exchange.body.toString('utf8'));
        if (isObject(parsed)) options = parsed;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        return statusReply(badRequest(`couldn't get version/kind; json parse error: ${reason}`));
      }
    }
    const preconditions = isObject(options.preconditions) ? options.preconditions : {};
    const uid = pod.metadata?.uid ?? '';
    const resourceVersion = pod.metadata?.resourceVersion ?? '';
    if (typeof preconditions.uid === 'string' && preconditions.uid !== uid) {
      return statusReply(
        conflict(
          'pods',
          name,
          `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${uid}`,
        ),
      );
    }
    if (
      typeof preconditions.resourceVersion === 'string' &&
      preconditions.resourceVersion !== resourceVersion
    ) {
      return statusReply(
        conflict(
          'pods',
          name,
          `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${resourceVersion}`,
        ),
      );
    }
    const deleted = copy(pod);
    const queryGrace = exchange.url.searchParams.get('gracePeriodSeconds');
    const grace =
      queryGrace !== null
        ? Number(queryGrace)
        : typeof options.gracePeriodSeconds === 'number'
          ? options.gracePeriodSeconds
          : (pod.spec?.terminationGracePeriodSeconds ?? 30);
    // A pod on a node is deleted gracefully: the answer shows when the kubelet will be done.
    if (pod.spec?.nodeName && grace > 0) {
      const metadata = deleted.metadata ?? {};
      metadata.deletionTimestamp = rfc3339(new Date(Date.now() + grace * 1000));
      metadata.deletionGracePeriodSeconds = grace;
      deleted.metadata = metadata;
    }
    if (exchange.url.searchParams.getAll('dryRun').includes('All')) {
      return jsonReply(200, deleted);
    }
    this.#pods.delete(key(namespace, name));
    this.#store('DELETED', pod, deleted);
    return jsonReply(200, deleted);
  }

  // -------------------------------------------------------------------------------------------
  // Responses

  #send(exchange: Exchange, reply: Reply): void {
    const { res, record } = exchange;
    if (res.headersSent || res.destroyed) return;
    record.status = reply.code;
    const text = reply.text ?? JSON.stringify(reply.body);
    res.writeHead(reply.code, {
      'content-type': reply.text === undefined ? 'application/json' : 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(text)),
      'cache-control': 'no-cache, private',
      'audit-id': randomUUID(),
      ...reply.headers,
    });
    res.end(text);
  }
}

// ---------------------------------------------------------------------------------------------
// Small pure helpers

/** An answer: a JSON body, or plain text for the health endpoints. */
interface Reply {
  readonly code: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly headers?: Record<string, string>;
}

function jsonReply(code: number, body: unknown): Reply {
  return { code, body };
}

function statusReply(status: Status, headers?: Record<string, string>): Reply {
  return headers === undefined
    ? { code: status.code, body: status }
    : { code: status.code, body: status, headers };
}

const API_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'v1',
  resources: [
    {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'get', 'list', 'watch'],
      shortNames: ['po'],
      categories: ['all'],
    },
    { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
  ],
};

async function readBody(
  req: IncomingMessage,
  limit: number,
): Promise<Buffer | 'too large' | 'aborted'> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
      size += buffer.length;
      if (size > limit) return 'too large';
      chunks.push(buffer);
    }
  } catch {
    return 'aborted';
  }
  return Buffer.concat(chunks);
}

function nameIn(body: Record<string, unknown>): string {
  const metadata = body.metadata;
  return isObject(metadata) && typeof metadata.name === 'string' ? metadata.name : '';
}

function bodyName(body: Buffer): string {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return isObject(parsed) ? nameIn(parsed) : '';
  } catch {
    return '';
  }
}

function podKey(pod: StoredPod): string {
  return key(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '');
}

function encodeContinue(resourceVersion: number, lastKey: string): string {
  const token = { v: 'meta.k8s.io/v1', rv: resourceVersion, start: `${lastKey}\u0000` };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(token: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    return isObject(parsed) && typeof parsed.start === 'string' ? parsed.start : undefined;
  } catch {
    return undefined;
  }
}

/** What one watcher sees of a change: objects entering or leaving its selection are ADDED or DELETED. */
function watchEvent(
  matches: Matcher<StoredPod>,
  event: StoreEvent,
): { type: EventType; object: StoredPod } | undefined {
  const now = matches(event.current);
  const before = event.previous !== undefined && matches(event.previous);
  switch (event.type) {
    case 'ADDED':
      return now ? { type: 'ADDED', object: event.current } : undefined;
    case 'DELETED':
      return now || before ? { type: 'DELETED', object: event.current } : undefined;
    case 'MODIFIED':
      if (now && before) return { type: 'MODIFIED', object: event.current };
      if (now) return { type: 'ADDED', object: event.current };
      if (before) return { type: 'DELETED', object: event.current };
      return undefined;
  }
}

function writeWatchEvent(res: ServerResponse, type: EventType | 'ERROR', object: unknown): void {
  if (res.writableEnded || res.destroyed) return;
  res.write(`${JSON.stringify({ type, object })}\n`);
}

/** A status update: conditions replace those of the same type, other fields replace. */
function mergePodStatus(current: PodStatus, update: PodStatus): PodStatus {
  const merged: PodStatus = { ...current, ...update };
  if (update.conditions !== undefined) {
    const conditions = [...(current.conditions ?? [])];
    for (const condition of update.conditions) {
      const index = conditions.findIndex((c) => c.type === condition.type);
      if (index === -1) conditions.push(condition);
      else conditions[index] = { ...conditions[index], ...condition };
    }
    merged.conditions = conditions;
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// CLI: a server for a local sandbox

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      namespace: { type: 'string', multiple: true },
      'kubeconfig-dir': { type: 'string' },
      token: { type: 'string' },
    },
  });
  const port = Number(values.port ?? process.env.KUBE_API_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port: ${port}`);
  const options: KubeApiServerOptions = { port };
  if (values.namespace !== undefined && values.namespace.length > 0)
    options.namespaces = values.namespace;
  if (values.token !== undefined) options.token = values.token;
  const server = await startKubeApiServer(options);
  const ownDir = values['kubeconfig-dir'] === undefined;
  const dir = values['kubeconfig-dir'] ?? (await mkdtemp(join(tmpdir(), 'kube-api-')));
  const kubeconfig = await server.writeKubeconfig(dir);
  process.stdout.write(`${JSON.stringify({ url: server.url, kubeconfig })}\n`);
  const stop = async () => {
    await server.close();
    if (ownDir) await rm(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
