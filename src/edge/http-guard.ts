// The HTTP server's guard: what reaches the function and how the server lets go of its
// connections. faas-js-runtime offers no hook for any of it; Fastify announces each instance it
// makes on the `fastify.initialization` diagnostics channel, before any route or listen, and the
// guard adds its hooks and timeouts there.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingHttpHeaders, Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { MAX_NAME_SHOWN, quoted } from '../formats/bounded-text.ts';
import { REASON } from '../formats/reasons.ts';
import { type ListenAddress, listeningLine } from './listen-address.ts';
import { noteRefusal } from './server-hooks.ts';
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

/** Request headers a browser may send to an allowed origin (the CloudEvents binary mode). */
const CORS_REQUEST_HEADER = /^(content-type|ce-[a-z0-9]+|traceparent|tracestate)$/;
const CORS_HEADERS = [
  'access-control-allow-origin',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-max-age',
];

export interface GuardOptions {
  /** Origins (`https://app.example.com`) whose browser pages may post events; none by default. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** FUNC_BODY_LIMIT as the runtime reads it: when set, the runtime's limit stands. */
  readonly runtimeBodyLimit: string | undefined;
  /** With OIDC_AUDIENCE: the bearer token every request to the function's route must bring. */
  readonly tokens?: TokenVerifier | undefined;
  /** Where to listen, instead of the runtime's `::` (src/edge/listen-address.ts). */
  readonly listenAddress: ListenAddress;
}

/** As much of Fastify's request, reply and instance as the guard uses. */
interface GuardRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly raw: { readonly url?: string | undefined };
  /** Fastify builds a new object on every read: read once. */
  readonly routeOptions: { readonly url?: string | undefined };
}
interface GuardReply {
  code(status: number): GuardReply;
  header(name: string, value: string): GuardReply;
  removeHeader(name: string): GuardReply;
  send(body: unknown): GuardReply;
}
interface RouteOptions {
  bodyLimit?: number;
}
interface ListenOptions {
  readonly port?: number | string;
  readonly host?: string;
}
interface FastifyInstance {
  readonly server: Server;
  listen(options: ListenOptions): Promise<string>;
  addHook(name: 'onRoute', hook: (route: RouteOptions) => void): unknown;
  addHook(
    name: 'onRequest',
    hook: (request: GuardRequest, reply: GuardReply) => Promise<unknown>,
  ): unknown;
  addHook(
    name: 'onSend',
    hook: (request: GuardRequest, reply: GuardReply, payload: unknown) => Promise<unknown>,
  ): unknown;
}

const CHANNEL = 'fastify.initialization';
let guarded: { server: Server; closing: boolean } | undefined;

/** Guards the next Fastify instance made in this process: the runtime's, made after `init`. */
export function guardNextServer(options: GuardOptions): void {
  const onInstance = (message: unknown): void => {
    unsubscribe(CHANNEL, onInstance);
    const { fastify } = message as { fastify: FastifyInstance };
    guard(fastify, options);
  };
  subscribe(CHANNEL, onInstance);
}

function guard(fastify: FastifyInstance, options: GuardOptions): void {
  const state = { server: fastify.server, closing: false };
  guarded = state;
  // Fastify turns Node's request timeout off; a body that stalls would hold a socket for ever.
  Object.assign(fastify.server, {
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  });
  const listen = fastify.listen.bind(fastify);
  fastify.listen = async (listenOptions) => {
    const url = await listen({ ...listenOptions, host: options.listenAddress.host });
    const address = fastify.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : undefined;
    console.log(`podgateway client provisioner: ${listeningLine(options.listenAddress, port)}`);
    return url;
  };
  if (options.runtimeBodyLimit === undefined || options.runtimeBodyLimit === '') {
    fastify.addHook('onRoute', (route) => {
      route.bodyLimit ??= DEFAULT_BODY_LIMIT;
    });
  }
  fastify.addHook('onRequest', async (request, reply) => {
    const { headers, raw } = request;
    const routeUrl = request.routeOptions.url;
    const refusal = refusalOf({ headers, raw, routeUrl }, options.allowedOrigins);
    if (refusal) {
      reply.code(refusal.status).send({ error: refusal.error, message: refusal.message });
      return reply;
    }
    const { tokens } = options;
    // The event routes only: health, metrics and the CORS preflight stay open.
    if (tokens === undefined || routeUrl !== '/' || request.method === 'OPTIONS') {
      return undefined;
    }
    const verdict = await tokens.verify(headers.authorization);
    if (verdict.ok) return undefined;
    refuseToken(request, reply, verdict);
    return reply;
  });
  fastify.addHook('onSend', async (request, reply, payload) => {
    // No longer accepting: the answer closes its connection, and the client's next connection
    // is refused. Decided as the answer leaves, so none written after the close keeps it alive.
    if (state.closing) reply.header('connection', 'close');
    for (const name of CORS_HEADERS) reply.removeHeader(name);
    const origin = request.headers.origin;
    if (origin !== undefined && options.allowedOrigins.has(origin)) {
      for (const [name, value] of corsHeaders(request, origin)) reply.header(name, value);
    }
    return payload;
  });
}

