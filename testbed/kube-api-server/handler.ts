// The request path of the API test server: faults first (when a test injected one), then
// authentication and authorization (staging/src/k8s.io/apiserver/pkg/server/config.go
// DefaultBuildHandlerChain: authentication, then authorization, then the handlers), then the
// pod handlers: create through admission (create.ts), get, list, watch, delete (store.ts),
// and the Events of both APIs (events.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { answerAccessReview, isAccessReview } from './access-review.ts';
import type { Cluster } from './admission.ts';
import { ANONYMOUS, type Authenticator } from './auth.ts';
import { answerClusterRead } from './cluster-reads.ts';
import { bodyName, decodeBody, prepareCreate } from './create.ts';
import { EVENTS_API_GROUP, EVENTS_API_RESOURCES, type EventStore } from './events.ts';
import { type Fault, type FaultQueue, faultReply } from './faults.ts';
import {
  API_RESOURCES,
  copy,
  jsonReply,
  PUBLIC_PATHS,
  type Reply,
  readBody,
  sendReply,
  statusReply,
  VERSION_INFO,
} from './http.ts';
import { type RequestAttributes, type RequestInfo, requestInfo } from './routing.ts';
import {
  alreadyExists,
  badRequest,
  failure,
  forbidden,
  methodNotAllowed,
  notFound,
  pathNotFound,
  requestEntityTooLarge,
  unauthorized,
} from './status.ts';
import type { Outcome, PodStore, StoredPod } from './store.ts';
import { tableIfAsked } from './table.ts';
import type { RecordedRequest } from './types.ts';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** What the handler works on: the server's parts. */
export interface HandlerParts {
  readonly auth: Authenticator;
  readonly cluster: Cluster;
  readonly store: PodStore;
  readonly events: EventStore;
  readonly faults: FaultQueue;
  readonly authorize: (attrs: RequestAttributes, user: string) => boolean;
  /** The user an injected 403 names. */
  readonly user: string;
  readonly requests: RecordedRequest[];
  readonly closing: AbortSignal;
  readonly url: () => string;
  readonly port: () => number;
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly record: RecordedRequest;
  readonly info: RequestInfo;
  readonly body: Buffer;
}

export class RequestHandler {
  readonly #parts: HandlerParts;

