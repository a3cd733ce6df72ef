// The data of an incoming event as a JSON object, read field by field.
import { MAX_NAME_SHOWN, quoted } from '../formats/bounded-text.ts';
import { controlCharacterIn } from '../formats/control-characters.ts';
import { invisibleCharacterIn } from '../formats/invisible-characters.ts';

/** Longest event `id`, `source` and `message` accepted: they are stored on the pod. */
export const MAX_ATTRIBUTE_LENGTH = 1024;

/** Reads one field of the event data; `undefined` when absent. */
export type DataField = (name: string) => unknown;

/** The event data as a JSON object, or why it is not one; `example` shows what is expected. */
export function readDataObject(
  data: unknown,
  contentType: unknown,
  example: string,
): DataField | string {
  const expected = `expected a JSON object such as ${example}`;
  if (typeof contentType === 'string' && !isJsonType(contentType)) {
    return `datacontenttype ${quoted(contentType)} is not JSON; ${expected}, as application/json`;
  }
  if (data === undefined || data === null) return `the event has no data; ${expected}`;
  if (ArrayBuffer.isView(data)) return `the event data is binary; ${expected}`;
  if (typeof data !== 'object' || Array.isArray(data)) {
    return `the event data is ${describeJsonType(data)}; ${expected}`;
  }
  // Own properties only: a `__proto__` key in the JSON must not reach the prototype chain.
  const object = data as Readonly<Record<string, unknown>>;
  return (name) => (Object.hasOwn(object, name) ? object[name] : undefined);
}

/**
 * An event `id` or `source` too long to carry back in a reply's headers, or holding a character
 * that must not be stored on a pod or printed (src/formats/control-characters.ts).
 */
export function attributeProblem(event: { id: string; source: string }): string | undefined {
  for (const attribute of ['id', 'source'] as const) {
    if (event[attribute].length > MAX_ATTRIBUTE_LENGTH) {
      return `event ${attribute} is longer than ${MAX_ATTRIBUTE_LENGTH} characters`;
    }
    const problem = hiddenCharacterProblem(`event ${attribute}`, event[attribute]);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Why `text` must not be stored on a pod or told in an Event: a control, line-separator or
 * bidirectional character, or one that prints as nothing; undefined when it holds none.
 */
export function hiddenCharacterProblem(what: string, text: string): string | undefined {
  const control = controlCharacterIn(text);
  if (control !== undefined) return controlCharacterMessage(what, control);
  const invisible = invisibleCharacterIn(text);
  if (invisible !== undefined) {
    return `${what} holds an invisible or format character (${invisible}): values that differ only by it would read the same in Events, logs and kubectl`;
  }
  return undefined;
}

/** The 400's message for a control character in `what`. */
function controlCharacterMessage(what: string, where: string): string {
  return `${what} holds a control, line-separator or bidirectional character (${where}): it would be stored on the pod and printed raw`;
}

function isJsonType(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type === 'text/json' || type.endsWith('+json');
}

/** `a number`, `an array`, `null`: what a JSON value is, for messages. */
export function describeJsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * One warning per data field the event type does not know, with the nearest known name when one
 * is a typo away: a producer who misspells an override must learn it was not applied.
 */
export function unknownFieldWarnings(data: unknown, known: readonly string[]): string[] {
  if (typeof data !== 'object' || data === null) return [];
  return Object.keys(data)
    .filter((name) => !known.includes(name))
    .slice(0, MAX_WARNINGS)
    .map((name) => {
      const near = known.find((candidate) => editDistance(candidate, name) <= 2);
      const hint = near === undefined ? '' : ` (did you mean "${near}"?)`;
      return `data.${quoted(name, MAX_NAME_SHOWN).slice(1, -1)} is not a field of this event and was ignored${hint}; the fields are ${known.join(', ')}`;
    });
}

const MAX_WARNINGS = 10;

/**
 * For a required field that is missing: `; data.gateway_nme was given: did you mean "gateway_name"?`
 * when one of the first unknown fields is a typo away from it, else ''. Bounded like the warnings.
 */
export function misspeltFieldHint(data: unknown, wanted: string, known: readonly string[]): string {
  if (typeof data !== 'object' || data === null) return '';
  const near = Object.keys(data)
    .filter((name) => !known.includes(name))
    .slice(0, MAX_WARNINGS)
    .find((name) => editDistance(wanted, name) <= 2);
  if (near === undefined) return '';
  return `; data.${quoted(near, MAX_NAME_SHOWN).slice(1, -1)} was given: did you mean "${wanted}"?`;
}

/** Levenshtein distance, for short names only. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || b.length > 64) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
