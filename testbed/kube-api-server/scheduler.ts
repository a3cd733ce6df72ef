// A scheduler for the Kubernetes API test server: binds each new unbound pod to a node after a
// delay, as kube-scheduler does through the pods/binding subresource. Used by the bench
// (WAIT_FOR=scheduled under load, through scripts/bench/api-server.ts, which also routes the pods
// as deploy/'s webhooks do) and by tests. Run as a script, it starts an API server with a
// scheduler in a process of its own.
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type KubeApiServer, type StoredPod, startKubeApiServer } from './server.ts';

export interface SchedulerOptions {
  /** Time from the pod's creation to its binding. */
  readonly bindAfterMs: number;
  /** Nodes, used in turn. */
  readonly nodes?: readonly string[];
  /**
   * The scheduler's message when no node fits the pod, or undefined when one does: the pod then
   * gets PodScheduled=False, reason Unschedulable, and is never bound.
   */
  readonly unschedulable?: (pod: StoredPod) => string | undefined;
}

export interface Scheduler {
  /** Pods bound so far. */
  readonly bound: number;
  stop(): void;
}

/**
 * Follows kube-scheduler's outcome for a pod without spec.nodeName (pkg/scheduler/schedule_one.go:
 * a successful cycle binds it through pods/binding, which sets spec.nodeName and
 * PodScheduled=True, pkg/registry/core/pod/storage/storage.go; a failed one records
 * PodScheduled=False with reason Unschedulable and leaves the pod Pending). A pod deleted
 * before its turn is skipped, as the scheduler's queue drops it.
 */
export function startScheduler(server: KubeApiServer, options: SchedulerOptions): Scheduler {
  const nodes = options.nodes ?? ['node-1', 'node-2', 'node-3'];
  const timers = new Set<NodeJS.Timeout>();
  let bound = 0;
  const schedule = (namespace: string, name: string) => {
    const pod = server.pod(namespace, name);
    if (pod === undefined || pod.spec?.nodeName) return;
    const message = options.unschedulable?.(pod);
    if (message !== undefined) {
      server.updatePodStatus(namespace, name, {
        conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }],
      });
      return;
    }
    server.bindPod(namespace, name, nodes[bound % nodes.length] ?? 'node-1');
    bound += 1;
  };
  const unsubscribe = server.onChange((type, pod) => {
    const { namespace, name } = pod.metadata ?? {};
    if (type !== 'ADDED' || pod.spec?.nodeName || !namespace || !name) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      schedule(namespace, name);
    }, options.bindAfterMs);
    timers.add(timer);
  });
  return {
    get bound() {
      return bound;
    },
    stop() {
      unsubscribe();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/**
 * For the bench: an API server with a scheduler. Prints `{"url", "kubeconfig"}` on its first
 * line; then answers each line read on stdin with `{"watches": n, "bound": n}`.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      namespace: { type: 'string', multiple: true },
      'kubeconfig-dir': { type: 'string' },
      'bind-after-ms': { type: 'string', default: '5' },
    },
  });
  const server = await startKubeApiServer({ namespaces: values.namespace ?? ['default'] });
  const scheduler = startScheduler(server, { bindAfterMs: Number(values['bind-after-ms']) });
  const ownDir = values['kubeconfig-dir'] === undefined;
  const dir = values['kubeconfig-dir'] ?? (await mkdtemp(join(tmpdir(), 'kube-api-')));
  const kubeconfig = await server.writeKubeconfig(dir);
  process.stdout.write(`${JSON.stringify({ url: server.url, kubeconfig })}\n`);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', () => {
    process.stdout.write(
      `${JSON.stringify({ watches: server.openWatches, bound: scheduler.bound })}\n`,
    );
  });
  await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT'), once(lines, 'close')]);
  scheduler.stop();
  if (ownDir) await rm(dir, { recursive: true, force: true });
  await server.close();
  process.exit(0);
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
