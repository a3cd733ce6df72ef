// Characters that must not reach a pod's annotations or a log line: a terminal acts on them
// (`kubectl describe` prints annotations raw) or they reorder or break what the operator reads.

/**
 * C0 controls (tab, CR, LF, ESC…), DEL and C1 controls (Unicode category Cc), the bidirectional marks, embeddings,
 * overrides and isolates (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), and the line
 * and paragraph separators U+2028 and U+2029.
 */
const CONTROL = /[\p{Cc}\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/u;

/** Where the first such character is, as `U+001B at position 4`; undefined when there is none. */
export function controlCharacterIn(text: string): string | undefined {
  const match = CONTROL.exec(text);
  if (match === null) return undefined;
  const code = match[0].codePointAt(0) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${match.index}`;
}
