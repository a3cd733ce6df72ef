// Injected faults: answers a real API server gives when things go wrong (overload, errors,
// timeouts, dropped connections, a create that loses a race), on the requests a test chooses.
import { STATUS_CODES } from 'node:http';
import { type Reply, statusReply, textReply } from './http.ts';
import type { RequestAttributes } from './routing.ts';
import {
  alreadyExists,
  badRequest,
  conflict,
  failure,
  forbidden,
  internalError,
  invalid,
  MODIFIED_CONFLICT,
  notFound,
  pathNotFound,
  type Status,
  serviceUnavailable,
  timeout,
  unauthorized,
} from './status.ts';

export interface Fault {
  /** Only requests with this method (any if absent). */
  method?: string;
  /** Only requests whose path (without query) equals this string or matches this RegExp. */
  path?: RegExp | string;
  /** How many matching requests it affects (default 1). */
  times?: number;
  /**
   * Answer with this status code (with the reason and message the real server gives). 429 is
   * API Priority and Fairness's plain-text answer, not a Status.
   */
  status?: number;
  reason?: string;
  message?: string;
  /**
   * Sent as the `Retry-After` header and `details.retryAfterSeconds` (429 defaults to 1; API
   * Priority and Fairness sends 1 to 32; 0 is accepted to keep load tests fast).
   */
  retryAfterSeconds?: number;
  /** Wait this long first; alone, the request is then handled normally. */
  delayMs?: number;
  /** Destroy the connection without answering. */
  drop?: boolean;
  /**
   * Handle the request (a create stores its pod), then destroy the connection instead of
   * answering: the answer lost after the request was sent.
   */
  dropAfterHandling?: boolean;
  /** On create: store the pod first, as if another writer won, then answer 409 AlreadyExists. */
  race?: boolean;
}

/**
 * The path of pod creates in any namespace: a fault meant for the pod create, not for the Events
 * the function writes in the background (which may still arrive from a test before).
 */
export const POD_CREATES = /^\/api\/v1\/namespaces\/[^/]+\/pods$/;

/** The body API Priority and Fairness rejects with. */
export const APF_MESSAGE = 'Too many requests, please try again later.';
export const APF_MAX_RETRY_AFTER = 32;

export class FaultQueue {
  readonly #faults: Fault[] = [];

  get pending(): readonly Fault[] {
    return this.#faults.map((f) => ({ ...f }));
  }

  add(fault: Fault): void {
    const retryAfter = fault.retryAfterSeconds;
    if (
      fault.status === 429 &&
      retryAfter !== undefined &&
      !(Number.isInteger(retryAfter) && retryAfter >= 0 && retryAfter <= APF_MAX_RETRY_AFTER)
    ) {
      throw new Error(
        `a 429's Retry-After is 1 to ${APF_MAX_RETRY_AFTER} seconds, not ${retryAfter}`,
      );
    }
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  clear(): void {
    this.#faults.length = 0;
  }

  /** The first fault matching the request, used once. */
  take(method: string, path: string): Fault | undefined {
    const index = this.#faults.findIndex(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined ||
          (typeof f.path === 'string' ? f.path === path : f.path.test(path))),
    );
    const fault = this.#faults[index];
    if (fault === undefined) return undefined;
    const times = (fault.times ?? 1) - 1;
    if (times <= 0) this.#faults.splice(index, 1);
    else fault.times = times;
    return fault;
  }
}

/**
 * The answer for a fault with a status. A 429 is what the priority-and-fairness filter writes
 * (staging/src/k8s.io/apiserver/pkg/server/filters/priority-and-fairness.go, tooManyRequests in
 * maxinflight.go: Retry-After, then http.Error): text/plain, no Status.
 */
export function faultReply(
  fault: Fault,
  attrs: RequestAttributes,
  name: string,
  user: string,
): Reply {
  const code = fault.status ?? 500;
  const retryAfter = fault.retryAfterSeconds;
  if (code === 429 && fault.reason === undefined) {
    return textReply(429, `${fault.message ?? APF_MESSAGE}\n`, {
      'retry-after': String(retryAfter ?? 1),
    });
  }
  const status = faultStatus(code, attrs, name, user, fault.reason);
  const details =
    retryAfter === undefined
      ? status.details
      : { ...status.details, retryAfterSeconds: retryAfter };
  const answer = failure(
    status.code,
    fault.reason ?? status.reason,
    fault.message ?? status.message,
    details,
  );
  return retryAfter === undefined
    ? statusReply(answer)
    : statusReply(answer, { 'retry-after': String(retryAfter) });
}

/** The Status the real server sends with this code. */
function faultStatus(
  code: number,
  attrs: RequestAttributes,
  name: string,
  user: string,
  reason: string | undefined,
): Status {
  switch (code) {
    case 400:
      return badRequest('the server rejected our request for an unknown reason');
    case 401:
      return unauthorized();
    case 403:
      return forbidden(user, attrs);
    case 404:
      return name === '' ? pathNotFound() : notFound(attrs.resource, name);
    case 409:
      return reason === 'Conflict'
        ? conflict(attrs.resource, name, MODIFIED_CONFLICT)
        : alreadyExists(attrs.resource, name);
    case 422:
      return invalid('Pod', name, []);
    case 429:
      return failure(429, 'TooManyRequests', APF_MESSAGE, { retryAfterSeconds: 1 });
    case 500:
      return internalError();
    case 503:
      return serviceUnavailable();
    case 504:
      return timeout();
    default:
      return failure(code, 'Unknown', STATUS_CODES[code] ?? 'unknown error');
  }
}
