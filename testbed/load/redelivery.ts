import { PENDING_TYPE } from '../../src/events/pending-request.ts';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import type { Random } from './random.ts';

export interface PendingEvent {
  readonly id: string;
  readonly source: string;
  readonly gatewayName: string;
  readonly mode: 'binary' | 'structured';
}

/** How one HTTP attempt ended. */
export type Answer =
  | { readonly kind: 'done'; readonly podName: string }
  | { readonly kind: 'failed'; readonly reason: string; readonly message: string }
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly retryAfterSeconds?: number;
      /** The `error` of a JSON body (`{error, message}`): a 503's reason. */
      readonly error?: string;
    }
  | { readonly kind: 'connection'; readonly message: string };

export interface Attempt {
  readonly answer: Answer;
  readonly ms: number;
}

export interface Delivery {
  readonly event: PendingEvent;
  readonly attempts: readonly Attempt[];
  /** The last answer: what the producer is left with. */
  readonly final: Answer;
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface RedeliveryPolicy {
  /** Attempts per delivery, the first included. */
  readonly maxAttempts: number;
  /** Exponential backoff: base × 2^(attempt−1), capped, with jitter; Retry-After wins, capped. */
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly requestTimeoutMs: number;
}

/** Knative redelivers on 5xx, 429 and when no answer came; 2xx and other 4xx are final. */
export function isRetriable(answer: Answer): boolean {
  if (answer.kind === 'connection') return true;
  return answer.kind === 'status' && (answer.status >= 500 || answer.status === 429);
}

function requestOf(event: PendingEvent): { headers: Record<string, string>; body: string } {
  const data = JSON.stringify({ gateway_name: event.gatewayName });
  if (event.mode === 'binary') {
    return {
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': event.id,
        'ce-source': event.source,
        'ce-type': PENDING_TYPE,
      },
      body: data,
    };
  }
  const envelope = `{"specversion":"1.0","id":${JSON.stringify(event.id)},"source":${JSON.stringify(event.source)},"type":"${PENDING_TYPE}","datacontenttype":"application/json","data":${data}}`;
  return { headers: { 'content-type': 'application/cloudevents+json' }, body: envelope };
}

/** One HTTP attempt: the answer, read as a reply event where there is one. */
export async function sendOnce(
  url: string,
  event: PendingEvent,
  timeoutMs: number,
): Promise<Answer> {
  const { headers, body } = requestOf(event);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    return { kind: 'connection', message: `${String(error)}${cause}` };
  }
  const type = response.headers.get('ce-type');
  if (response.status === 200 && (type === DONE_TYPE || type === FAILED_TYPE)) {
    const data = parseObject(text);
    if (type === DONE_TYPE) return { kind: 'done', podName: String(data.pod_name) };
    return { kind: 'failed', reason: String(data.reason), message: String(data.message) };
  }
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
  const error = parseObject(text).error;
  return {
    kind: 'status',
    status: response.status,
    ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
    ...(typeof error === 'string' ? { error } : {}),
  };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Delivers one event as Knative would: again after a 5xx, a 429 or no answer, up to a bound. */
export async function deliver(
  url: string,
  event: PendingEvent,
  policy: RedeliveryPolicy,
  random: Random,
  beforeAttempt: () => void = () => {},
): Promise<Delivery> {
  const attempts: Attempt[] = [];
  const startedAt = performance.now();
  for (let attempt = 1; ; attempt++) {
    beforeAttempt();
    const start = performance.now();
    const answer = await sendOnce(url, event, policy.requestTimeoutMs);
    attempts.push({ answer, ms: performance.now() - start });
    if (!isRetriable(answer) || attempt >= policy.maxAttempts) {
      return { event, attempts, final: answer, startedAt, endedAt: performance.now() };
    }
    await sleep(backoffMs(policy, attempt, answer, random));
  }
}

function backoffMs(policy: RedeliveryPolicy, attempt: number, answer: Answer, random: Random) {
  if (answer.kind === 'status' && answer.retryAfterSeconds !== undefined) {
    return Math.min(answer.retryAfterSeconds * 1000, policy.backoffMaxMs);
  }
  const exponential = Math.min(policy.backoffBaseMs * 2 ** (attempt - 1), policy.backoffMaxMs);
  return exponential * (0.5 + random() / 2);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
