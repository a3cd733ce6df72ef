// One Kubernetes API call under a timeout, retried while the failure is transient and the
// event's deadline allows.
import {
  type ConfigurationOptions,
  Observable,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';
import type { ApiCallObserver } from './api-observer.ts';
import { type ApiFailure, describeApiFailure, isTransient } from './client.ts';

export interface CallLimits {
  /** Longest wait for one answer. */
  readonly timeoutMs: number;
  /** Epoch milliseconds after which no attempt starts: the event's deadline. */
  readonly deadline: number;
  /** The event's own observer of its attempts: its span, when tracing is on. */
  readonly observer?: ApiCallObserver | undefined;
}

/** A call that did not succeed: permanent, or transient until the deadline ran out. */
export class ApiCallError extends Error {
  readonly failure: ApiFailure;
  readonly deadlineExceeded: boolean;
  constructor(failure: ApiFailure, deadlineExceeded: boolean) {
    super(failure.message);
    this.name = 'ApiCallError';
    this.failure = failure;
    this.deadlineExceeded = deadlineExceeded;
  }
}

const BACKOFF_BASE_MS = 100;
const BACKOFF_CAP_MS = 2000;

/** Full-jitter exponential backoff: a random wait up to base·2^attempt, capped. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
}

/**
 * Runs `call` (given the per-request options carrying the abort signal) until it succeeds, fails
 * permanently, or the deadline leaves no room for another attempt. A Retry-After from the server
 * is honoured instead of the backoff; one that reaches past the deadline ends the call at once.
 */
export async function callApi<T>(
  call: (options: ConfigurationOptions) => Promise<T>,
  limits: CallLimits,
): Promise<T> {
  let previous: ApiFailure | undefined;
  for (let attempt = 0; ; attempt += 1) {
    const remaining = limits.deadline - Date.now();
    const timeoutMs = Math.max(1, Math.min(limits.timeoutMs, remaining));
    const { signal, cancel } = timeoutSignal(timeoutMs);
    let failure: ApiFailure;
    try {
      return await call(withSignal(signal));
    } catch (error) {
      failure = describeApiFailure(error);
    } finally {
      cancel();
    }
    // The deadline, not the API, cut this attempt short (no answer came): the answer before it
    // says more.
    if (previous && failure.code === undefined && signal.aborted && timeoutMs < limits.timeoutMs) {
      throw new ApiCallError(previous, true);
    }
    previous = failure;
    if (!isTransient(failure)) throw new ApiCallError(failure, false);
    const delay =
      failure.retryAfterSeconds !== undefined
        ? failure.retryAfterSeconds * 1000
        : backoffDelay(attempt);
    if (Date.now() + delay >= limits.deadline) throw new ApiCallError(failure, true);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * What AbortSignal.timeout(ms) gives (aborted with a TimeoutError once `ms` have passed), with a
 * timer that ends with the attempt: AbortSignal.timeout's runs for its whole length after the
 * call is answered, so under load every call of the last timeoutMs kept a live timer and signal.
 */
export function timeoutSignal(ms: number): { signal: AbortSignal; cancel(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
  }, ms);
  timer.unref();
  return { signal: controller.signal, cancel: () => clearTimeout(timer) };
}

/** Per-request options that abort the request with `signal`. */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}
