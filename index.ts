// The pod-gateway client provisioner: a Knative Function run by faas-js-runtime.
// A `pending` CloudEvent in; a client pod created; a `done` or `failed` CloudEvent back.
import { CloudEvent } from 'cloudevents';
import type { Context, StructuredReturn } from 'faas-js-runtime';
import { loadConfig, type ProvisionerConfig } from './src/config.ts';
import { Drain } from './src/drain.ts';
import { envelopeProblem, type Headers, notAnEventMessage } from './src/envelope.ts';
import { guardNextServer, stopAccepting } from './src/http-guard.ts';
import { type KubeClient, makeKubeClient } from './src/kube.ts';
import { exposeMetrics } from './src/metrics.ts';
import { type EventRecord, finishRecord, startRecord } from './src/observe.ts';
import { watchOwnPods } from './src/own-pods.ts';
import type { PodWatch } from './src/pod-watch.ts';
import { provision } from './src/provision.ts';
import { withoutAddresses } from './src/redact.ts';
import { doneReply, failedReply } from './src/reply.ts';
import { type IncomingEvent, readRequest } from './src/request.ts';
import { adjustRuntime, CONTEXT_FIELDS, runtimeValidationProblem } from './src/runtime.ts';
import { describeSinkUrl, makeSink, readSink, type Sink, sinkAnswer } from './src/sink.ts';

interface Provisioner {
  readonly config: ProvisionerConfig;
  readonly kube: KubeClient;
  /** Where replies go when K_SINK is set; undefined: in the HTTP response. */
  readonly sink: Sink | undefined;
  /** With WAIT_FOR=scheduled: the one watch every waiting event shares. */
  readonly pods: PodWatch | undefined;
}

/** Made once by `init`, before the runtime takes requests. */
let provisioner: Provisioner | undefined;
const drain = new Drain();

/** Called by faas-js-runtime before it listens: configuration and client, made once. */
export function init(): void {
  try {
    adjustRuntime();
    exposeMetrics();
    const config = loadConfig();
    guardNextServer({
      allowedOrigins: config.allowedOrigins,
      runtimeBodyLimit: process.env.FUNC_BODY_LIMIT,
      listenHost: process.env.LISTEN_HOST,
    });
    const sinkUrl = readSink(process.env);
    const kube = makeKubeClient();
    const sink = sinkUrl && makeSink(sinkUrl);
    const pods = config.waitFor === 'scheduled' ? watchOwnPods(config, kube) : undefined;
    provisioner = { config, kube, sink, pods };
    console.log(
      `podgateway client provisioner: pods go to namespace "${config.clientNamespace}" through ${kube.server} (${kube.origin})`,
    );
    if (sink) {
      console.log(
        `podgateway client provisioner: replies go to K_SINK ${describeSinkUrl(sink.url)}`,
      );
    }
  } catch (error) {
    // The runtime prints the error; the exit code tells the platform that start-up failed.
    process.exitCode = 1;
    throw error;
  }
}

/**
 * Called by faas-js-runtime on SIGTERM (and SIGINT), before it closes the server and exits:
 * new requests get 503, requests in flight get the grace period to finish, then a 503.
 * Connections stay open during the drain: a client that reconnected then could be reset when
 * the listening socket closes (src/http-guard.ts `stopAccepting`).
 */
export async function shutdown(): Promise<void> {
  await drain.drain(provisioner?.config.shutdownGraceMs ?? 0);
  await provisioner?.pods?.stop();
  // Refuse new connections, close the open ones after their next answer, let the last answers
  // leave before the runtime calls process.exit.
  await stopAccepting();
}

export async function handle(context: Context): Promise<CloudEvent<unknown> | StructuredReturn> {
  const record = startRecord();
  try {
    return await handleEvent(context, record);
  } finally {
    // The runtime's logger is pino's: it takes an object with `msg` for a JSON line.
    finishRecord(context.log, record, provisioner?.config.allowedGateways);
  }
}

async function handleEvent(
  context: Context,
  record: EventRecord,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  const ready = provisioner;
  if (!ready) return unavailable('NotReady', 'the function is starting', 1, record);
  if (drain.draining) {
    return unavailable('ShuttingDown', 'the function is shutting down', 1, record);
  }
  return drain.track(
    () => respondOrSink(context, ready, record),
    () =>
      unavailable('ShuttingDown', 'the function shut down before the event was handled', 1, record),
  );
}

/** With K_SINK, the reply goes there and the producer gets 202 (or 503 if the sink would not take it). */
async function respondOrSink(
  context: Context,
  ready: Provisioner,
  record: EventRecord,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  const answer = await respond(context, ready, record);
  if (!ready.sink || !(answer instanceof CloudEvent)) return answer;
  const delivery = await ready.sink.send(answer);
  if (!delivery.ok) {
    // The producer gets a 503 and delivers the event again: the reply is not lost.
    Object.assign(record, {
      outcome: 'unavailable',
      reason: 'SinkUnavailable',
      message: `reply ${answer.id} not sent to K_SINK: ${delivery.problem}`,
    } satisfies Partial<EventRecord>);
  }
  return sinkAnswer(delivery);
}

