// Waiting for something observable, in the tests and the scripts: the one bounded poll they share.

export interface Patience {
  /** How long to keep asking; 10 s unless given. */
  readonly timeoutMs?: number;
  /** The pause between two asks; 20 ms unless given. */
  readonly intervalMs?: number;
}

/**
 * Asks `check` until it answers true; after `timeoutMs` an Error naming `what`. A `check` that
 * throws ends the wait with its error: say, the process waited on exited.
 */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 20 }: Patience = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
