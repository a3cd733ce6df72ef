// Reply routing beyond a broker: with K_SINK set, the reply event is POSTed there and the request
// answered 202, instead of the reply travelling back in the HTTP response.
//
// K_SINK is injected by the platform (a SinkBinding, a ContainerSource), not configured by hand:
// it is read here, apart from the configuration (src/config/config.ts CONFIG_VARIABLES), which the
// manifests list.
import { type CloudEvent, HTTP, type Message } from 'cloudevents';
import type { StructuredReturn } from 'faas-js-runtime';
import { ConfigError, type Environment } from '../config/config.ts';
import { causeChain } from '../formats/cause-chain.ts';
import { ATTRIBUTE, type TraceSpan, urlAttributes } from '../observability/tracing.ts';

/** Variables the platform sets for reply routing; never in the manifests' env. */
export const SINK_VARIABLES = ['K_SINK'] as const;

export interface SinkOptions {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Per try: connecting, sending and reading the answer. */
  readonly timeoutMs: number;
  /** Wait before the second try; doubled before each next one. */
  readonly backoffMs: number;
}

/** Three tries of 5 s at most each, 0.2 s then 0.4 s apart: about 16 s at worst. */
export const SINK_DEFAULTS: SinkOptions = { attempts: 3, timeoutMs: 5000, backoffMs: 200 };

/** Retry-After sent to the producer when the sink could not take the reply. */
export const SINK_RETRY_AFTER_SECONDS = 5;

/**
 * The sink URL from K_SINK; undefined when unset or empty. Throws a ConfigError naming K_SINK,
 * which never repeats the value: it may hold a secret.
 */
export function readSink(env: Environment): URL | undefined {
  const value = env.K_SINK?.trim();
  if (value === undefined || value === '') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('K_SINK', 'is not an absolute URL (the value is not repeated here)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('K_SINK', `is a ${url.protocol} URL; an http or https URL is needed`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(
      'K_SINK',
      'carries credentials (user:password@host): they would travel with every reply and show wherever the URL is printed; give the sink a URL without them (the value is not repeated here)',
    );
  }
  return url;
}

/** The sink for the log: scheme, host and path; a query string, which may hold a token, is not shown. */
export function describeSinkUrl(url: URL): string {
  return `${url.origin}${url.pathname}${url.search ? '?…' : ''}`;
}

export type SinkDelivery =
  | { readonly ok: true; readonly attempts: number; readonly status: number }
  | { readonly ok: false; readonly attempts: number; readonly problem: string };

export interface Sink {
  readonly url: URL;
  /**
   * Sends the event in binary mode; retries what is worth retrying; never throws. With the
   * event's span, each try is a client span under it.
   */
  send(event: CloudEvent<unknown>, span?: TraceSpan): Promise<SinkDelivery>;
}

/**
 * A sink sender: the SDK's binary-mode message, and its own transport, not the SDK's
 * httpTransport: that one resolves whatever the status (a 500 would pass for delivered) and has
 * no timeout.
 */
export function makeSink(url: URL, options: SinkOptions = SINK_DEFAULTS): Sink {
  return {
    url,
    async send(event, span) {
      const message = HTTP.binary(event);
      let problem = '';
      for (let attempt = 1; attempt <= options.attempts; attempt += 1) {
        if (attempt > 1) await sleep(options.backoffMs * 2 ** (attempt - 2));
        try {
          const status = span
            ? await postInSpan(span, url, message, options.timeoutMs, attempt - 1)
            : await post(url, message, options.timeoutMs);
          return { ok: true, attempts: attempt, status };
        } catch (error) {
          problem = error instanceof SinkError ? error.message : describe(error, options);
          if (error instanceof SinkError && !error.retriable) {
            return { ok: false, attempts: attempt, problem };
          }
        }
      }
      return { ok: false, attempts: options.attempts, problem };
    },
  };
}

/**
 * The HTTP answer once the reply went to the sink: 202 and no body (the producer takes no reply
 * from us). When the sink could not take it, the answer is a 503 with Retry-After
 * (SINK_RETRY_AFTER_SECONDS; src/edge/responses.ts `unavailable`, worded by `sinkFailure`): the
 * producer delivers the event again and the function replies again (pod names are derived from
 * the event, so a redelivery makes no second pod). A 2xx then would lose the reply.
 */
export function sinkAccepted(): StructuredReturn {
  return { statusCode: 202, body: '' };
}

/** Why the reply is not at the sink: for the producer (no address, no body), and for the log. */
export function sinkFailure(
  delivery: Extract<SinkDelivery, { readonly ok: false }>,
  replyId: string,
): { readonly message: string; readonly logMessage: string } {
  return {
    // The cause (an address, the sink's own answer) goes to the log, not to the producer.
    message: `the reply could not be sent to K_SINK after ${delivery.attempts} attempt(s): ${publicSummary(delivery.problem)} (the function's log has the details)`,
    logMessage: `reply ${replyId} not sent to K_SINK: ${delivery.problem}`,
  };
}

/** The problem without what follows its first `:`: the sink's address, or its answer's body. */
function publicSummary(problem: string): string {
  return problem.split(':', 1)[0] ?? '';
}

/** An answer from the sink other than 2xx. */
class SinkError extends Error {
  readonly retriable: boolean;
  constructor(status: number, body: string) {
    super(`the sink answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    // As Knative's own senders do: these may pass on a later try; other 4xx will not.
    this.retriable = status >= 500 || [404, 408, 409, 429].includes(status);
  }
}

/** One try: the sink's status, or a SinkError for an answer other than 2xx. */
async function post(
  url: URL,
  message: Message,
  timeoutMs: number,
  onStatus?: (status: number) => void,
): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: message.headers as Record<string, string>,
    body: String(message.body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  onStatus?.(response.status);
  const body = await response.text();
  if (!response.ok) throw new SinkError(response.status, body.trim());
  return response.status;
}

/** One try as a client span, whose context the request carries in its `traceparent` header. */
async function postInSpan(
  parent: TraceSpan,
  url: URL,
  message: Message,
  timeoutMs: number,
  resends: number,
): Promise<number> {
  const span = parent.child('POST', 'client', {
    [ATTRIBUTE.method]: 'POST',
    ...urlAttributes(url.href, true),
    ...(resends > 0 ? { [ATTRIBUTE.resendCount]: resends } : {}),
  });
  const traced = { ...message, headers: { ...message.headers, ...span.traceHeaders() } };
  try {
    return await post(url, traced, timeoutMs, (status) =>
      span.setAttributes({ [ATTRIBUTE.statusCode]: status }),
    );
  } catch (error) {
    span.fail(error);
    throw error;
  } finally {
    span.end();
  }
}

function describe(error: unknown, options: SinkOptions): string {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `the sink did not answer within ${options.timeoutMs} ms`;
  }
  const cause = error instanceof Error ? causeChain(error) : String(error);
  return `the sink could not be reached: ${cause}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
