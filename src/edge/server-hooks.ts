// Hooks on faas-js-runtime's Fastify server, which the runtime does not expose to the function:
// it is reached through Fastify's documented `fastify.initialization` diagnostics channel, which
// publishes each instance as it is made (after our `init`, before it listens).
//
// - Requests the runtime answers by itself (a JSON body that does not parse, an event its SDK
//   refuses, a body over the limit) get one log line and one count, as the handler's do.
// - A binary event that repeats a ce-* header is refused: Node joins the values with ", " (two
//   ids become one id "a, b"), which would make a pod for an event nobody sent.
import { subscribe } from 'node:diagnostics_channel';
import { describeValidationError, headerAttributes } from '../events/validation-errors.ts';
import { bounded, MAX_NAME_SHOWN, quoted } from '../formats/bounded-text.ts';
import { REASON } from '../formats/reasons.ts';
import { type RequestLogger, reportRequest } from '../observability/event-log.ts';

/** The parts of a Fastify request used here. */
interface HookRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly raw: { readonly rawHeaders: readonly string[]; readonly url?: string | undefined };
  readonly routeOptions?: { readonly url?: string };
  /** The runtime's context, made in its preHandler hook: what `handle` receives. */
  readonly fcontext?: object;
  readonly log: RequestLogger;
  /** Set by the runtime's metrics, see onRequest. */
  execTimer?: unknown;
}

interface HookReply {
  readonly statusCode: number;
  readonly elapsedTime: number;
  code(status: number): HookReply;
  send(body: unknown): HookReply;
  header(name: string, value: string): HookReply;
}

type Done = () => void;

/** A route as it is added: its log level may still be changed. */
interface RouteOptions {
  readonly url: string;
  readonly method: string | readonly string[];
  logLevel?: string;
}

interface HookableServer {
  /** The Node HTTP server, and the runtime's root logger. */
  readonly server: { on(event: 'clientError', listener: (error: Error) => void): unknown };
  readonly log: RequestLogger;
  addHook(name: 'onRoute', hook: (route: RouteOptions) => void): unknown;
  addHook(
    name: 'onRequest',
    hook: (request: HookRequest, reply: HookReply, done: Done) => void,
  ): unknown;
  addHook(
    name: 'onError',
    hook: (request: HookRequest, reply: HookReply, error: Error, done: Done) => void,
  ): unknown;
  addHook(
    name: 'onSend',
    hook: (
      request: HookRequest,
      reply: HookReply,
      payload: unknown,
      done: (error: null, payload: unknown) => void,
    ) => void,
  ): unknown;
  addHook(
    name: 'onResponse',
    hook: (request: HookRequest, reply: HookReply, done: Done) => void,
  ): unknown;
}

/**
 * Marks `handle` leaves on the contexts it was called with (their requests are logged and
 * counted by the handler), and the hooks on each request (whether it is a function route): a
 * property on the object itself rather than a WeakSet or WeakMap entry per request, which the
 * garbage collector must treat as an ephemeron and clears only in a full collection.
 */
const HANDLED = Symbol('podgateway.handled');
const FUNCTION_ROUTE = Symbol('podgateway.functionRoute');
/** Why the runtime (or the hooks here, or the guard's token check) refused a request. */
const refusals = new WeakMap<object, string>();
/** The reason of a refusal whose status alone does not say it (a 503 of the token check). */
const refusalReasons = new WeakMap<object, string>();

/**
 * Called by the guard (src/edge/http-guard.ts) for a request it answers itself: the log line and
 * the count of the request say why, with this reason.
 */
export function noteRefusal(request: object, reason: string, message: string): void {
  refusals.set(request, message);
  refusalReasons.set(request, reason);
}

/** Called by `handle`: the handler reports this request itself. */
export function markHandled(context: object): void {
  Reflect.set(context, HANDLED, true);
}

function isHandled(context: object | undefined): boolean {
  return context !== undefined && Reflect.get(context, HANDLED) === true;
}

