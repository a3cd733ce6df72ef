// The sandbox's view of the function's output: one readable line per event from the function's
// JSON `provision` lines, the runtime's per-request info lines left out, everything else as is.

/** What to print for one line of the function's output; undefined: nothing. */
export function sandboxLine(line: string, verbose: boolean): string | undefined {
  const entry = parseJsonLine(line);
  if (entry === undefined) return `[function] ${line}`;
  if (entry.msg === 'provision') return `[sandbox] ${describeEvent(entry)}`;
  // The runtime's own request lines (info) are the function's at FUNC_LOG_LEVEL=info and below.
  const level = typeof entry.level === 'number' ? entry.level : 0;
  if (!verbose && level < 40) return undefined;
  return `[function] ${line}`;
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
  return typeof value === 'string' && value !== '' ? value : undefined;
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
      return `${head}: ${String(entry.outcome)} ${reason} ${message}`.trim();
  }
}
