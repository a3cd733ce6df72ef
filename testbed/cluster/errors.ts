/** A failure to report as one plain line (plus, at most, the tail of a log), without a stack. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
}

/** The last `count` non-empty lines of `text`, indented, for the end of an error message. */
export function tail(text: string, count = 15): string {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  return lines
    .slice(-count)
    .map((line) => `    ${line}`)
    .join('\n');
}
