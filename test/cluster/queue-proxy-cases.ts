// The built function (what `npm start` runs) behind Serving's own queue-proxy, with the env the
// controller wrote for deploy/service.yaml: events go through it, at most containerConcurrency
// reach the function at once, its readiness probing reaches the function's readiness route, a
// request past the revision timeout gets its 504 and the redelivery makes no second pod.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { ANNOTATIONS, podNameFor } from '../../src/pods/client-pod.ts';
import { ensureBinaries } from '../../testbed/cluster/build.ts';
import type { Cluster } from '../../testbed/cluster/cluster.ts';
import { CLIENT_NAMESPACE, loadKubeConfig } from '../../testbed/cluster/manifests.ts';
import { waitUntil } from '../../testbed/cluster/processes.ts';
import {
  PROBE_HEADERS,
  type RunningQueueProxy,
  startQueueProxy,
} from '../../testbed/cluster/queue-proxy.ts';
import { type RunningFunction, startFunction } from '../../testbed/function-process.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';

const DONE = 'io.podgateway.client.scheduling.done';
/** Short, so that the cases blocked by a webhook down end soon (503 WebhookUnavailable). */
const EVENT_DEADLINE_MS = 4000;
/** A revision timeout shorter than that deadline, for the 504 case. */
const SHORT_REVISION_TIMEOUT_SECONDS = 2;

/** The user container's env as Serving wrote it, without what only Serving's pod needs. */
function functionEnv(user: k8s.V1Container, kubeconfig: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of user.env ?? []) {
    // An empty value is left out of the Deployment's JSON: it is "".
    if (variable.valueFrom === undefined && variable.name !== 'PORT') {
      env[variable.name] = variable.value ?? '';
    }
  }
  return { ...env, KUBECONFIG: kubeconfig, EVENT_DEADLINE_MS: String(EVENT_DEADLINE_MS) };
}

/**
 * The `authorization` a Broker sends with deploy/'s OIDC settings on: a token of the first
 * Trigger's OIDC ServiceAccount (made here, as Eventing makes it) for the function's audience.
 */
async function brokerAuthorization(
  admin: k8s.KubeConfig,
  env: Readonly<Record<string, string>>,
): Promise<Record<string, string>> {
  const audience = env.OIDC_AUDIENCE ?? '';
  if (audience === '') return {};
  const subject = (env.OIDC_SUBJECTS ?? '').split(',')[0] ?? '';
  const [, , namespace = '', name = ''] = subject.split(':');
  const core = admin.makeApiClient(k8s.CoreV1Api);
  await core
    .createNamespacedServiceAccount({ namespace, body: { metadata: { name } } })
    .catch((error: unknown) => {
      if ((error as { code?: number }).code !== 409) throw error;
    });
  const answer = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [audience], expirationSeconds: 3600 } },
  });
  return { authorization: `Bearer ${answer.status?.token ?? ''}` };
}

/**
 * podgateway_inflight_requests, from the function's own /metrics. The function's metrics join
 * the runtime's registry at the first scrape: scrape once before relying on it.
 */
async function inflight(functionUrl: string): Promise<number> {
  const text = await (await fetch(`${functionUrl}/metrics`)).text();
  // The runtime labels every metric (faas_name, ...).
  const line = /^podgateway_inflight_requests(?:\{[^}]*\})? (\d+)$/m.exec(text);
  if (line === null) throw new Error('no podgateway_inflight_requests in /metrics');
  return Number(line[1]);
}

