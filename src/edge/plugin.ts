// The function's edge: one Fastify plugin on faas-js-runtime's server, which the runtime does not
// expose to the function. It is reached through Fastify's documented `fastify.initialization`
// diagnostics channel, which publishes each instance as it is made (after `init`, before any
// route or listen). The plugin is applied there at once, not through `register`: its onRequest
// hook must run before the runtime's own, and `register` would load it after them.
//
// - What reaches the function: a target that is the route's path exactly, no browser page (no
//   Origin), no repeated ce-* header, the bearer token with OIDC_AUDIENCE; a 404/405 of our own
//   for the paths and methods not served.
// - Every request the runtime or the plugin answers by itself gets one log line and one count, as
//   the handler's do, and the producer gets the same one line, in the function's answer shape.
// - How the server lets go: request timeouts, and at shutdown `stopAccepting`.
import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { headerAttributes } from '../events/validation-errors.ts';
import { REASON } from '../formats/reasons.ts';
import { type RequestLogger, reportRequest } from '../observability/event-log.ts';
import { type ListenAddress, listeningLine } from './listen-address.ts';
import {
  describeRuntimeError,
  type Refusal,
  refusalOf,
  repeatedEventHeaders,
  STATUS_REASONS,
  unmatched,
  unparsedReason,
} from './request-refusals.ts';
import type { EdgeReply, EdgeRequest, RuntimeServer } from './runtime-server.ts';
import type { TokenVerdict, TokenVerifier } from './token-verifier.ts';

/**
 * The HTTP server's variables the manifests set, beside src/config/config.ts CONFIG_VARIABLES:
 * faas-js-runtime's body limit, and where to listen (func.yaml's run.envs are all `func run`
 * sets in its container, which is not a cluster: src/edge/listen-address.ts).
 */
export const RUNTIME_VARIABLES = ['FUNC_BODY_LIMIT', 'LISTEN_HOST'] as const;

/** A `pending` event is a few hundred bytes; the runtime's own default is 1 MiB. */
export const DEFAULT_BODY_LIMIT = 64 * 1024;
/** A request whose head and body have not all arrived by then gets 408, as queue-proxy does. */
export const REQUEST_TIMEOUT_MS = 5000;
/** How often Node looks for requests past REQUEST_TIMEOUT_MS (its default is every 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 500;
/** Once no longer accepting, how long a connection answered before has to send its next request. */
const LINGER_MS = 200;
/** After the drain, how long answers already written may take to leave before the exit. */
const CLOSE_WAIT_MS = 2000;
/** The CORS headers the runtime's own OPTIONS answer carries (`*`): none goes out. */
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
];

export interface EdgeOptions {
  /** FUNC_BODY_LIMIT as the runtime reads it: when set, the runtime's limit stands. */
  readonly runtimeBodyLimit: string | undefined;
  /** With OIDC_AUDIENCE: the bearer token every request to the function's route must bring. */
  readonly tokens?: TokenVerifier | undefined;
  /** Where to listen, instead of the runtime's `::` (src/edge/listen-address.ts). */
  readonly listenAddress: ListenAddress;
  /** The runtime's health paths (READINESS_URL, LIVENESS_URL), logged at `warn` only. */
  readonly probePaths: readonly string[];
  /** Where the line saying where it listens goes. */
  readonly print: (line: string) => void;
}

/**
 * Marks left on the objects themselves rather than WeakSet or WeakMap entries per request, which
 * the garbage collector must treat as ephemerons and clears only in a full collection: the
 * contexts `handle` was called with (it logs and counts their requests), whether a request is to
 * a function route, and why the runtime or the plugin refused it.
 */
const HANDLED = Symbol('podgateway.handled');
const FUNCTION_ROUTE = Symbol('podgateway.functionRoute');
const REFUSED = Symbol('podgateway.refused');

interface Refused {
  readonly message: string;
  /** When the status alone does not say it (a 503 of the token check, a 405). */
  readonly reason?: string | undefined;
}

/** Called by `handle`: the handler reports this request itself. */
export function markHandled(context: object): void {
  Reflect.set(context, HANDLED, true);
}

function isHandled(context: object | undefined): boolean {
  return context !== undefined && Reflect.get(context, HANDLED) === true;
}

function refusedOf(request: EdgeRequest): Refused | undefined {
  return Reflect.get(request, REFUSED) as Refused | undefined;
}

function noteRefusal(request: EdgeRequest, refused: Refused): void {
  Reflect.set(request, REFUSED, refused);
}

/** The plugin of one function: applied to its server once, and stopped at its shutdown. */
export class EdgePlugin {
  readonly #options: EdgeOptions;
  #server: Server | undefined;
  #closing = false;

  constructor(options: EdgeOptions) {
    this.#options = options;
  }

