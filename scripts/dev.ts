// `npm run dev`: the function on localhost, against an in-memory Kubernetes API (the test server
// of test/support), with no cluster. A local sandbox: pods are stored, validated and answered
// for as kube-apiserver would; a simulated scheduler and kubelet "run" them (nothing runs: only
// their status changes), and a simulated gateway webhook adds its containers (nothing is routed).
// `--fail-init GATEWAY` / `--fail-pull GATEWAY`: the kubelet fails that gateway's pods.
//
//   npm run dev [-- --port 8080]      then, in another terminal:   npm run invoke -- --gateway foo
//
// The function is configured as `func run` would configure it (func.yaml run.envs, overridden by
// the same variables from the environment), and may do only what deploy/rbac.yaml's Role grants.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../src/config.ts';
import { readDeployedRole } from '../test/support/deployed-role.ts';
import {
  type Authorizer,
  authorizerFromRules,
  type KubeApiServer,
  type PolicyRule,
  startKubeApiServer,
} from '../test/support/kube-api-server.ts';
import {
  describePodState,
  injectGatewayContainers,
  type KubeletFailure,
  startKubelet,
} from '../test/support/kube-kubelet.ts';
import { startScheduler } from '../test/support/kube-scheduler.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RUNTIME_CLI = fileURLToPath(import.meta.resolve('faas-js-runtime/bin/cli.js'));
const BANNER =
  'LOCAL SANDBOX: pods are created in an in-memory Kubernetes API test server, not a cluster';

/** Set once the sandbox is stopping: Ctrl-C and the function's exit both lead there. */
let stopping = false;

interface FuncYaml {
  readonly run?: { readonly envs?: ReadonlyArray<{ name: string; value: string }> };
}

