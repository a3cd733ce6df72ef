// An error's message with those of its causes, for a one-line log or reply.
/** `fetch failed: connect ECONNREFUSED …`: the useful part sits in the causes. */
export function causeChain(error: Error): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error && parts.length < 4) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.join(': ');
}
