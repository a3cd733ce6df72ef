// `npm run dev`: the function on localhost, against an in-memory Kubernetes API (the test
// server of testbed/kube-api-server/), with no cluster. A local sandbox: pods are stored, admitted (the pod-gateway
// webhooks of deploy/ add their containers), validated and answered for as kube-apiserver would;
// a simulated scheduler and kubelet "run" them (nothing runs: only their status changes, and
// nothing is routed). `--fail-init GATEWAY` / `--fail-pull GATEWAY`: the kubelet fails that
// gateway's pods.
//
//   npm run dev [-- --port 8080]      then, in another terminal:   npm run invoke -- --gateway foo
//
// It listens on loopback only; `-- --host 0.0.0.0` (or another address) opens it to others.
// `--traces`: an OTLP/HTTP receiver in this process takes the function's spans, and each trace
// is printed once its event's span is in, one line per span.
//
// The function is configured as `func run` would configure it (func.yaml run.envs, overridden by
// the same variables from the environment), but with the token check off (no Broker sends tokens
// here), and may do only what deploy/rbac.yaml's Role grants.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, FORMER_NAMES, parseWholeNumber } from '../src/config/config.ts';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
} from '../testbed/otlp-receiver.ts';
import { makeTempDir, signalExitCode } from '../testbed/temp-dir.ts';
import { startClusterKubernetes } from './sandbox/cluster.ts';
import { startInMemoryKubernetes } from './sandbox/in-memory.ts';
import type { SandboxKubernetes } from './sandbox/kubernetes.ts';
import { sandboxLine, traceLines } from './sandbox-log.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNTIME_CLI = fileURLToPath(import.meta.resolve('faas-js-runtime/bin/cli.js'));

const USAGE = `usage: npm run dev -- [--port N] [--host ADDRESS] [--traces] [--cluster [--knative]] [--fail-init GATEWAY] [--fail-pull GATEWAY]
  --port N             where the function listens (FUNC_PORT, else 8080)
  --cluster            against a real control plane (kube-apiserver, etcd, scheduler, kwok nodes) built
                       from Go modules instead of the in-memory API (Go 1.26+; npm run cluster:build)
  --knative            with --cluster: also Knative Serving's webhook and controller, and Serving's,
                       Eventing's and Argo Events' CRDs (npm run cluster -- --help)
  --traces             print each event's trace, one line per span (OpenTelemetry, no collector)
  --host ADDRESS       the address it listens on (localhost; 0.0.0.0 opens it to others)
  --fail-init GATEWAY  that gateway's pods fail as a crashing gateway init would (repeatable)
  --fail-pull GATEWAY  that gateway's pods fail as an image that cannot be pulled would (repeatable)
  -h, --help           this text
The function runs against an in-memory Kubernetes API (or --cluster), configured from func.yaml's run.envs but
the token check, off (OIDC_AUDIENCE; the same variables in your environment win). Ctrl-C stops it all; its temporary folder goes too.`;

/** Set once the sandbox is stopping: Ctrl-C and the function's exit both lead there. */
let stopping = false;
/** The sandbox once its function is started: what a signal stops. */
let running: Sandbox | undefined;
/** Signals received: the first stops the sandbox cleanly, a second one exits at once. */
let signals = 0;

interface FuncYaml {
  readonly run?: { readonly envs?: ReadonlyArray<{ name: string; value: string }> };
}

interface Sandbox {
  readonly kubernetes: SandboxKubernetes;
  readonly function: ChildProcess;
  readonly dir: string;
  readonly traces: OtlpReceiver | undefined;
}