interface Sandbox {
  readonly server: KubeApiServer;
  readonly function: ChildProcess;
  readonly dir: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      'fail-init': { type: 'string', multiple: true },
      'fail-pull': { type: 'string', multiple: true },
    },
  });
  const port = Number(values.port ?? process.env.FUNC_PORT ?? '8080');
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`--port / FUNC_PORT: "${values.port ?? process.env.FUNC_PORT}" is not a port`);
  }

  const env = await functionEnv();
  const namespace = env.CLIENT_NAMESPACE ?? 'client-system';
  const { account, rules } = await readDeployedRole();
  const server = await startKubeApiServer({
    namespaces: [namespace],
    user: `system:serviceaccount:${namespace}:${account}`,
    authorize: sandboxAuthorizer(rules, namespace),
    mutate: injectGatewayContainers(env.GATEWAY_LABEL || 'setGateway'),
  });
  const failing = { init: values['fail-init'] ?? [], pull: values['fail-pull'] ?? [] };
  startSimulatedNodes(server, env.GATEWAY_LABEL || 'setGateway', failing);
  const dir = await mkdtemp(join(tmpdir(), 'provisioner-sandbox-'));
  const kubeconfig = await server.writeKubeconfig(dir);

  const child = spawn(process.execPath, [RUNTIME_CLI, 'index.ts'], {
    cwd: ROOT,
    env: {
      ...withoutInCluster(process.env),
      ...env,
      KUBECONFIG: kubeconfig,
      FUNC_PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const sandbox: Sandbox = { server, function: child, dir };
  prefixLines(child, '[function] ');
  const stopOnSignal = () => void stop(sandbox, 0);
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
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
  printBanner({ url, target, server, namespace, kubeconfig, env, failing });
  reportNewPods(server, namespace, env);
}

/** func.yaml run.envs, as `func run` sets them; the same names from our environment win. */
async function functionEnv(): Promise<Record<string, string>> {
  const funcYaml = parse(await readFile(join(ROOT, 'func.yaml'), 'utf8')) as FuncYaml | null;
  const envs = funcYaml?.run?.envs;
  const env: Record<string, string> = {};
  for (const { name, value } of envs ?? []) env[name] = value;
  for (const name of CONFIG_VARIABLES) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * What deploy/rbac.yaml's Role grants, so a call the Role lacks fails here as in a cluster; and
 * reading pods in the namespace, so that `kubectl get pods` can look (one identity serves both).
 */
function sandboxAuthorizer(rules: readonly PolicyRule[], namespace: string): Authorizer {
  const role = authorizerFromRules(rules, namespace);
  return (attrs) =>
    role(attrs) ||
    (attrs.namespace === namespace &&
      attrs.resource === 'pods' &&
      ['get', 'list', 'watch'].includes(attrs.verb));
}

/** Never a real cluster: the in-cluster variables would make the function ignore KUBECONFIG. */
function withoutInCluster(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { KUBERNETES_SERVICE_HOST: _host, KUBERNETES_SERVICE_PORT: _port, ...rest } = env;
  return rest;
}

function prefixLines(child: ChildProcess, prefix: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => console.log(`${prefix}${line}`));
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
  readonly server: KubeApiServer;
  readonly namespace: string;
  readonly kubeconfig: string;
  readonly env: Record<string, string>;
  readonly failing: Failing;
}

function printBanner({ url, target, server, namespace, kubeconfig, env, failing }: BannerFacts) {
  const fails = [
    ...failing.init.map((gateway) => `${gateway}: init fails`),
    ...failing.pull.map((gateway) => `${gateway}: pull fails`),
  ];
  const line = '='.repeat(BANNER.length);
  console.log(`
${line}
${BANNER}
${line}
  function        ${url}   (faas-js-runtime running index.ts)
  Kubernetes API  ${server.url}   (in memory; namespace ${namespace}; kubeconfig ${kubeconfig})
  gateways        ${env.GATEWAYS || '(any)'}   (GATEWAYS, from func.yaml)
  nodes           SIMULATED scheduler and kubelet: pods are bound after 0.5 s, Running and
                  ready 1 s later; nothing runs in them${fails.length > 0 ? ` (${fails.join('; ')})` : ''}
  The pods are stored and validated as a real API server would; a simulated gateway webhook adds
  its containers, but nothing routes them. The function may do what deploy/rbac.yaml's Role grants.
  WAIT_FOR=ready npm run dev: done once the pod is ready (--fail-init / --fail-pull GATEWAY: failed).

Send an event, in another terminal:
  npm run invoke -- --gateway foo${target}
  npm run invoke -- --file samples/pending-bar.json${target}
  curl -i ${url} -H 'ce-specversion: 1.0' -H 'ce-id: demo-1' -H 'ce-source: /manual' \\
    -H 'ce-type: io.podgateway.client.pending' -H 'content-type: application/json' \\
    -d '{"gateway_name": "foo"}'
Release the pod a done reply named, and sweep the finished ones:
  npm run invoke -- --release POD_NAME${target}
  npm run invoke -- --sweep${target}
Look at the pods:
  kubectl --kubeconfig ${kubeconfig} get pods -n ${namespace} -L ${env.GATEWAY_LABEL || 'setGateway'}

Ctrl-C stops the function and the sandbox.
`);
}

interface Failing {
  readonly init: readonly string[];
  readonly pull: readonly string[];
}

/** The simulated scheduler and kubelet, and a line for each pod state they bring. */
function startSimulatedNodes(server: KubeApiServer, gatewayLabel: string, failing: Failing) {
  startScheduler(server, { bindAfterMs: 500 });
  startKubelet(server, {
    startAfterMs: 1000,
    fail: (pod): KubeletFailure | undefined => {
      const gateway = pod.metadata?.labels?.[gatewayLabel] ?? '';
      if (failing.init.includes(gateway)) return { kind: 'init', message: 'simulated failure' };
      return failing.pull.includes(gateway) ? { kind: 'pull' } : undefined;
    },
  });
  const told = new Map<string, string>();
  server.onChange((type, pod) => {
    const name = pod.metadata?.name ?? '';
    const state = type === 'DELETED' ? 'deleted' : describePodState(pod);
    if (type === 'ADDED' || told.get(name) === state) return;
    told.set(name, state);
    console.log(`[sandbox] pod ${name}: ${state}`);
  });
}

/** Prints each pod as it appears in the sandbox. */
function reportNewPods(server: KubeApiServer, namespace: string, env: Record<string, string>) {
  const labelKey = env.GATEWAY_LABEL ?? 'setGateway';
  const annotationKey = env.GATEWAY_ANNOTATION ?? 'setGateway';
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const pod of server.pods(namespace)) {
      const name = pod.metadata?.name ?? '';
      if (seen.has(name)) continue;
      seen.add(name);
      const gateway =
        (labelKey && pod.metadata?.labels?.[labelKey]) ||
        (annotationKey && pod.metadata?.annotations?.[annotationKey]) ||
        '?';
      console.log(`[sandbox] pod created: ${namespace}/${name} (gateway ${gateway})`);
    }
  }, 200);
  timer.unref();
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
  await sandbox.server.close();
  await rm(sandbox.dir, { recursive: true, force: true });
  console.log('[sandbox] stopped');
  process.exit(code);
}

main().catch((error: unknown) => {
  console.error(`npm run dev: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
