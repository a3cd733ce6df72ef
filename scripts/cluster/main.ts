// Starts the test cluster and keeps it up until SIGINT or SIGTERM:
//   node scripts/cluster/main.ts --dir DIR [--port 6443] [--nodes 2] [--knative]
// DIR/admin.kubeconfig and DIR/function.kubeconfig are written once it prints "cluster ready".
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, parseWholeNumber } from '../../src/config/config.ts';
import { type Cluster, startCluster } from '../../testbed/cluster/cluster.ts';
import { ClusterError } from '../../testbed/cluster/errors.ts';

const USAGE = `usage: npm run cluster -- --dir DIR [--port PORT] [--nodes N] [--knative]
  --dir DIR    where the cluster keeps its data, logs and kubeconfigs (admin.kubeconfig,
               function.kubeconfig); created if missing
  --port PORT  kube-apiserver's port on 127.0.0.1 (a free one by default)
  --nodes N    kwok nodes (2)
  --knative    also Knative Serving v0.42.2's webhook and controller with Serving's CRDs and
               ConfigMaps, Eventing's and Argo Events' CRDs (from ../shared/reference, beside the
               repository), and a helper that marks PodAutoscalers and KIngresses ready
Builds what is missing first (Go 1.26 or newer and the Go module proxy; minutes on a cold cache).`;

function options() {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    process.exit(2);
  }
  const { values } = parsed;
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.dir === undefined) throw new ClusterError(USAGE);
  return {
    dir: resolve(values.dir),
    apiServerPort: parseWholeNumber('--port', values.port, { least: 1, most: 65535 }),
    nodes: parseWholeNumber('--nodes', values.nodes, { least: 1, most: 100 }) ?? 2,
    knative: values.knative === true,
  };
}

function parseOptions() {
  return parseArgs({
    options: {
      dir: { type: 'string' },
      port: { type: 'string' },
      nodes: { type: 'string' },
      knative: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((done) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => done(signal));
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const stopping = untilSignal();
  let cluster: Cluster | undefined;
  const startup = startCluster(options()).then((ready) => {
    cluster = ready;
  });
  // A signal during start-up must not leave half a cluster behind: startCluster's own
  // clean-up runs when it fails, and a signal here exits through process 'exit' (kills all).
  const first = await Promise.race([startup.then(() => 'ready' as const), stopping]);
  if (first !== 'ready') process.exit(130);
  console.log(`cluster ready: ${cluster?.dir} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  console.log(`  kubectl --kubeconfig ${cluster?.adminKubeconfig} get nodes`);
  const signal = await stopping;
  console.log(`${signal}: stopping the cluster…`);
  await cluster?.stop();
}

main().catch((error: unknown) => {
  // A bad flag, or what the cluster says, in one line; anything else with its stack.
  const plain = error instanceof ClusterError || error instanceof ConfigError;
  console.error(plain ? error.message : error);
  process.exit(1);
});