function readOptions() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        traces: { type: 'boolean' },
        cluster: { type: 'boolean' },
        knative: { type: 'boolean' },
        'fail-init': { type: 'string', multiple: true },
        'fail-pull': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    console.error(`npm run dev: ${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

/**
 * Ctrl-C or SIGTERM: stop the sandbox cleanly (its temporary folder removed); before it runs, or
 * at a second signal, exit at once (makeTempDir's exit hook still removes the folder).
 */
function onSignal(signal: NodeJS.Signals): void {
  signals += 1;
  if (running && signals === 1) void stop(running, 0);
  else process.exit(signalExitCode(signal));
}

async function main(): Promise<void> {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const values = readOptions();
  if (values.help) {
    console.log(USAGE);
    return;
  }
  // The function's own reader of whole numbers, as the runtime's FUNC_PORT is checked at start.
  const port =
    parseWholeNumber('--port / FUNC_PORT', values.port ?? process.env.FUNC_PORT, {
      least: 1,
      most: 65535,
    }) ?? 8080;

  const failing = { init: values['fail-init'] ?? [], pull: values['fail-pull'] ?? [] };
  if (values.cluster && failing.init.length + failing.pull.length > 0) {
    throw new Error('--fail-init and --fail-pull are for the in-memory sandbox, not --cluster');
  }
  if (values.knative && !values.cluster) {
    throw new Error('--knative needs --cluster: Knative runs in the real control plane');
  }
  await ensurePortFree(port);
  const env = await functionEnv();
  const namespace = env.CLIENT_NAMESPACE ?? 'client-system';
  const dir = makeTempDir('provisioner-sandbox-');
  const keys = {
    dir,
    namespace,
    gatewayLabel: env.GATEWAY_LABEL ?? 'setGateway',
    gatewayAnnotation: env.GATEWAY_ANNOTATION ?? 'setGateway',
  };
  const kubernetes = values.cluster
    ? await startClusterKubernetes({ ...keys, knative: values.knative === true })
    : await startInMemoryKubernetes({ ...keys, failing });
  const { kubeconfig, adminKubeconfig } = kubernetes;

  const traces = values.traces ? await startOtlpReceiver(printTraces()) : undefined;
  const child = spawn(process.execPath, [RUNTIME_CLI, 'index.ts'], {
    cwd: ROOT,
    env: {
      ...withoutInCluster(process.env),
      ...env,
      ...(traces ? tracingEnv(traces) : {}),
      // Info, for the line of each event that is done; the runtime's request lines are left out.
      FUNC_LOG_LEVEL: process.env.FUNC_LOG_LEVEL || 'info',
      KUBECONFIG: kubeconfig,
      FUNC_PORT: String(port),
      // Loopback only, unless asked: the sandbox makes pods for anyone who can reach it.
      LISTEN_HOST: values.host ?? 'localhost',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sandbox: Sandbox = { kubernetes, function: child, dir, traces };
  running = sandbox;
  printFunctionOutput(child, Boolean(process.env.FUNC_LOG_LEVEL));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    // Ctrl-C reaches the function too (same process group): it stops cleanly, so do we.
    const clean = code === 0 || signal === 'SIGINT' || signal === 'SIGTERM';
    if (!clean) console.error(`[sandbox] the function exited with ${code ?? signal}; stopping`);
    void stop(sandbox, clean ? 0 : (code ?? 1));
  });

  const url = `http://localhost:${port}`;
  const target = port === 8080 ? '' : ` --url ${url}`;
  if (!(await waitUntilReady(url, child))) {
    if (child.exitCode === null) console.error(`[sandbox] the function is not ready at ${url}`);
    await stop(sandbox, 1);
    return;
  }
  printBanner({ url, target, kubernetes, namespace, adminKubeconfig, env });
  if (traces) {
    console.log(
      `[sandbox] traces: each event's spans print here as [trace] lines (OTLP/HTTP at ${traces.url})`,
    );
  }
  kubernetes.reportPods();
}

/** Before anything starts: a port in use is one line, with the flag to pick another. */
async function ensurePortFree(port: number): Promise<void> {
  const probe = createServer();
  try {
    // Where the runtime listens: every address, IPv6 and IPv4.
    probe.listen(port, '::');
    await once(probe, 'listening');
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    if (code === 'EADDRINUSE') {
      throw new Error(
        `port ${port} is in use (another npm run dev?): pick another with npm run dev -- --port ${port === 8080 ? 8081 : port + 1}`,
      );
    }
    throw error;
  } finally {
    probe.close();
  }
}

/**
 * func.yaml's settings that the sandbox changes: no Broker sends tokens here, so the token check
 * (on in func.yaml, for the Broker's Triggers) is off unless our environment sets it.
 */
const SANDBOX_ENV: Readonly<Record<string, string>> = { OIDC_AUDIENCE: '', OIDC_SUBJECTS: '' };

/**
 * func.yaml run.envs, as `func run` sets them, but SANDBOX_ENV; the same names from our
 * environment win.
 */