  apply(fastify: RuntimeServer): void {
    this.#server = fastify.server;
    // Fastify turns Node's request timeout off; a body that stalls would hold a socket for ever.
    Object.assign(fastify.server, {
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    });
    this.#listenWhereChosen(fastify);
    this.#reportUnparsed(fastify);
    this.#watchRoutes(fastify);
    // Callback hooks, not async ones, where nothing is awaited: the runtime's async route
    // handler sends without returning the reply, and Fastify sends again when the handler's
    // promise settles before the answer is written (as an async hook's extra turns can make it).
    fastify.addHook('onError', (request, _reply, error, done) => {
      if (refusedOf(request) === undefined) {
        const contentType = String(request.headers['content-type'] ?? '');
        noteRefusal(request, { message: describeRuntimeError(contentType, error) });
      }
      done();
    });
    fastify.addHook('onSend', (request, reply, payload, done) => {
      done(null, this.#onSend(request, reply, payload));
    });
    fastify.addHook('onResponse', (request, reply, done) => {
      const unrouted = request.routeOptions?.url === undefined;
      if (unrouted || (isFunctionRoute(request) && !isHandled(request.fcontext))) {
        reportRuntimeAnswer(request, reply);
      }
      done();
    });
  }

  #listenWhereChosen(fastify: RuntimeServer): void {
    const { listenAddress, print } = this.#options;
    const listen = fastify.listen.bind(fastify);
    fastify.listen = async (listenOptions) => {
      const url = await listen({ ...listenOptions, host: listenAddress.host });
      const address = fastify.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      print(`podgateway client provisioner: ${listeningLine(listenAddress, port)}`);
      return url;
    };
  }

  /**
   * A request Node's HTTP parser refuses (a bad header line, framing, headers over the limit) or
   * that does not arrive in time gets its 400, 431 or 408 from Fastify's clientError handler,
   * with no request to hook.
   */
  #reportUnparsed(fastify: RuntimeServer): void {
    fastify.server.on('clientError', (error) => {
      const code = 'code' in error ? String(error.code) : '';
      if (code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        reportUnparsedRequest(fastify.log, code, error.message);
      }
    });
  }

  /** Route options, and the routes' methods for the onRequest hook's 405. */
  #watchRoutes(fastify: RuntimeServer): void {
    const { probePaths, runtimeBodyLimit } = this.#options;
    const defaultBodyLimit = runtimeBodyLimit === undefined || runtimeBodyLimit === '';
    // The methods of each path: the routes are all added before the first request.
    const methodsByPath = new Map<string, Set<string>>();
    fastify.addHook('onRoute', (route) => {
      // The runtime gives its health routes the log level `logLevel || 'warn'` of its whole
      // configuration: at FUNC_LOG_LEVEL=info every probe of the kubelet was two lines.
      if (probePaths.includes(route.url)) route.logLevel = 'warn';
      if (defaultBodyLimit) route.bodyLimit ??= DEFAULT_BODY_LIMIT;
      const methods = methodsByPath.get(route.url) ?? new Set<string>();
      for (const method of [route.method].flat()) methods.add(method);
      methodsByPath.set(route.url, methods);
    });
    fastify.addHook('onRequest', (request, reply) =>
      this.#onRequest(request, reply, methodsByPath),
    );
  }

  async #onRequest(
    request: EdgeRequest,
    reply: EdgeReply,
    methodsByPath: ReadonlyMap<string, ReadonlySet<string>>,
  ): Promise<unknown> {
    // The runtime's metrics start a timer in a preHandler hook and stop it in onResponse; a
    // request refused before preHandler (a body that does not parse) has none, and its
    // onResponse fails with "req.execTimer is not a function", logged at error level. Its
    // preHandler replaces this one when it runs.
    if (typeof request.execTimer !== 'function') request.execTimer = () => {};
    const routeUrl = request.routeOptions?.url;
    const { headers, raw } = request;
    if (routeUrl === undefined) {
      // No route matched: Fastify's default 404 would go out unlogged and uncounted.
      return refuse(request, reply, unmatched(request.method, raw.url ?? '', methodsByPath));
    }
    const repeated = isFunctionRoute(request) ? repeatedEventHeaders(raw.rawHeaders) : [];
    if (repeated.length > 0) {
      const message = `${repeated.join(', ')} ${repeated.length === 1 ? 'is' : 'are'} sent more than once: each CloudEvents attribute is one header with one value`;
      return refuse(request, reply, { status: 400, error: REASON.BadRequest, message });
    }
    const refusal = refusalOf({ headers, raw, routeUrl });
    if (refusal) return refuse(request, reply, refusal);
    const { tokens } = this.#options;
    // The event routes only: health, metrics and the CORS preflight stay open.
    if (tokens === undefined || routeUrl !== '/' || request.method === 'OPTIONS') return undefined;
    const verdict = await tokens.verify(headers.authorization);
    if (verdict.ok) return undefined;
    refuseToken(request, reply, verdict);
    return reply;
  }

  #onSend(request: EdgeRequest, reply: EdgeReply, payload: unknown): unknown {
    // No longer accepting: the answer closes its connection, and the client's next connection
    // is refused. Decided as the answer leaves, so none written after the close keeps it alive.
    if (this.#closing) reply.header('connection', 'close');
    for (const name of CORS_HEADERS) reply.removeHeader(name);
    // The runtime's own 4xx answers carry Fastify's words ("Unexpected token } in JSON at …"):
    // the producer gets the same one line the log gets, in the function's own answer shape.
    const refused = refusedOf(request);
    const status = reply.statusCode;
    if (refused === undefined || status < 400 || status >= 500 || !isFunctionRoute(request)) {
      return payload;
    }
    reply.header('content-type', 'application/json; charset=utf-8');
    const error = refused.reason ?? STATUS_REASONS[status] ?? REASON.BadRequest;
    return JSON.stringify({ error, message: refused.message });
  }

  /**
   * The drain is over: stop accepting connections, and only then have every answer close its
   * connection, so that a client's next connection is refused, not reset. Closing the listening
   * socket resets the connections the kernel completed but Node has not accepted yet; while
   * answers keep their connections alive there are none, but answers that closed them before
   * (during the drain) would make every client reconnect at once into that queue. Then the idle
   * connections are closed and the answers being written get CLOSE_WAIT_MS at most to leave.
   * Only the listening socket is closed at first: http's own `close` would also close the idle
   * connections at once, among them ones whose next request is already on its way.
   */
  async stopAccepting(): Promise<void> {
    const server = this.#server;
    if (!server?.listening) return;
    const closed = new Promise<void>((resolve) => {
      NetServer.prototype.close.call(server, () => resolve());
    });
    this.#closing = true;
    await Promise.race([closed, sleep(LINGER_MS)]);
    server.closeIdleConnections();
    await Promise.race([closed, sleep(CLOSE_WAIT_MS)]);
  }
}

