// Hostile but well-formed requests (issue 25): structured-mode pending events of about 60 KB,
// one field filled to the body limit. Shared by the tests and `npm run soak -- --hostile`.

/** A field filled to about 60 KB, and how the function answers it. */
export const HOSTILE_KINDS = [
  'type',
  'id',
  'source',
  'specversion',
  'time',
  'datacontenttype',
  'gateway_name',
  'unknown-field',
] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

/** Under FUNC_BODY_LIMIT (64 KiB) with the rest of the event. */
const FILL = 60_000;

/** The body of the `n`th hostile event of `kind`: each has an id of its own. */
export function hostileBody(kind: HostileKind, n: number, idPrefix: string): string {
  const big = `${'x'.repeat(FILL)}${n}`;
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: `${idPrefix}-${kind}-${n}`,
    source: '/hostile',
    type: 'io.podgateway.client.pending',
    datacontenttype: 'application/json',
    data: { gateway_name: 'foo' },
  };
  switch (kind) {
    case 'type':
    case 'id':
    case 'source':
    case 'specversion':
    case 'time':
      event[kind] = big;
      break;
    case 'datacontenttype':
      event.datacontenttype = `text/${big}`;
      break;
    case 'gateway_name':
      event.data = { gateway_name: big };
      break;
    case 'unknown-field':
      event.data = { gateway_name: 'foo', [big]: true };
      break;
  }
  return JSON.stringify(event);
}

export interface HostileRun {
  /** Answers by HTTP status; `error` for a request that got none. */
  readonly answers: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/** Posts `events` hostile events, `concurrency` at a time, cycling through `kinds`. */
export async function sendHostile(options: {
  readonly url: string;
  readonly events: number;
  readonly concurrency: number;
  readonly kinds: readonly HostileKind[];
  readonly idPrefix: string;
  readonly onAnswer?: (done: number) => void;
}): Promise<HostileRun> {
  const answers: Record<string, number> = {};
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < options.events) {
      const n = next;
      next += 1;
      const kind = options.kinds[n % options.kinds.length] ?? 'type';
      const key = await postOnce(options.url, hostileBody(kind, n, options.idPrefix));
      answers[key] = (answers[key] ?? 0) + 1;
      done += 1;
      options.onAnswer?.(done);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { answers, seconds: (performance.now() - started) / 1000 };
}

async function postOnce(url: string, body: string): Promise<string> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body,
      signal: AbortSignal.timeout(30_000),
    });
    await response.arrayBuffer();
    return String(response.status);
  } catch {
    return 'error';
  }
}