/**
 * A request without a good token: 401 with WWW-Authenticate (RFC 6750), 403 for a subject not
 * allowed, 503 when new keys could not be fetched. Nothing of the token is logged or answered
 * but the verifier's bounded line.
 */
function refuseToken(
  request: GuardRequest,
  reply: GuardReply,
  verdict: Exclude<TokenVerdict, { ok: true }>,
): void {
  noteRefusal(request, verdict.reason, verdict.message);
  if (verdict.status === 401) {
    const error = request.headers.authorization === undefined ? '' : ' error="invalid_token"';
    reply.header('www-authenticate', `Bearer${error}`);
  }
  if (verdict.status === 503) reply.header('retry-after', '1');
  reply.code(verdict.status).send({ error: verdict.reason, message: verdict.message });
}

interface Refusal {
  readonly status: number;
  readonly error: string;
  readonly message: string;
}

/** What the guard reads of a request: the target as it came, and the route it was matched to. */
export interface TargetedRequest {
  readonly headers: IncomingHttpHeaders;
  /** Node's request: its `url` is the request target exactly as the client sent it. */
  readonly raw: { readonly url?: string | undefined };
  /** The path of the route Fastify matched; undefined when none matched (its own 404). */
  readonly routeUrl: string | undefined;
}

/** Why a request is refused before the function sees it; undefined when it is not. */
export function refusalOf(
  request: TargetedRequest,
  allowedOrigins: ReadonlySet<string>,
): Refusal | undefined {
  const origin = request.headers.origin;
  if (origin !== undefined && !allowedOrigins.has(origin)) {
    return {
      status: 403,
      error: REASON.Forbidden,
      message: `cross-origin requests are not accepted (origin ${quoted(origin)} is not in ALLOWED_ORIGINS)`,
    };
  }
  return targetRefusal(request.raw.url ?? '', request.routeUrl);
}

/**
 * A route answers at its own path exactly. The router splits the target at `;` and `#` as well as
 * at `?`, and decodes it, so `/;id=x` or `/;query=…` would reach the function, their parameters
 * copied over its request context: the raw target is compared, before anything parses it.
 */
function targetRefusal(target: string, route: string | undefined): Refusal | undefined {
  if (route === undefined) return undefined;
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (path !== route) {
    return {
      status: 404,
      error: REASON.NotFound,
      message: `nothing is served at ${quoted(path, 200)}: the path must be exactly ${route}, with no ';' parameters, encoded characters or extra slashes`,
    };
  }
  if (route !== '/' || queryAt === -1) return undefined;
  const [name = ''] =
    target
      .slice(queryAt + 1)
      .split('&', 1)[0]
      ?.split('=', 1) ?? [];
  return {
    status: 400,
    error: REASON.BadRequest,
    message:
      name === ''
        ? 'a query string is not accepted: the function reads none'
        : `the query parameter ${quoted(safeDecode(name), MAX_NAME_SHOWN)} is not accepted: the function reads no query string`,
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return text;
  }
}

/** The CORS answer for an allowed origin; on a preflight, the methods and headers it may use. */
function corsHeaders(request: GuardRequest, origin: string): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    ['access-control-allow-origin', origin],
    ['vary', 'origin'],
  ];
  if (request.method === 'OPTIONS') {
    const requested = String(request.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((name) => name.trim().toLowerCase())
      .filter((name) => CORS_REQUEST_HEADER.test(name));
    headers.push(['access-control-allow-methods', 'POST']);
    if (requested.length > 0) headers.push(['access-control-allow-headers', requested.join(', ')]);
    headers.push(['access-control-max-age', '600']);
  }
  return headers;
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
export async function stopAccepting(): Promise<void> {
  const state = guarded;
  if (!state?.server.listening) return;
  const closed = new Promise<void>((resolve) => {
    NetServer.prototype.close.call(state.server, () => resolve());
  });
  state.closing = true;
  await Promise.race([closed, sleep(LINGER_MS)]);
  state.server.closeIdleConnections();
  await Promise.race([closed, sleep(CLOSE_WAIT_MS)]);
}

/** A timer that does not keep the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