/** Answers the request with the refusal; its log line and count say why. */
function refuse(request: EdgeRequest, reply: EdgeReply, refusal: Refusal): EdgeReply {
  noteRefusal(request, { message: refusal.message, reason: refusal.error });
  if (refusal.allow !== undefined) reply.header('allow', refusal.allow);
  return reply.code(refusal.status).send({ error: refusal.error, message: refusal.message });
}

/**
 * A request without a good token: 401 with WWW-Authenticate (RFC 6750), 403 for a subject not
 * allowed, 503 when new keys could not be fetched. Nothing of the token is logged or answered
 * but the verifier's bounded line.
 */
function refuseToken(
  request: EdgeRequest,
  reply: EdgeReply,
  verdict: Exclude<TokenVerdict, { ok: true }>,
): void {
  noteRefusal(request, { message: verdict.message, reason: verdict.reason });
  if (verdict.status === 401) {
    const error = request.headers.authorization === undefined ? '' : ' error="invalid_token"';
    reply.header('www-authenticate', `Bearer${error}`);
  }
  if (verdict.status === 503) reply.header('retry-after', '1');
  reply.code(verdict.status).send({ error: verdict.reason, message: verdict.message });
}

/**
 * The routes that call `handle` (GET and POST /); not the CORS preflight, health or metrics.
 * Asked twice per request and remembered on it: Fastify's `routeOptions` builds a new frozen
 * object on every read.
 */
function isFunctionRoute(request: EdgeRequest): boolean {
  const known: unknown = Reflect.get(request, FUNCTION_ROUTE);
  if (typeof known === 'boolean') return known;
  const answer = request.routeOptions?.url === '/' && request.method !== 'OPTIONS';
  Reflect.set(request, FUNCTION_ROUTE, answer);
  return answer;
}

function reportRuntimeAnswer(request: EdgeRequest, reply: EdgeReply): void {
  const status = reply.statusCode;
  const serverError = status >= 500;
  const refused = refusedOf(request);
  reportRequest(
    request.log,
    {
      ...headerAttributes(request.headers),
      outcome: serverError ? 'unavailable' : 'rejected',
      reason:
        refused?.reason ??
        STATUS_REASONS[status] ??
        (serverError ? REASON.InternalError : REASON.BadRequest),
      gateway: undefined,
      pod: undefined,
      namespace: undefined,
      message: refused?.message ?? `answered HTTP ${status} before the function saw it`,
    },
    undefined,
    reply.elapsedTime / 1000,
  );
}

function reportUnparsedRequest(log: RequestLogger, code: string, detail: string): void {
  reportRequest(
    log,
    {
      eventId: undefined,
      source: undefined,
      outcome: 'rejected',
      reason: unparsedReason(code),
      gateway: undefined,
      pod: undefined,
      namespace: undefined,
      message: `the HTTP request could not be read (${code}): ${detail}`,
    },
    undefined,
    0,
  );
}

/** A timer that does not keep the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