export function describeQueueProxy(
  cluster: () => Cluster,
  deploymentName: string,
  namespace: string,
): void {
  describe("the built function behind Serving's queue-proxy", () => {
    let fn: RunningFunction | undefined;
    let qp: RunningQueueProxy | undefined;
    let queueContainer: k8s.V1Container | undefined;
    let binary = '';
    let containerConcurrency = 0;
    let userEnv: Record<string, string> = {};
    let broker: Record<string, string> = {};
    const running = () => {
      if (fn === undefined || qp === undefined) throw new Error('not started');
      return { fn, qp };
    };
    const startQueue = async (overrides: Record<string, string> = {}) => {
      await qp?.process.stop(1000);
      if (fn === undefined || queueContainer === undefined) throw new Error('not started');
      const started = await startQueueProxy({
        binary,
        container: queueContainer,
        userPort: Number(new URL(fn.url).port),
        logDir: `${cluster().dir}/logs`,
        overrides,
      });
      qp = started;
      await waitUntil('queue-proxy ready', async () => {
        return (await fetch(started.url, { headers: PROBE_HEADERS })).status === 200;
      });
    };
    const viaQueue = (event: ReturnType<typeof pendingEvent>) =>
      sendEvent(running().qp.url, event, 'binary', broker);

    before(async () => {
      const admin = loadKubeConfig(cluster().adminKubeconfig);
      const deployment = await admin
        .makeApiClient(k8s.AppsV1Api)
        .readNamespacedDeployment({ name: deploymentName, namespace });
      const containers = deployment.spec?.template.spec?.containers ?? [];
      const user = containers.find((container) => container.name === 'user-container');
      queueContainer = containers.find((container) => container.name === 'queue-proxy');
      assert.ok(user && queueContainer, 'the Deployment has user-container and queue-proxy');
      containerConcurrency = Number(
        queueContainer.env?.find((variable) => variable.name === 'CONTAINER_CONCURRENCY')?.value,
      );
      binary = (await ensureBinaries(() => {}, { knative: true })).paths['queue-proxy'] ?? '';
      userEnv = functionEnv(user, cluster().functionKubeconfig);
      broker = await brokerAuthorization(admin, userEnv);
      fn = await startFunction({ env: userEnv, asNpmStart: true });
      await fetch(`${fn.url}/metrics`);
      await startQueue();
    });
    after(async () => {
      // queue-proxy drains for 30 s on SIGTERM: nothing is in flight here any more.
      await qp?.process.stop(1000);
      await fn?.stop();
    });

    it('passes an event through and its done reply back', async () => {
      const event = pendingEvent({ gateway_name: 'foo' });
      const reply = await viaQueue(event);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.event?.type, DONE);
      assert.equal(reply.event?.inresponseto, event.id);
    });

    it('lets at most containerConcurrency events reach the function at once; the rest wait in its queue, none is lost', async () => {
      const { fn } = running();
      assert.equal(containerConcurrency, 16, "deploy/service.yaml's containerConcurrency");
      // With the webhook down each event is held until EVENT_DEADLINE_MS, then answered 503.
      await cluster().stopWebhook('foo');
      try {
        let answered = false;
        let most = 0;
        const sampling = (async () => {
          while (!answered) {
            most = Math.max(most, await inflight(fn.url));
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        })();
        const events = Array.from({ length: containerConcurrency + 4 }, () =>
          pendingEvent({ gateway_name: 'foo' }),
        );
        const replies = await Promise.all(events.map(viaQueue));
        answered = true;
        await sampling;
        assert.deepEqual(
          replies.map((reply) => reply.status),
          events.map(() => 503),
        );
        assert.equal(most, containerConcurrency);
      } finally {
        await cluster().startWebhook('foo');
      }
    });

    it('answers 504 past the revision timeout; the redelivery is done, and makes no second pod', async () => {
      await startQueue({ REVISION_TIMEOUT_SECONDS: String(SHORT_REVISION_TIMEOUT_SECONDS) });
      const event = pendingEvent({ gateway_name: 'foo' });
      await cluster().stopWebhook('foo');
      let first: Awaited<ReturnType<typeof viaQueue>>;
      try {
        first = await viaQueue(event);
      } finally {
        await cluster().startWebhook('foo');
      }
      assert.equal(first.status, 504, first.text);
      // The function may still finish the first try after queue-proxy gave up on it.
      await waitUntil('the first try over', async () => (await inflight(running().fn.url)) === 0);
      const again = await viaQueue(event);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.event?.type, DONE);
      const pods = await loadKubeConfig(cluster().adminKubeconfig)
        .makeApiClient(k8s.CoreV1Api)
        .listNamespacedPod({ namespace: CLIENT_NAMESPACE });
      const made = pods.items.filter(
        (pod) => pod.metadata?.annotations?.[ANNOTATIONS.eventId] === event.id,
      );
      assert.deepEqual(
        made.map((pod) => pod.metadata?.name),
        [podNameFor({ eventSource: event.source, eventId: event.id })],
      );
    });

    it("probes the function's readiness route: with the function gone, queue-proxy is not ready", async () => {
      const { fn, qp } = running();
      await fn.stop();
      await waitUntil('queue-proxy not ready', async () => {
        return (await fetch(qp.url, { headers: PROBE_HEADERS })).status !== 200;
      });
    });

    it('terminates as kubelet does under steady load: every event is answered done, none lost, no pod made twice', async () => {
      // A fresh pod: the function and queue-proxy with the Deployment's settings.
      fn = await startFunction({ env: userEnv, asNpmStart: true });
      await startQueue();
      const { fn: first, qp } = running();
      // Another pod of the Revision, where the producer redelivers what was not answered 2xx.
      const other = await startFunction({ env: userEnv, asNpmStart: true });
      try {
        const events = Array.from({ length: 60 }, () => pendingEvent({ gateway_name: 'foo' }));
        const replies = new Map<string, Awaited<ReturnType<typeof sendEvent>>>();
        let target = qp.url;
        let redelivered = 0;
        const deliver = async (event: ReturnType<typeof pendingEvent>) => {
          const reply = await sendEvent(target, event, 'binary', broker).catch(() => undefined);
          if (reply !== undefined && reply.status >= 200 && reply.status < 300) return reply;
          redelivered += 1;
          return sendEvent(other.url, event, 'binary', broker);
        };
        const pending = [...events];
        const producer = async () => {
          for (let event = pending.shift(); event !== undefined; event = pending.shift()) {
            replies.set(event.id, await deliver(event));
            await new Promise((resolve) => setTimeout(resolve, 25));
          }
        };
        const load = Promise.all([producer(), producer(), producer(), producer()]);
        await waitUntil('the first events answered', async () => replies.size >= 10);
        // kubelet: SIGTERM to queue-proxy (no preStop) and, at once, the user container's
        // preStop: an HTTP GET of queue-proxy's /wait-for-drain; SIGTERM to the function after.
        const queueStopped = qp.process.stop(60_000);
        const preStop = fetch('http://127.0.0.1:8022/wait-for-drain');
        // The pod leaves the endpoints a moment later: until then, events still come.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        target = other.url;
        assert.equal((await preStop).status, 200);
        const exitCode = await first.stop();
        await Promise.all([load, queueStopped]);

        assert.equal(exitCode, 0);
        assert.deepEqual(
          events.map((event) => replies.get(event.id)?.event?.type),
          events.map(() => DONE),
        );
        assert.equal(redelivered, 0, 'queue-proxy answered every event it took while draining');
        const pods = await loadKubeConfig(cluster().adminKubeconfig)
          .makeApiClient(k8s.CoreV1Api)
          .listNamespacedPod({ namespace: CLIENT_NAMESPACE });
        const ids = new Set(events.map((event) => event.id));
        const made = pods.items
          .map((pod) => pod.metadata?.annotations?.[ANNOTATIONS.eventId] ?? '')
          .filter((id) => ids.has(id));
        assert.equal(made.length, events.length);
        assert.equal(new Set(made).size, events.length);
      } finally {
        await other.stop();
      }
    });
  });
}
