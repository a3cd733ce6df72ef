// Characters that print as nothing: two values that differ only by one of them read the same in
// an Event's note, a log line or `kubectl describe`, so one producer's pod can pass for another's.

/**
 * Format characters (Unicode category Cf: U+00AD soft hyphen, U+200B zero width space, U+2060
 * word joiner, U+FEFF, the tag characters U+E0001 and U+E0020–U+E007F, the bidirectional marks),
 * the default-ignorable code points (Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation
 * selectors, the unassigned tags up to U+E0FFF, the combining grapheme joiner U+034F) and the
 * braille blank U+2800, which renders as a space in most fonts.
 */
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\u2800]/u;

/** Where the first such character is, as `U+200B at position 4`; undefined when there is none. */
export function invisibleCharacterIn(text: string): string | undefined {
  const match = INVISIBLE.exec(text);
  if (match === null) return undefined;
  const code = match[0].codePointAt(0) ?? 0;
  return `U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${match.index}`;
}
