// Runs the function as a user does: faas-js-runtime in its own process, configured by environment.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVICE_ACCOUNT_DIR } from '../src/config/config.ts';
import { eventually } from './eventually.ts';
import { type StartCommand, npmStartCommand as startCommandOf } from './start-command.ts';

export const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNTIME_CLI = fileURLToPath(import.meta.resolve('faas-js-runtime/bin/cli.js'));
const TEST_COMPILE_CACHE = join(PROJECT_ROOT, 'node_modules', '.cache', 'test-compile-cache');
/**
 * Preloaded into the function's process when this one runs with it, as `npm test`'s test files do
 * (test/support/client-bundle.ts): the function then loads the client library as one bundle, as
 * the built function does. Not in a benchmark's or a soak's function, which scripts/ start.
 */
const CLIENT_BUNDLE = join(PROJECT_ROOT, 'test', 'support', 'client-bundle.ts');
const WITH_CLIENT_BUNDLE = process.execArgv.some((arg) => arg.endsWith('client-bundle.ts'));

/** A function answering HTTP, in a process of its own or in this one (testbed/function-in-process.ts). */
export interface ServedFunction {
  readonly url: string;
  /** Everything the function printed so far (its own lines and the runtime's log). */
  output(): string;
  /** Still serving: not exited, not stopped. */
  alive(): boolean;
  stop(): Promise<number | null>;
}

export interface RunningFunction extends ServedFunction {
  readonly process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface FunctionOptions {
  /** Environment on top of a clean one (PATH and HOME only are kept from ours). */
  readonly env: Record<string, string>;
  /** Wrap the command, e.g. ['unshare', '--mount', ...] to change the filesystem it sees. */
  readonly wrap?: (command: string[]) => string[];
  /** The module faas-js-runtime loads, relative to the project root. */
  readonly entry?: string;
  /** Run what `npm start` runs (the built runtime and function): needs `npm run build`. */
  readonly asNpmStart?: boolean;
}

/** What `npm start` runs (testbed/start-command.ts), in this project. */
export function npmStartCommand(): StartCommand {
  return startCommandOf(PROJECT_ROOT);
}

/** Whether a process may take a private mount namespace here (`unshare --mount`). */
export const CAN_UNSHARE = spawnSync('unshare', ['--mount', 'true']).status === 0;

/**
 * A `wrap` that runs the function in a private mount namespace with `accountDir` bound at the
 * real service-account path, where the kubelet mounts the token and CA in a pod.
 */
export function withServiceAccountDir(accountDir: string): (command: string[]) => string[] {
  return (command) => [
    'unshare',
    '--mount',
    'sh',
    '-c',
    `mkdir -p ${SERVICE_ACCOUNT_DIR} && mount --bind "$0" ${SERVICE_ACCOUNT_DIR} && exec "$@"`,
    accountDir,
    ...command,
  ];
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Spawns the function without waiting for it: for start-up failures. */
export function spawnFunction(options: FunctionOptions, port: number): ChildProcess {
  noteSpawn();
  const start = options.asNpmStart ? npmStartCommand() : undefined;
  const command = [
    process.execPath,
    ...(start?.args ?? [RUNTIME_CLI, options.entry ?? 'index.ts']),
  ];
  const [file, ...args] = options.wrap ? options.wrap(command) : command;
  if (file === undefined) throw new Error('empty command');
  return spawn(file, args, {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      FUNC_PORT: String(port),
      FUNC_LOG_LEVEL: 'warn',
      // Node's compile cache, shared by the function processes of the suite: each start reads
      // the runtime's and the client library's compiled code instead of compiling it again.
      // Not for what `npm start` runs, which turns on a cache of its own (scripts/start.cjs).
      ...(start ? {} : { NODE_COMPILE_CACHE: TEST_COMPILE_CACHE }),
      // Most tests are not about routing and run without a gateway webhook; the routing tests
      // (test/pods/routing.test.ts) set REQUIRE_ROUTING themselves, and register the webhooks.
      REQUIRE_ROUTING: 'false',
      ...options.env,
      ...(WITH_CLIENT_BUNDLE && !start
        ? { NODE_OPTIONS: withBundle(options.env.NODE_OPTIONS) }
        : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** NODE_OPTIONS with the client bundle preloaded first (the test's own options, if any, after). */
function withBundle(nodeOptions: string | undefined): string {
  return [`--import="${CLIENT_BUNDLE}"`, nodeOptions].filter(Boolean).join(' ');
}

/**
 * With FUNCTION_SPAWN_LOG set to a file, each function process started appends the test file
 * that started it there: `npm test` is to start at most 20 (issue 26), counted with
 * `FUNCTION_SPAWN_LOG=/tmp/spawns npm test; sort /tmp/spawns | uniq -c`.
 */
function noteSpawn(): void {
  const log = process.env.FUNCTION_SPAWN_LOG;
  if (log) appendFileSync(log, `${process.argv[1] ?? '?'}\n`);
}

/** How long a stopped function may take to exit before it is killed. */
const STOP_GRACE_MS = 20_000;

/** The line that ends the function's access check at start (src/kube/access-check.ts). */
export const ACCESS_CHECKED = /access check in namespace/;

/** Attempts at a port: another process may take the one found free before the function binds it. */
const PORT_ATTEMPTS = 3;

/**
 * Starts the function and waits until it listens on its port, its readiness check answers 200
 * and its access check at start is over: its API requests come before any the test makes. A port
 * another process took meanwhile (the function exits with EADDRINUSE) is given up for another.
 */
export async function startFunction(options: FunctionOptions): Promise<RunningFunction> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnFreePort(options);
    } catch (error) {
      if (attempt >= PORT_ATTEMPTS || !String(error).includes('EADDRINUSE')) throw error;
    }
  }
}

async function startOnFreePort(options: FunctionOptions): Promise<RunningFunction> {
  const port = await freePort();
  const child = spawnFunction(options, port);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const running: RunningFunction = {
    url,
    process: child,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop(signal = 'SIGTERM') {
      // A process a signal ended has no exit code, only a signalCode: it has exited too.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      // Never wait for ever: a function that ignores the signal is killed.
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      const [code] = await exited;
      clearTimeout(kill);
      return code as number | null;
    },
  };
  await waitUntilReady(running);
  return running;
}

async function waitUntilReady(running: RunningFunction): Promise<void> {
  const ready = async () => {
    const { exitCode, signalCode } = running.process;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(`the function exited with ${exitCode ?? signalCode}:\n${running.output()}`);
    }
    // Its own line, said once it listens: not another server that took the port first.
    const port = new URL(running.url).port;
    if (!running.output().includes(`:${port} (`)) return false;
    const response = await fetch(`${running.url}/health/readiness`).catch(() => undefined);
    return response?.ok === true && ACCESS_CHECKED.test(running.output());
  };
  try {
    await eventually('the function to be ready', ready, { timeoutMs: 15_000, intervalMs: 50 });
  } catch (error) {
    if (running.process.exitCode === null && running.process.signalCode === null) {
      await running.stop('SIGKILL');
      throw new Error(`the function did not become ready:\n${running.output()}`);
    }
    throw error;
  }
}

/** Runs the function until it exits by itself (a start-up failure): its exit code and output. */
export async function runUntilExit(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawnFunction({ env }, await freePort());
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number | null, output };
}