async function functionEnv(): Promise<Record<string, string>> {
  const funcYaml = parse(await readFile(join(ROOT, 'func.yaml'), 'utf8')) as FuncYaml | null;
  const envs = funcYaml?.run?.envs;
  const env: Record<string, string> = {};
  for (const { name, value } of envs ?? []) env[name] = value;
  Object.assign(env, SANDBOX_ENV);
  for (const name of [...CONFIG_VARIABLES, ...Object.values(FORMER_NAMES)]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** The function's spans to the sandbox's receiver, as OTLP/JSON, exported within 0.2 s. */
function tracingEnv(receiver: OtlpReceiver): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_SERVICE_NAME: process.env.OTEL_SERVICE_NAME || 'podgateway-client-provisioner',
  };
}

/**
 * Keeps each trace's spans until its event's span (the SERVER span, the last to end) comes, then
 * prints the trace.
 */
function printTraces(): (spans: readonly ReceivedSpan[]) => void {
  const pending = new Map<string, ReceivedSpan[]>();
  return (spans) => {
    for (const span of spans) {
      const trace = pending.get(span.traceId) ?? [];
      trace.push(span);
      pending.set(span.traceId, trace);
      if (span.kind !== 'server') continue;
      pending.delete(span.traceId);
      for (const line of traceLines(trace)) console.log(line);
    }
  };
}

/** Never a real cluster: the in-cluster variables would make the function ignore KUBECONFIG. */
function withoutInCluster(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { KUBERNETES_SERVICE_HOST: _host, KUBERNETES_SERVICE_PORT: _port, ...rest } = env;
  return rest;
}

/** Each event as one readable line; all the runtime's lines when FUNC_LOG_LEVEL was asked for. */
function printFunctionOutput(child: ChildProcess, verbose: boolean): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      const shown = sandboxLine(line, verbose);
      if (shown !== undefined) console.log(shown);
    });
  }
}

/** Whether the function answered its readiness check within 30 s. */
async function waitUntilReady(url: string, child: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${url}/health/readiness`)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

interface BannerFacts {
  readonly url: string;
  /** Extra invoke arguments when not on the default port. */
  readonly target: string;
  readonly kubernetes: SandboxKubernetes;
  readonly namespace: string;
  readonly adminKubeconfig: string;
  readonly env: Record<string, string>;
}

function printBanner(facts: BannerFacts): void {
  const { url, target, kubernetes, namespace, adminKubeconfig, env } = facts;
  const title = kubernetes.title;
  const line = '='.repeat(title.length);
  console.log(`
${line}
${title}
${line}
  function        ${url}   (faas-js-runtime running index.ts)
  gateways        ${env.GATEWAYS || '(any)'}   (GATEWAYS, from func.yaml)
  tokens          ${env.OIDC_AUDIENCE ? `asked for, audience ${env.OIDC_AUDIENCE} (OIDC_AUDIENCE, from your environment)` : 'not asked for (OIDC_AUDIENCE: no Broker sends tokens in the sandbox)'}
${kubernetes.banner}

Send an event, in another terminal:
  npm run invoke -- --gateway foo${target}
  npm run invoke -- --file samples/pending-bar.json${target}
  curl -i ${url} -H 'ce-specversion: 1.0' -H 'ce-id: demo-1' -H 'ce-source: /manual' \\
    -H 'ce-type: io.podgateway.client.pending' -H 'content-type: application/json' \\
    -d '{"gateway_name": "foo"}'
Release the pod a done reply named, and sweep the finished ones:
  npm run invoke -- --release POD_NAME${target}
  npm run invoke -- --sweep${target}
Look at the pods, as a cluster admin (delete a pod, get events, get ns):
  export KUBECONFIG=${adminKubeconfig}
  kubectl get pods -n ${namespace} -L ${env.GATEWAY_LABEL || 'setGateway'}

Ctrl-C stops the function and the sandbox.
`);
}

async function stop(sandbox: Sandbox, code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const { function: child } = sandbox;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await once(child, 'exit');
    clearTimeout(timer);
  }
  // The kubeconfigs first: closing the server waits for its clients.
  await rm(sandbox.dir, { recursive: true, force: true });
  await sandbox.traces?.close();
  await sandbox.kubernetes.close();
  console.log('[sandbox] stopped');
  process.exit(code);
}

main().catch((error: unknown) => {
  console.error(`npm run dev: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