let installed = false;

/** Adds the hooks to the runtime's server when it is made; call before it is. */
export function hookRuntimeServer(): void {
  if (installed) return;
  installed = true;
  subscribe('fastify.initialization', (message) => {
    if (isInitialization(message)) addHooks(message.fastify);
  });
}

function isInitialization(message: unknown): message is { fastify: HookableServer } {
  if (typeof message !== 'object' || message === null || !('fastify' in message)) return false;
  const server: unknown = message.fastify;
  return typeof server === 'object' && server !== null && 'addHook' in server;
}

function addHooks(server: HookableServer): void {
  // A request Node's HTTP parser refuses (a bad header line, framing, headers over the limit) or
  // that does not arrive in time gets its 400, 431 or 408 from Fastify's clientError handler,
  // with no request to hook.
  server.server.on('clientError', (error) => {
    const code = 'code' in error ? String(error.code) : '';
    if (code.startsWith('HPE_') || code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      reportUnparsedRequest(server.log, code, error.message);
    }
  });
  // The runtime gives its health routes the log level `logLevel || 'warn'` of its whole
  // configuration: at FUNC_LOG_LEVEL=info every probe of the kubelet was two lines.
  const probes = [
    process.env.READINESS_URL || '/health/readiness',
    process.env.LIVENESS_URL || '/health/liveness',
  ];
  // The methods of each path, for a 405's Allow: the routes are all added before the first request.
  const methodsByPath = new Map<string, Set<string>>();
  server.addHook('onRoute', (route) => {
    if (probes.includes(route.url)) route.logLevel = 'warn';
    const methods = methodsByPath.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    methodsByPath.set(route.url, methods);
  });
  server.addHook('onRequest', (request, reply, done) => {
    // The runtime's metrics start a timer in a preHandler hook and stop it in onResponse; a
    // request refused before preHandler (a body that does not parse) has none, and its
    // onResponse fails with "req.execTimer is not a function", logged at error level. Its
    // preHandler replaces this one when it runs.
    if (typeof request.execTimer !== 'function') request.execTimer = () => {};
    if (request.routeOptions?.url === undefined) {
      // No route matched: Fastify's default 404 would go out unlogged and uncounted.
      const miss = unmatched(request, methodsByPath);
      refusals.set(request, miss.message);
      refusalReasons.set(request, miss.error);
      if (miss.allow) reply.header('allow', miss.allow);
      reply.code(miss.status).send({ error: miss.error, message: miss.message });
      return;
    }
    const repeated = isFunctionRoute(request) ? repeatedEventHeaders(request.raw.rawHeaders) : [];
    if (repeated.length === 0) return done();
    const message = `${repeated.join(', ')} ${repeated.length === 1 ? 'is' : 'are'} sent more than once: each CloudEvents attribute is one header with one value`;
    refusals.set(request, message);
    reply.code(400).send({ error: REASON.BadRequest, message });
  });
  server.addHook('onError', (request, _reply, error, done) => {
    if (!refusals.has(request)) refusals.set(request, describeRuntimeError(request, error));
    done();
  });
  // The runtime's own 4xx answers carry Fastify's words ("Unexpected token } in JSON at …"): the
  // producer gets the same one line the log gets, in the function's own answer shape.
  server.addHook('onSend', (request, reply, payload, done) => {
    const refusal = refusals.get(request);
    const status = reply.statusCode;
    if (refusal === undefined || status < 400 || status >= 500 || !isFunctionRoute(request)) {
      return done(null, payload);
    }
    reply.header('content-type', 'application/json; charset=utf-8');
    const error = refusalReasons.get(request) ?? REASONS[status] ?? REASON.BadRequest;
    done(null, JSON.stringify({ error, message: refusal }));
  });
  server.addHook('onResponse', (request, reply, done) => {
    const unrouted = request.routeOptions?.url === undefined;
    if (unrouted || (isFunctionRoute(request) && !isHandled(request.fcontext))) {
      reportRuntimeAnswer(request, reply);
    }
    done();
  });
}

