// Temporary folders (kubeconfigs, an admin one included; a test CA's key): removed when done, and
// at the latest when the process exits, whether it ends by itself, by process.exit, or by
// Ctrl-C / SIGTERM in the scripts that call exitOnSignals (or handle the signals and exit).
import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
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

/** Removes a folder of makeTempDir now. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  made.delete(dir);
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
