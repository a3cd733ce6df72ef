// Why a request is refused before the function sees it: pure checks of what the client sent, made
// by the edge plugin (src/edge/plugin.ts), which answers, logs and counts each.
import type { IncomingHttpHeaders } from 'node:http';
import { describeValidationError } from '../events/validation-errors.ts';
import { bounded, MAX_NAME_SHOWN, quoted } from '../formats/bounded-text.ts';
import { REASON } from '../formats/reasons.ts';

export interface Refusal {
  readonly status: number;
  readonly error: string;
  readonly message: string;
  /** For a 405: the methods the path is served by. */
  readonly allow?: string;
}

/** What is read of a request: the target as it came, and the route it was matched to. */
export interface TargetedRequest {
  readonly headers: IncomingHttpHeaders;
  /** Node's request: its `url` is the request target exactly as the client sent it. */
  readonly raw: { readonly url?: string | undefined };
  /** The path of the route Fastify matched; undefined when none matched (its own 404). */
  readonly routeUrl: string | undefined;
}

/**
 * A request a browser page sent (it carries Origin), or one whose target is not its route's path
 * exactly; undefined when neither. No browser page may post: the Service is cluster-local and its
 * producers are brokers, sources and other workloads, which send no Origin (docs/security.md).
 */
export function refusalOf(request: TargetedRequest): Refusal | undefined {
  const origin = request.headers.origin;
  if (origin !== undefined) {
    return {
      status: 403,
      error: REASON.Forbidden,
      message: `cross-origin requests are not accepted (origin ${quoted(origin)}): the function takes events from the cluster, not from browser pages`,
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

/** A request no route matched: 405 with Allow for a path served by other methods, else 404. */
export function unmatched(
  method: string,
  target: string,
  methodsByPath: ReadonlyMap<string, ReadonlySet<string>>,
): Refusal {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const methods = methodsByPath.get(path);
  const shown = bounded(method, MAX_NAME_SHOWN);
  if (methods !== undefined) {
    const allow = [...methods].join(', ');
    return {
      status: 405,
      error: REASON.MethodNotAllowed,
      message: `${shown} is not served at ${quoted(path, 200)}: use ${allow}`,
      allow,
    };
  }
  return {
    status: 404,
    error: REASON.NotFound,
    message: `nothing is served at ${quoted(path, 200)}: send events with POST to /`,
  };
}

/**
 * ce-* header names that occur more than once, lower-cased, in order. Node joins the values of a
 * repeated header with ", " (two ids become one id "a, b"), which would make a pod for an event
 * nobody sent.
 */
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
export function describeRuntimeError(contentType: string, error: Error): string {
  if (error instanceof SyntaxError && contentType.includes('json')) {
    return `the body is not valid JSON (content-type ${contentType}): ${error.message}`;
  }
  return describeValidationError(error);
}

/** Kubernetes-style reasons for the statuses the runtime answers with. */
export const STATUS_REASONS: Readonly<Record<number, string>> = {
  400: REASON.BadRequest,
  401: REASON.Unauthorized,
  403: REASON.Forbidden,
  404: REASON.NotFound,
  408: REASON.RequestTimeout,
  406: REASON.NotAcceptable,
  413: REASON.RequestEntityTooLarge,
  415: REASON.UnsupportedMediaType,
};

/** The reason of an HTTP request Node's parser refused, or one that did not arrive in time. */
export function unparsedReason(code: string): string {
  if (code === 'HPE_HEADER_OVERFLOW') return REASON.RequestHeaderFieldsTooLarge;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return REASON.RequestTimeout;
  return REASON.BadRequest;
}
