// The processes measured: the API test server, and each subject spawned alone; their RSS and CPU
// time read from /proc.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../testbed/function-process.ts';
import { NAMESPACE, ROOT, type Subject } from './options.ts';

export interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  output(): string;
}

/** scripts/bench/api-server.ts; with bindAfterMs, its scheduler binds each pod that long after. */
export async function startApiServer(
  dir: string,
  bindAfterMs?: number,
): Promise<{ child: ChildProcess; kubeconfig: string }> {
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'scripts/bench/api-server.ts'),
      '--namespace',
      'default',
      '--namespace',
      NAMESPACE,
      '--kubeconfig-dir',
      dir,
      ...(bindAfterMs === undefined ? [] : ['--bind-after-ms', String(bindAfterMs)]),
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  if (!child.stdout) throw new Error('no stdout');
  const lines = createInterface({ input: child.stdout });
  const [line] = (await once(lines, 'line')) as [string];
  lines.close();
  const { kubeconfig } = JSON.parse(line) as { kubeconfig: string };
  return { child, kubeconfig };
}

export async function spawnSubject(subject: Subject): Promise<Running> {
  const port = await freePort();
  const child = spawn(process.execPath, subject.args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      FUNC_PORT: String(port),
      ...subject.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, port, output: () => output };
}

export async function stop(running: Running): Promise<void> {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return;
  const exited = once(running.child, 'exit');
  running.child.kill('SIGKILL');
  await exited;
}

/** Resident set size of a process, in MB. */
export function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** CPU time (user + system, all threads) a process has used, in ms (10 ms ticks). */
export function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