/**
 * The routes that call `handle` (GET and POST /); not the CORS preflight, health or metrics.
 * Asked twice per request and remembered on it: Fastify's `routeOptions` builds a new frozen
 * object on every read.
 */
function isFunctionRoute(request: HookRequest): boolean {
  const known: unknown = Reflect.get(request, FUNCTION_ROUTE);
  if (typeof known === 'boolean') return known;
  const answer = request.routeOptions?.url === '/' && request.method !== 'OPTIONS';
  Reflect.set(request, FUNCTION_ROUTE, answer);
  return answer;
}

/** A request no route matched: 405 with Allow for a path served by other methods, else 404. */
function unmatched(
  request: HookRequest,
  methodsByPath: ReadonlyMap<string, ReadonlySet<string>>,
): { status: number; error: string; message: string; allow?: string } {
  const target = request.raw.url ?? '';
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const methods = methodsByPath.get(path);
  const method = bounded(request.method, MAX_NAME_SHOWN);
  if (methods !== undefined) {
    const allow = [...methods].join(', ');
    return {
      status: 405,
      error: REASON.MethodNotAllowed,
      message: `${method} is not served at ${quoted(path, 200)}: use ${allow}`,
      allow,
    };
  }
  return {
    status: 404,
    error: REASON.NotFound,
    message: `nothing is served at ${quoted(path, 200)}: send events with POST to /`,
  };
}

/** ce-* header names that occur more than once, lower-cased, in order. */
export function repeatedEventHeaders(rawHeaders: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index]?.toLowerCase() ?? '';
    if (!name.startsWith('ce-')) continue;
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
  }
  return [...repeated];
}

/** What the runtime's error says, in one line. */
function describeRuntimeError(request: HookRequest, error: Error): string {
  const contentType = headerText(request, 'content-type') ?? '';
  if (error instanceof SyntaxError && contentType.includes('json')) {
    return `the body is not valid JSON (content-type ${contentType}): ${error.message}`;
  }
  return describeValidationError(error);
}

/** Kubernetes-style reasons for the statuses the runtime answers with. */
const REASONS: Readonly<Record<number, string>> = {
  400: REASON.BadRequest,
  401: REASON.Unauthorized,
  403: REASON.Forbidden,
  404: REASON.NotFound,
  408: REASON.RequestTimeout,
  406: REASON.NotAcceptable,
  413: REASON.RequestEntityTooLarge,
  415: REASON.UnsupportedMediaType,
};

function reportRuntimeAnswer(request: HookRequest, reply: HookReply): void {
  const status = reply.statusCode;
  const serverError = status >= 500;
  reportRequest(
    request.log,
    {
      ...headerAttributes(request.headers),
      outcome: serverError ? 'unavailable' : 'rejected',
      reason:
        refusalReasons.get(request) ??
        REASONS[status] ??
        (serverError ? REASON.InternalError : REASON.BadRequest),
      gateway: undefined,
      pod: undefined,
      namespace: undefined,
      message: refusals.get(request) ?? `answered HTTP ${status} before the function saw it`,
    },
    undefined,
    reply.elapsedTime / 1000,
  );
}

function reportUnparsedRequest(log: RequestLogger, code: string, detail: string): void {
  const reason =
    code === 'HPE_HEADER_OVERFLOW'
      ? REASON.RequestHeaderFieldsTooLarge
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? REASON.RequestTimeout
        : REASON.BadRequest;
  reportRequest(
    log,
    {
      eventId: undefined,
      source: undefined,
      outcome: 'rejected',
      reason,
      gateway: undefined,
      pod: undefined,
      namespace: undefined,
      message: `the HTTP request could not be read (${code}): ${detail}`,
    },
    undefined,
    0,
  );
}

function headerText(request: HookRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
