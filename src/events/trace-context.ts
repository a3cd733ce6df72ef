// The trace context an event carries (CloudEvents distributed-tracing extension, W3C Trace
// Context) is copied into the reply's headers. A value that cannot be a header (CR, LF, NUL,
// anything outside printable ASCII) would make every reply fail after the pod was made, so it is
// checked before anything happens, against the W3C forms.
import { quoted } from '../formats/bounded-text.ts';

/** `version-traceid-parentid-flags`, lowercase hex; a later version may append `-…` fields. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-[\x21-\x7e]*)?$/;
/** A tracestate list member: `key=value`, key with an optional `tenant@system` form. */
const TRACESTATE_MEMBER =
  /^([a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const MAX_TRACESTATE_LENGTH = 512;
const MAX_TRACESTATE_MEMBERS = 32;

/** What is wrong with the event's traceparent or tracestate; undefined when nothing. */
export function tracingProblem(event: {
  readonly traceparent?: unknown;
  readonly tracestate?: unknown;
}): string | undefined {
  const { traceparent, tracestate } = event;
  if (
    traceparent !== undefined &&
    !(typeof traceparent === 'string' && isTraceparent(traceparent))
  ) {
    return `traceparent ${shown(traceparent)} is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>, lowercase): it is copied into the reply's headers`;
  }
  if (tracestate !== undefined && !(typeof tracestate === 'string' && isTracestate(tracestate))) {
    return `tracestate ${shown(tracestate)} is not a W3C tracestate (key=value pairs of printable ASCII, comma-separated, at most ${MAX_TRACESTATE_LENGTH} characters): it is copied into the reply's headers`;
  }
  return undefined;
}

export function isTraceparent(value: string): boolean {
  const match = TRACEPARENT.exec(value);
  if (!match) return false;
  const [, version, traceId, parentId, future] = match;
  if (version === 'ff') return false;
  if (version === '00' && future !== undefined) return false;
  return !/^0+$/.test(traceId ?? '') && !/^0+$/.test(parentId ?? '');
}

export function isTracestate(value: string): boolean {
  if (value.length > MAX_TRACESTATE_LENGTH) return false;
  const members = value
    .split(',')
    .map((member) => member.replace(/^[ \t]+|[ \t]+$/g, ''))
    .filter((member) => member !== '');
  return (
    members.length <= MAX_TRACESTATE_MEMBERS && members.every((m) => TRACESTATE_MEMBER.test(m))
  );
}

/** The value for a message: JSON-quoted (control characters escaped), long ones cut. */
function shown(value: unknown): string {
  if (typeof value === 'string') return quoted(value, 80);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