  constructor(parts: HandlerParts) {
    this.#parts = parts;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.on('error', () => {}); // the client went away; nothing to do
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', this.#parts.url());
    const info = requestInfo(method, url.pathname, url.searchParams);
    const record: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      verb: info.kind === 'resource' ? info.attributes.verb : info.verb,
      status: 0,
      userAgent: req.headers['user-agent'] ?? '',
      user: '',
      credential: '',
    };
    this.#parts.requests.push(record);
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
    if (reply !== undefined) record.status = sendReply(res, reply) || record.status;
  }

  /** The reply to a request, or undefined when it is already taken care of (watch, dropped). */
  async #answer(exchange: Exchange): Promise<Reply | undefined> {
    const { req, info, record } = exchange;
    const fault = this.#parts.faults.take(req.method ?? 'GET', exchange.url.pathname);
    if (fault !== undefined) {
      const faulted = await this.#applyFault(exchange, fault);
      if (faulted !== 'continue') return faulted;
    }
    const identity = this.#parts.auth.authenticate(req);
    if (identity === 'unauthorized') return statusReply(unauthorized());
    record.user = identity.user;
    record.credential = identity.credential;
    // Every authenticated user may ask what it may do: see access-review.ts.
    if (identity.user !== ANONYMOUS && isAccessReview(req.method ?? 'GET', exchange.url.pathname)) {
      const user = identity.user;
      return answerAccessReview(exchange.body, (attrs) => this.#parts.authorize(attrs, user));
    }
    // staging/src/k8s.io/apiserver/pkg/endpoints/filters/authorization.go; anonymous gets only
    // what system:public-info-viewer grants (plugin/pkg/auth/authorizer/rbac/bootstrappolicy).
    if (info.kind === 'nonResource') {
      if (identity.user === ANONYMOUS && !PUBLIC_PATHS.has(info.path)) {
        return statusReply(
          failure(
            403,
            'Forbidden',
            `forbidden: User "${ANONYMOUS}" cannot ${info.verb} path "${info.path}"`,
            {},
          ),
        );
      }
    } else if (
      identity.user === ANONYMOUS ||
      !this.#parts.authorize({ ...info.attributes }, identity.user)
    ) {
      return statusReply(forbidden(identity.user, info.attributes));
    }
    const reply = this.#route(exchange);
    if (fault?.dropAfterHandling) {
      exchange.req.socket.destroy();
      return undefined;
    }
    return reply;
  }

  /** The fault's answer; undefined when nothing is to be sent; 'continue' to handle normally. */
  async #applyFault(exchange: Exchange, fault: Fault): Promise<Reply | undefined | 'continue'> {
    const { req, res, info } = exchange;
    if (fault.delayMs !== undefined && fault.delayMs > 0) {
      try {
        await sleep(fault.delayMs, undefined, { signal: this.#parts.closing });
      } catch {
        return undefined; // the server is closing
      }
      if (res.destroyed || req.socket.destroyed) return undefined; // the client gave up
    }
    if (fault.drop) {
      req.socket.destroy();
      return undefined;
    }
    if (fault.dropAfterHandling) return 'continue';
    const attrs: RequestAttributes =
      info.kind === 'resource' ? info.attributes : { verb: info.verb, resource: '', apiGroup: '' };
    if (fault.race && attrs.verb === 'create' && attrs.resource === 'pods' && attrs.namespace) {
      const created = this.#createPod(exchange, attrs.namespace, false);
      if (!created.ok) return statusReply(created.status);
      return statusReply(alreadyExists('pods', created.value.metadata?.name ?? ''));
    }
    if (fault.status === undefined) return 'continue';
    return faultReply(fault, attrs, attrs.name ?? bodyName(exchange.body), this.#parts.user);
  }

  #route(exchange: Exchange): Reply | undefined {
    const { info, req, url, res } = exchange;
    const method = req.method ?? 'GET';
    if (info.kind === 'nonResource') return this.#serveNonResource(url.pathname, method);
    const { attributes: attrs, apiVersion, parts } = info;
    const contentType = req.headers['content-type'] ?? '';
    const events = this.#parts.events.answer(
      method,
      info,
      url.searchParams,
      contentType,
      exchange.body,
    );
    if (events !== undefined) return events;
    const clusterRead = answerClusterRead(method, info, this.#parts.cluster.namespaceNames());
    if (clusterRead !== undefined) return clusterRead;
    if (apiVersion !== 'v1' || attrs.resource !== 'pods' || parts.length > 3) {
      return statusReply(pathNotFound());
    }
    const query = url.searchParams;
    const { namespace } = attrs;
    const name = parts[1];
    const watch = method === 'GET' && attrs.verb === 'watch';
    if (parts.length === 1) {
      if (watch) return this.#watch(exchange, this.#parts.store.watch(query, res, namespace));
      if (method === 'GET') return tableIfAsked(req, this.#parts.store.list(query, namespace));
      if (method === 'POST' && namespace !== undefined) return this.#create(exchange, namespace);
      return statusReply(methodNotAllowed());
    }
    if (namespace === undefined || name === undefined) return statusReply(pathNotFound());
    if (parts.length === 3 && parts[2] !== 'status') return statusReply(pathNotFound());
    if (watch) return this.#watch(exchange, this.#parts.store.watch(query, res, namespace, name));
    if (method === 'GET') {
      const pod = this.#parts.store.get(namespace, name);
      if (pod === undefined) return statusReply(notFound('pods', name));
      return tableIfAsked(req, jsonReply(200, pod));
    }
    if (method === 'DELETE' && parts.length === 2) {
      return this.#parts.store.deleteRequest(namespace, name, query, exchange.body);
    }
    return statusReply(methodNotAllowed());
  }

  #watch(exchange: Exchange, started: Reply | 'streaming'): Reply | undefined {
    if (started !== 'streaming') return started;
    exchange.record.status = 200;
    return undefined;
  }

  #serveNonResource(pathname: string, method: string): Reply {
    const path = pathname.replace(/\/+$/, '') || '/';
    const documents: Record<string, () => unknown> = {
      '/api': () => ({
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [
          { clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${this.#parts.port()}` },
        ],
      }),
      '/api/v1': () => API_RESOURCES,
      '/apis': () => ({ kind: 'APIGroupList', apiVersion: 'v1', groups: [EVENTS_API_GROUP] }),
      '/apis/events.k8s.io': () => ({ kind: 'APIGroup', apiVersion: 'v1', ...EVENTS_API_GROUP }),
      '/apis/events.k8s.io/v1': () => EVENTS_API_RESOURCES,
      '/version': () => VERSION_INFO,
    };
    const document = documents[path];
    const health = ['/healthz', '/livez', '/readyz'].includes(path);
    if (document === undefined && !health) return statusReply(pathNotFound());
    if (method !== 'GET') return statusReply(methodNotAllowed());
    if (document !== undefined) return jsonReply(200, document());
    return { code: 200, text: 'ok' };
  }

  #create(exchange: Exchange, namespace: string): Reply {
    const dryRun = exchange.url.searchParams.getAll('dryRun');
    const unsupported = dryRun.find((value) => value !== 'All');
    if (unsupported !== undefined) {
      return statusReply(
        badRequest(
          `dryRun: Unsupported value: ${JSON.stringify(unsupported)}: supported values: "All"`,
        ),
      );
    }
    const created = this.#createPod(exchange, namespace, dryRun.length > 0);
    if (!created.ok) return statusReply(created.status);
    return jsonReply(201, created.value);
  }

  #createPod(exchange: Exchange, namespace: string, dryRun: boolean): Outcome<StoredPod> {
    const decoded = decodeBody(exchange.req.headers['content-type'] ?? '', exchange.body);
    if (!decoded.ok) return decoded;
    const prepared = prepareCreate(
      decoded.value,
      namespace,
      this.#parts.cluster,
      this.#parts.store,
    );
    if (!prepared.ok) return prepared;
    if (!dryRun) this.#parts.store.store('ADDED', undefined, prepared.value);
    return { ok: true, value: copy(prepared.value) };
  }
}
