// The cluster's child processes: each in a process group of its own (so that stopping it stops
// whatever it started), its output in DIR/logs/<name>.log, stopped with SIGTERM then SIGKILL.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { eventually } from '../eventually.ts';
import { ClusterError, tail } from './errors.ts';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Settles with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<string>;
  running(): boolean;
  stop(graceMs?: number): Promise<void>;
}

/** Every live process group, so that a launcher dying from an error takes them along. */
const liveGroups = new Set<number>();
process.on('exit', () => {
  for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
});

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

export function logTail(logFile: string, lines = 15): string {
  try {
    return tail(readFileSync(logFile, 'utf8'), lines);
  } catch {
    return '    (no log)';
  }
}

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  logDir: string,
  env: Readonly<Record<string, string>> = {},
): ManagedProcess {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env },
  });
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new ClusterError(`${name} did not start (${command})`);
  liveGroups.add(pid);
  let alive = true;
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      alive = false;
      // The leader is gone; anything left in its group goes too.
      signalGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
      resolve(signal ?? String(code));
    });
  });
  const stop = async (graceMs = 5000): Promise<void> => {
    if (!alive) return;
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return { name, pid, logFile, exited, running: () => alive, stop };
}

/** Rejects as soon as any of `processes` ends: for racing against a start-up wait. */
export function failOnExit(processes: readonly ManagedProcess[]): Promise<never> {
  return new Promise<never>((_, reject) => {
    for (const managed of processes) {
      void managed.exited.then((how) => {
        reject(
          new ClusterError(
            `${managed.name} exited early (${how}); the end of ${managed.logFile}:\n${logTail(managed.logFile)}`,
          ),
        );
      });
    }
  });
}

/** A port of 127.0.0.1 that nothing listens on now; `wanted` (if any) or one the kernel picks. */
export function loopbackPort(wanted = 0, what = 'a component'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new ClusterError(`port ${wanted} on 127.0.0.1 is in use: pick another for ${what}`)
          : error,
      );
    });
    server.listen(wanted, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` every `intervalMs` until it is true; ClusterError naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<void> {
  try {
    await eventually(what, () => check().catch(() => false), { timeoutMs, intervalMs });
  } catch (error) {
    throw new ClusterError(error instanceof Error ? error.message : String(error));
  }
}