async function respond(
  context: Context,
  { config, kube, pods }: Provisioner,
  record: EventRecord,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  const deadline = Date.now() + config.eventDeadlineMs;
  // The runtime copies query parameters over the context's own fields: refuse those.
  const shadowing = CONTEXT_FIELDS.find((name) => Object.hasOwn(context.query ?? {}, name));
  if (shadowing) {
    return badRequest(`the query parameter "${shadowing}" is not accepted`, record);
  }
  const headers: Headers = context.headers;
  const event: unknown = context.cloudevent;
  if (!isIncomingEvent(event)) {
    return badRequest(notAnEventMessage(headers, context.body), record);
  }
  record.eventId = event.id;
  record.source = event.source;
  const refused = runtimeValidationProblem(event);
  if (refused) return badRequest(`not a valid CloudEvent: ${refused}`, record);
  const problem = envelopeProblem(headers, context.body);
  if (problem) return badRequest(`not a valid CloudEvent: ${problem}`, record);
  const verdict = readRequest(event, config);
  if (verdict.kind === 'reject') return badRequest(verdict.message, record);
  if (verdict.kind === 'fail') {
    record.gateway = verdict.gatewayName;
    return failed(config, event, verdict, record);
  }

  const { request } = verdict;
  record.gateway = request.gatewayName;
  const outcome = await provision(request, config, kube, deadline, pods);
  switch (outcome.kind) {
    case 'unavailable':
      return unavailable(
        outcome.failure.reason,
        outcome.failure.message,
        outcome.failure.retryAfterSeconds ?? 2,
        record,
      );
    case 'failed':
      return failed(
        config,
        event,
        { ...outcome.failure, gatewayName: request.gatewayName },
        record,
      );
    default: {
      const what = outcome.kind === 'created' ? 'created' : 'already existed (event redelivered)';
      const where = outcome.nodeName ? `, scheduled on node ${outcome.nodeName}` : '';
      Object.assign(record, {
        outcome: outcome.kind,
        pod: outcome.podName,
        namespace: outcome.namespace,
      } satisfies Partial<EventRecord>);
      return doneReply(config.eventSource, event, {
        pod_name: outcome.podName,
        namespace: outcome.namespace,
        gateway_name: request.gatewayName,
        message: `pod ${outcome.podName} ${what} in namespace ${outcome.namespace} for gateway ${request.gatewayName}${where}`,
        ...(outcome.nodeName ? { node_name: outcome.nodeName } : {}),
      });
    }
  }
}

/** An event as the runtime's SDK built it (not a string a query parameter put there). */
function isIncomingEvent(value: unknown): value is IncomingEvent {
  if (typeof value !== 'object' || value === null) return false;
  const { id, source, type } = value as Record<string, unknown>;
  return typeof id === 'string' && typeof source === 'string' && typeof type === 'string';
}

/** Fastify's reply, as much of it as the health checks use. */
interface HealthReply {
  code(status: number): HealthReply;
  send(body: string): unknown;
}

export function readiness(_request: unknown, reply: HealthReply): unknown {
  if (!provisioner) return reply.code(503).send('not ready: no Kubernetes client');
  if (drain.draining) return reply.code(503).send('not ready: shutting down');
  return reply.send('OK');
}

export function liveness(_request: unknown, reply: HealthReply): unknown {
  return reply.send('OK');
}

/** A final answer: the event was understood but no pod can be made as it asks. */
function failed(
  config: ProvisionerConfig,
  event: IncomingEvent,
  failure: {
    readonly reason: string;
    readonly message: string;
    readonly gatewayName: string | undefined;
  },
  record: EventRecord,
): CloudEvent<unknown> {
  Object.assign(record, {
    outcome: 'failed',
    reason: failure.reason,
    message: failure.message,
  } satisfies Partial<EventRecord>);
  return failedReply(config.eventSource, event, {
    message: failure.message,
    reason: failure.reason,
    gateway_name: failure.gatewayName,
  });
}

/** Not retried by Knative: goes to the dead letter sink. */
function badRequest(message: string, record?: EventRecord): StructuredReturn {
  if (record) Object.assign(record, { outcome: 'rejected', reason: 'BadRequest', message });
  return { statusCode: 400, body: { error: 'BadRequest', message } };
}

/** Retried by Knative (and by any producer that honours Retry-After): nothing is lost. */
function unavailable(
  error: string,
  message: string,
  retryAfterSeconds: number,
  record?: EventRecord,
): StructuredReturn {
  if (record) Object.assign(record, { outcome: 'unavailable', reason: error, message });
  return {
    statusCode: 503,
    headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
    // The log keeps the addresses (API server, webhooks); the producer gets none.
    body: { error, message: withoutAddresses(message) },
  };
}
