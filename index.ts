// The pod-gateway client provisioner: a Knative Function run by faas-js-runtime.
// A `pending` CloudEvent in; a client pod created; a `done` or `failed` CloudEvent back.
import type { CloudEvent } from 'cloudevents';
import type { Context, StructuredReturn } from 'faas-js-runtime';
import { loadConfig, type ProvisionerConfig } from './src/config.ts';
import { type KubeClient, makeKubeClient } from './src/kube.ts';
import { exposeMetrics } from './src/metrics.ts';
import { type EventRecord, finishRecord, startRecord } from './src/observe.ts';
import { provision } from './src/provision.ts';
import { doneReply, failedReply } from './src/reply.ts';
import { notAnEventMessage, readRequest } from './src/request.ts';
import { markCloudEventErrorsAsBadRequests } from './src/runtime.ts';

interface Provisioner {
  readonly config: ProvisionerConfig;
  readonly kube: KubeClient;
}

/** Made once by `init`, before the runtime takes requests. */
let provisioner: Provisioner | undefined;

/** Called by faas-js-runtime before it listens: configuration and client, made once. */
export function init(): void {
  try {
    markCloudEventErrorsAsBadRequests();
    exposeMetrics();
    const config = loadConfig();
    const kube = makeKubeClient();
    provisioner = { config, kube };
    console.log(
      `podgateway client provisioner: pods go to namespace "${config.clientNamespace}" through ${kube.server} (${kube.origin})`,
    );
  } catch (error) {
    // The runtime prints the error; the exit code tells the platform that start-up failed.
    process.exitCode = 1;
    throw error;
  }
}

export async function handle(context: Context): Promise<CloudEvent<unknown> | StructuredReturn> {
  const record = startRecord();
  try {
    return await respond(context, record);
  } finally {
    // The runtime's logger is pino's: it takes an object with `msg` for a JSON line.
    finishRecord(context.log, record, provisioner?.config.allowedGateways);
  }
}

async function respond(
  context: Context,
  record: EventRecord,
): Promise<CloudEvent<unknown> | StructuredReturn> {
  if (!provisioner) {
    record.outcome = 'notready';
    return notReady();
  }
  const event = context.cloudevent;
  if (!event) {
    record.reason = 'BadRequest';
    record.message = notAnEventMessage(context.headers);
    return badRequest(record.message);
  }
  record.eventId = event.id;
  record.source = event.source;
  const { config, kube } = provisioner;
  const verdict = readRequest(event, config);
  if (verdict.kind === 'reject') {
    record.reason = 'BadRequest';
    record.message = verdict.message;
    return badRequest(verdict.message);
  }
  if (verdict.kind === 'fail') {
    Object.assign(record, {
      outcome: 'failed',
      reason: verdict.reason,
      gateway: verdict.gatewayName,
      message: verdict.message,
    } satisfies Partial<EventRecord>);
    return failedReply(config.eventSource, event, {
      message: verdict.message,
      reason: verdict.reason,
      gateway_name: verdict.gatewayName,
    });
  }

  const { request } = verdict;
  record.gateway = request.gatewayName;
  const outcome = await provision(request, config, kube);
  if (outcome.kind === 'failed') {
    Object.assign(record, {
      outcome: 'failed',
      reason: outcome.failure.reason,
      message: outcome.failure.message,
    } satisfies Partial<EventRecord>);
    return failedReply(config.eventSource, event, {
      message: outcome.failure.message,
      reason: outcome.failure.reason,
      gateway_name: request.gatewayName,
    });
  }
  Object.assign(record, {
    outcome: outcome.kind,
    pod: outcome.podName,
    namespace: outcome.namespace,
  } satisfies Partial<EventRecord>);
  const verb = outcome.kind === 'created' ? 'created' : 'already existed (event redelivered)';
  return doneReply(config.eventSource, event, {
    pod_name: outcome.podName,
    namespace: outcome.namespace,
    gateway_name: request.gatewayName,
    message: `pod ${outcome.podName} ${verb} in namespace ${outcome.namespace} for gateway ${request.gatewayName}`,
  });
}

/** Fastify's reply, as much of it as the health checks use. */
interface HealthReply {
  code(status: number): HealthReply;
  send(body: string): unknown;
}

export function readiness(_request: unknown, reply: HealthReply): unknown {
  return provisioner ? reply.send('OK') : reply.code(503).send('not ready: no Kubernetes client');
}

export function liveness(_request: unknown, reply: HealthReply): unknown {
  return reply.send('OK');
}

function badRequest(message: string): StructuredReturn {
  return { statusCode: 400, body: { error: 'BadRequest', message } };
}

function notReady(): StructuredReturn {
  return { statusCode: 503, headers: { 'retry-after': '1' }, body: { error: 'NotReady' } };
}
