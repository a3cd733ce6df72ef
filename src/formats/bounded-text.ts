// Text from a request, made safe to repeat: in a log line, a reply, a span, an Event or a
// terminal. A request may carry kilobytes in any field (the body limit is 64 KiB): copied whole
// into every message, the log's buffer and the span queue outgrow the heap (issue 25). And a
// terminal acts on what a log viewer prints raw (ESC sequences), or shows it reordered (U+202E).

/** Longest part of a request value repeated by default: a name or an id is far shorter. */
export const MAX_SHOWN_LENGTH = 256;

/**
 * Longest message told in a reply, a log line or a span: ours are a few hundred characters; one
 * that repeats an API server's or a kubelet's words may be longer.
 */
export const MAX_MESSAGE_LENGTH = 2048;

/** Longest part of a field, attribute or variable name repeated: the known ones are shorter. */
export const MAX_NAME_SHOWN = 64;

/**
 * Controls (Cc), format characters (Cf: the bidirectional marks and overrides, zero-width and
 * tag characters, the soft hyphen, the BOM), the line and paragraph separators, and lone
 * surrogates: none is shown as itself.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/**
 * `text` at most `max` characters of it, each unprintable character written `<U+001B>`, and a
 * marker telling how much was left out: `abc…[+59997 characters]`. Short, printable text is
 * returned as it is.
 */
export function bounded(text: string, max: number = MAX_SHOWN_LENGTH): string {
  if (text.length <= max) return text.replace(UNPRINTABLE, codePoint);
  const kept = copied(text.slice(0, cutAt(text, max)));
  return `${kept.replace(UNPRINTABLE, codePoint)}…[+${text.length - kept.length} characters]`;
}

/**
 * A copy of `part` that does not hold on to the string it was cut from: V8 makes a slice a view
 * of its parent, so a span keeping 256 characters of a 60 KB id kept all 60 KB alive (a silent
 * collector's export queue outgrew the heap that way). Through JSON, an ASCII copy stays one
 * byte per character (a UTF-16 buffer's would take two).
 */
function copied(part: string): string {
  return JSON.parse(JSON.stringify(part)) as string;
}

/** `bounded(text)` between double quotes, escaped as JSON: for messages that quote a value. */
export function quoted(text: string, max: number = MAX_SHOWN_LENGTH): string {
  return JSON.stringify(bounded(text, max));
}

/** `max`, or one less where `max` would split a surrogate pair. */
function cutAt(text: string, max: number): number {
  const last = text.charCodeAt(max - 1);
  return last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
}

function codePoint(character: string): string {
  const code = character.codePointAt(0) ?? 0;
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
}
