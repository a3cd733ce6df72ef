// Lengths as Go counts them: kube-apiserver's limits (an Event's note, reason, action and
// reportingInstance) are `len()` of a Go string, that is UTF-8 bytes, not UTF-16 units.

const MARKER = '…';

/**
 * `text` when it fits in `limit` UTF-8 bytes; else its longest prefix of whole code points that
 * fits with `marker` after it, the marker counted in the budget.
 */
export function clipUtf8Bytes(text: string, limit: number, marker: string = MARKER): string {
  if (Buffer.byteLength(text, 'utf8') <= limit) return text;
  const budget = limit - Buffer.byteLength(marker, 'utf8');
  let used = 0;
  let end = 0;
  // for…of walks code points: a surrogate pair is never split.
  for (const character of text) {
    const size = Buffer.byteLength(character, 'utf8');
    if (used + size > budget) break;
    used += size;
    end += character.length;
  }
  return `${text.slice(0, end)}${marker}`;
}
