// Temporary folders of the scripts (kubeconfigs, an admin one included): removed when the process
// exits, whether it ends by itself, by process.exit, or by Ctrl-C / SIGTERM (exitOnSignals).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();

function removeAll(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/** A fresh folder under the system's temporary folder, removed at exit at the latest. */
export function makeTempDir(prefix: string): string {
  if (made.size === 0) process.on('exit', removeAll);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return dir;
}

/** The exit code of a process ended by `signal`, as a shell reports it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? 130 : 143;
}

/**
 * Ctrl-C and SIGTERM end the process through process.exit, so the exit hooks (the folders of
 * makeTempDir) run: a signal's default action would skip them.
 */
export function exitOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => process.exit(signalExitCode(signal)));
  }
}
