// Log lines are written apart from the answers: a test that reads one waits for it.
import assert from 'node:assert/strict';
import { eventually } from '../../testbed/eventually.ts';
import type { ServedFunction } from '../../testbed/function-process.ts';

/** Waits, up to 5 s, for the function's output to match `pattern`; else fails showing it. */
export async function outputMatching(fn: ServedFunction, pattern: RegExp): Promise<void> {
  await eventually(`output matching ${pattern}`, () => pattern.test(fn.output()), {
    timeoutMs: 5000,
  }).catch(() => assert.match(fn.output(), pattern));
}
