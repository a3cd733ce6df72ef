// The function as faas-js-runtime runs it, wired in one place (as kubernetes/sample-controller's
// main is): `provisionerFunction` makes the hooks the runtime reads (init, shutdown, handle,
// liveness, readiness) around one state, built by `init` and handed to every event; `shutdown`
// stops what it started. index.ts exports the hooks of the one function of the process.
import type { CloudEvent } from 'cloudevents';
import type { Context, StructuredReturn } from 'faas-js-runtime';
import type { Environment } from '../config/config.ts';
import { chooseListenAddress } from '../edge/listen-address.ts';
import { EdgePlugin } from '../edge/plugin.ts';
import { adjustRuntime } from '../edge/runtime-patches.ts';
import { onNextRuntimeServer } from '../edge/runtime-server.ts';
import { SweepTurns } from '../handlers/sweep.ts';
import { boundLogBuffer } from '../observability/log-buffer.ts';
import { labelRuntimeMetrics } from '../observability/metric-labels.ts';
import { exposeMetrics, GatewayLabels } from '../observability/metrics.ts';
import { podEventRecorder } from '../observability/pod-events.ts';
import { Drain } from './drain.ts';
import { handleEvent, type Running } from './handle-event.ts';
import { type Printer, startOrExit } from './startup.ts';

/** Least time given to the last writes (spans, Events) at shutdown, when the drain took the grace period. */
const FLUSH_MIN_MS = 1000;

/** Fastify's reply, as much of it as the health checks use. */
interface HealthReply {
  code(status: number): HealthReply;
  send(body: string): unknown;
}

/** The hooks faas-js-runtime reads of a function module (its `start` takes this object). */
export interface ProvisionerFunction {
  init(): Promise<void>;
  shutdown(): Promise<void>;
  handle(context: Context): Promise<CloudEvent<unknown> | StructuredReturn>;
  readiness(request: unknown, reply: HealthReply): unknown;
  liveness(request: unknown, reply: HealthReply): unknown;
}

/**
 * The function, configured by `env`, printing its own lines to `out`: nothing is read or started
 * until `init`, which the runtime calls before it listens.
 */
export function provisionerFunction(
  env: Environment = process.env,
  out: Printer = console,
): ProvisionerFunction {
  let running: Running | undefined;
  let edge: EdgePlugin | undefined;
  const drain = new Drain();

  /**
   * Configuration and client, made once. On a bad setting it prints every problem, one line
   * each, and exits 1.
   */
  async function init(): Promise<void> {
    adjustRuntime();
    exposeMetrics();
    labelRuntimeMetrics();
    const provisioner = await startOrExit(env, out);
    const podEvents = podEventRecorder(provisioner.kube, env);
    running = {
      ...provisioner,
      podEvents,
      sweeps: new SweepTurns(podEvents),
      gateways: new GatewayLabels(provisioner.config.allowedGateways),
    };
    const plugin = new EdgePlugin({
      runtimeBodyLimit: env.FUNC_BODY_LIMIT,
      tokens: provisioner.tokens,
      listenAddress: chooseListenAddress({
        listenHost: env.LISTEN_HOST,
        kubernetesServiceHost: env.KUBERNETES_SERVICE_HOST,
      }),
      // As the runtime reads them.
      probePaths: [
        env.READINESS_URL || '/health/readiness',
        env.LIVENESS_URL || '/health/liveness',
      ],
      print: (line) => out.log(line),
    });
    edge = plugin;
    onNextRuntimeServer((server) => {
      plugin.apply(server);
      boundLogBuffer(server.log, (line) => out.error(line));
    });
  }

  /**
   * On SIGTERM (and SIGINT), before the runtime closes the server and exits: new requests get
   * 503, requests in flight get the grace period to finish, then a 503. Then the watch stops, and
   * the last spans and the Kubernetes Events told during the drain are written in what is left of
   * the grace period. Connections stay open during the drain: a client that reconnected then
   * could be reset when the listening socket closes (src/edge/plugin.ts `stopAccepting`).
   */
  async function shutdown(): Promise<void> {
    const started = Date.now();
    const graceMs = running?.config.shutdownGraceMs ?? 0;
    await drain.drain(graceMs);
    await running?.podWatch?.stop();
    const flushMs = Math.max(FLUSH_MIN_MS, graceMs - (Date.now() - started));
    // Refuse new connections, close the open ones after their next answer, let the last answers
    // leave before the runtime calls process.exit.
    await Promise.all([
      running?.tracing?.shutdown(flushMs),
      running && withinMs(running.podEvents.settled(), flushMs),
      edge?.stopAccepting(),
    ]);
  }

  return {
    init,
    shutdown,
    handle: (context) => handleEvent(running, drain, context),
    readiness(_request, reply) {
      if (!running) return reply.code(503).send('not ready: no Kubernetes client');
      if (drain.draining) return reply.code(503).send('not ready: shutting down');
      return reply.send('OK');
    },
    liveness(_request, reply) {
      return reply.send('OK');
    },
  };
}

/** Waits for `work`, `ms` at the most; a timer that does not keep the process alive. */
function withinMs(work: Promise<void>, ms: number): Promise<void> {
  return Promise.race([work, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
}
