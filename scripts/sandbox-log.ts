// The sandbox's view of the function's output: one readable line per event from the function's
// JSON `provision` lines, the runtime's per-request info lines left out, everything else as is.
// Nothing reaches the terminal raw: a value a request brought (an id, a type) may hold ESC
// sequences that clear the screen or forge a line, JSON-escaped in the log and decoded here.
import { bounded, MAX_MESSAGE_LENGTH } from '../src/formats/bounded-text.ts';

/** What to print for one line of the function's output; undefined: nothing. */
export function sandboxLine(line: string, verbose: boolean): string | undefined {
  const entry = parseJsonLine(line);
  if (entry === undefined) return `[function] ${printable(line)}`;
  if (entry.msg === 'request') return `[sandbox] ${describeEvent(entry)}`;
  // The runtime's own request lines (info) are the function's at FUNC_LOG_LEVEL=info and below.
  const level = typeof entry.level === 'number' ? entry.level : 0;
  if (!verbose && level < 40) return undefined;
  return `[function] ${printable(line)}`;
}

/** A line as the terminal may show it: control and invisible characters as `<U+001B>`. */
function printable(line: string): string {
  return bounded(line, Number.MAX_SAFE_INTEGER);
}

type Entry = Readonly<Record<string, unknown>>;

function parseJsonLine(line: string): Entry | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Entry)
      : undefined;
  } catch {
    return undefined;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? bounded(value, MAX_MESSAGE_LENGTH) : undefined;
}

/** `event 42 from /src (gateway foo): done, pod created client-… in client-system`. */
export function describeEvent(entry: Entry): string {
  const id = text(entry.eventId) ?? '(no id)';
  const source = text(entry.source);
  const gateway = text(entry.gateway);
  const about = [source && `from ${source}`, gateway && `gateway ${gateway}`]
    .filter(Boolean)
    .join(', ');
  const head = `event ${id}${about ? ` (${about})` : ''}`;
  const where = `${text(entry.namespace) ?? '?'}/${text(entry.pod) ?? '?'}`;
  const reason = text(entry.reason) ?? '';
  const message = text(entry.message) ?? '';
  switch (entry.outcome) {
    case 'created':
      return `${head}: done, pod ${where} created`;
    case 'existed':
      return `${head}: done, pod ${where} already existed (a redelivery)`;
    case 'failed':
      return `${head}: failed ${reason}: ${message}`;
    case 'rejected':
      return `${head}: refused (${reason}): ${message}`;
    case 'unavailable':
      return `${head}: HTTP 503, to be sent again (${reason}): ${message}`;
    default:
      return `${head}: ${printable(String(entry.outcome))} ${reason} ${message}`.trim();
  }
}

/** What `npm run dev -- --traces` prints of a span: see testbed/otlp-receiver.ts. */
export interface TracedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly status: { readonly code: string; readonly message: string };
}

/** The attributes worth a glance, in this order; the others are in the collector's view. */
const KEY_ATTRIBUTES = [
  'cloudevents.event_id',
  'podgateway.gateway',
  'k8s.pod.name',
  'podgateway.outcome',
  'podgateway.reason',
  'http.response.status_code',
  'http.request.resend_count',
  'podgateway.wait.result',
];

/**
 * One line per span of a trace, parents first and children indented under them, in the order
 * they started: `[trace] <trace id> <name> <duration> <OK|ERROR> <key attributes>`.
 */
export function traceLines(spans: readonly TracedSpan[]): string[] {
  const ids = new Set(spans.map((span) => span.spanId));
  const byStart = [...spans].sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  const lines: string[] = [];
  const print = (span: TracedSpan, depth: number) => {
    lines.push(spanLine(span, depth));
    for (const child of byStart.filter((other) => other.parentSpanId === span.spanId)) {
      print(child, depth + 1);
    }
  };
  // The roots here: the event's span, whose parent is the producer's (not in this trace's spans).
  for (const root of byStart.filter((span) => !ids.has(span.parentSpanId))) print(root, 0);
  return lines;
}

function spanLine(span: TracedSpan, depth: number): string {
  const ms = Number(span.endNs - span.startNs) / 1e6;
  const failed = span.status.code === 'error';
  const attributes = KEY_ATTRIBUTES.filter((key) => span.attributes[key] !== undefined).map(
    (key) => `${key}=${printable(String(span.attributes[key]))}`,
  );
  if (failed && span.status.message)
    attributes.push(JSON.stringify(printable(span.status.message)));
  const name = `${'  '.repeat(depth)}${depth > 0 ? '└ ' : ''}${printable(span.name)}`;
  return `[trace] ${span.traceId} ${name} ${ms.toFixed(1)} ms ${failed ? 'ERROR' : 'OK'} ${attributes.join(' ')}`.trimEnd();
}
