// Runs the function in the test's own process: faas-js-runtime's `start` with the function's
// hooks (src/lifecycle/function.ts), as knative/func's TypeScript template tests do, listening on
// loopback and answering real HTTP; and start-up alone, for the settings it refuses. Signals,
// the real exit, the built bundle, mount namespaces and NODE_OPTIONS need a process of their own
// (testbed/function-process.ts).
import { Console } from 'node:console';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type ProvisionerFunction, provisionerFunction } from '../src/lifecycle/function.ts';
import { startOrExit } from '../src/lifecycle/startup.ts';
import { eventually } from './eventually.ts';
import { ACCESS_CHECKED, type ServedFunction } from './function-process.ts';

/** What the runtime's `start` reads of its options (its index.js loadConfig). */
interface RuntimeOptions {
  /**
   * `'0'`: any free port, chosen as it listens (no other server can take it in between). A
   * string: the runtime reads `options.port || 8080`, and the number 0 would be 8080.
   */
  readonly port: string;
  readonly logLevel: string;
  readonly bodyLimit: number | string;
  /** Where func.yaml is looked for: an empty folder, so that the project's is not read. */
  readonly config: string;
}
/** The runtime's `start` (a CommonJS export Node cannot name in an import). */
const { start: startRuntime } = createRequire(import.meta.url)('faas-js-runtime') as {
  start(func: ProvisionerFunction, options: RuntimeOptions): Promise<Server>;
};

/** The signals on which the runtime (its `death` dependency) shuts down and exits, on each start. */
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT'];

/**
 * Runs `starting` and removes the process-wide handlers it added: the runtime's, which would end
 * the test's process on an uncaught exception or a signal.
 */
async function withoutProcessHandlers<T>(starting: () => Promise<T>): Promise<T> {
  const signals = new Map(SIGNALS.map((name) => [name, new Set(process.listeners(name))]));
  const uncaught = new Set(process.listeners('uncaughtException'));
  const started = await starting();
  for (const name of SIGNALS) {
    for (const listener of process.listeners(name)) {
      if (!signals.get(name)?.has(listener)) process.removeListener(name, listener);
    }
  }
  for (const listener of process.listeners('uncaughtException')) {
    if (!uncaught.has(listener)) process.removeListener('uncaughtException', listener);
  }
  return started;
}

/**
 * Starts the function in this process, configured by `env` alone (as a process's clean
 * environment would be), and waits until it is ready and its access check at start is over.
 * Start one at a time: the function finds its server as the next one Fastify makes.
 */
export async function startInProcess(env: Record<string, string>): Promise<ServedFunction> {
  const fullEnv = functionEnv(env);
  let output = '';
  const printer = capturingConsole((text) => {
    output += text;
  });
  const fn = provisionerFunction(fullEnv, printer);
  const restoreOtel = withOtelVariables(fullEnv);
  const configDir = await mkdtemp(join(tmpdir(), 'provisioner-in-process-'));
  const server = await withoutProcessHandlers(() =>
    startRuntime(
      {
        ...fn,
        // After the function's own subscription: the runtime's log lines go to the capture too.
        init: async () => {
          await fn.init();
          captureNextServerLog((line) => {
            output += line;
          });
        },
      },
      {
        port: '0',
        logLevel: fullEnv.FUNC_LOG_LEVEL ?? 'warn',
        bodyLimit: fullEnv.FUNC_BODY_LIMIT || 1024 * 1024,
        config: configDir,
      },
    ),
  );
  const address = server.address();
  if (address === null || typeof address === 'string')
    throw new Error('the function listens on no port');
  let stopped = false;
  const served: ServedFunction = {
    url: `http://127.0.0.1:${address.port}`,
    output: () => output,
    alive: () => !stopped && server.listening,
    async stop() {
      if (stopped) return 0;
      stopped = true;
      await fn.shutdown();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(configDir, { recursive: true, force: true });
      restoreOtel();
      return 0;
    },
  };
  try {
    await eventually('the function to be ready', () => ACCESS_CHECKED.test(output), {
      timeoutMs: 15_000,
      intervalMs: 20,
    });
  } catch (error) {
    await served.stop();
    throw new Error(`the function did not become ready:\n${output}`, { cause: error });
  }
  return served;
}

/** The environment a function process would have, as testbed/function-process.ts sets it. */
function functionEnv(env: Record<string, string>): Record<string, string> {
  // Most tests run without a gateway webhook (test/pods/routing.test.ts sets REQUIRE_ROUTING).
  return { FUNC_LOG_LEVEL: 'warn', REQUIRE_ROUTING: 'false', ...env };
}

/** A console whose lines go to `write`. */
function capturingConsole(write: (text: string) => void): Console {
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      write(chunk.toString());
      done();
    },
  });
  return new Console(stream, stream);
}

/** How start-up ended where the process would have exited: with the code it was given. */
class Exited extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/**
 * Start-up alone, in this process, configured by `env` as runUntilExit's process would be: the
 * exit code a start-up failure ends with (null when it started), and what it printed. For the
 * settings refused at start; one process test keeps the real exit (test/lifecycle/startup.test.ts).
 */
export async function startupOutcome(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  let output = '';
  const printer = capturingConsole((text) => {
    output += text;
  });
  const restoreOtel = withOtelVariables(env);
  try {
    const started = await startOrExit(functionEnv(env), printer, (code) => {
      throw new Exited(code);
    });
    await started.podWatch?.stop();
    await started.tracing?.shutdown(0);
    return { code: null, output };
  } catch (error) {
    if (error instanceof Exited) return { code: error.code, output };
    throw error;
  } finally {
    restoreOtel();
  }
}

/**
 * The OpenTelemetry SDK reads its OTEL_* variables (service name, resource attributes, exporter
 * settings) from process.env itself: the function's are put there while it runs. Returns the undo.
 */
function withOtelVariables(env: Record<string, string>): () => void {
  const names = Object.keys(env).filter((name) => name.startsWith('OTEL_'));
  const saved = new Map(names.map((name) => [name, process.env[name]]));
  for (const name of names) process.env[name] = env[name];
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

const CHANNEL = 'fastify.initialization';
const PINO_STREAM = 'pino.stream';

/** Points the next Fastify instance's logger (pino) at `write` instead of this process's stdout. */
function captureNextServerLog(write: (line: string) => void): void {
  const onInstance = (message: unknown): void => {
    unsubscribe(CHANNEL, onInstance);
    const logger: unknown =
      typeof message === 'object' && message !== null && 'fastify' in message
        ? Reflect.get(Object(message.fastify), 'log')
        : undefined;
    if (typeof logger !== 'object' || logger === null) return;
    const symbol = Object.getOwnPropertySymbols(logger).find((s) => s.description === PINO_STREAM);
    if (symbol !== undefined) Reflect.set(logger, symbol, { write });
  };
  subscribe(CHANNEL, onInstance);
}
