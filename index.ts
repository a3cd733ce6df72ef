// The pod-gateway client provisioner: a Knative Function run by faas-js-runtime.
// A `pending` CloudEvent in; a client pod created; a `done` or `failed` CloudEvent back.
import { CloudEvent } from 'cloudevents';
import type { Context, StructuredReturn } from 'faas-js-runtime';
import { loadConfig, type ProvisionerConfig } from './src/config.ts';
import { type KubeClient, makeKubeClient } from './src/kube.ts';
import { provision } from './src/provision.ts';
import { doneReply, failedReply } from './src/reply.ts';
import { notAnEventMessage, readRequest } from './src/request.ts';
import { markCloudEventErrorsAsBadRequests } from './src/runtime.ts';
import { makeSink, readSink, type Sink, sinkAnswer } from './src/sink.ts';

interface Provisioner {
  readonly config: ProvisionerConfig;
  readonly kube: KubeClient;
  /** Where replies go when K_SINK is set; undefined: in the HTTP response. */
  readonly sink: Sink | undefined;
}

/** Made once by `init`, before the runtime takes requests. */
let provisioner: Provisioner | undefined;

/** Called by faas-js-runtime before it listens: configuration and client, made once. */
export function init(): void {
  try {
    markCloudEventErrorsAsBadRequests();
    const config = loadConfig();
    const sinkUrl = readSink(process.env);
    const kube = makeKubeClient();
    const sink = sinkUrl && makeSink(sinkUrl);
    provisioner = { config, kube, sink };
    console.log(
      `podgateway client provisioner: pods go to namespace "${config.clientNamespace}" through ${kube.server} (${kube.origin})`,
    );
    if (sink) console.log(`podgateway client provisioner: replies go to K_SINK ${sink.url}`);
  } catch (error) {
    // The runtime prints the error; the exit code tells the platform that start-up failed.
    process.exitCode = 1;
    throw error;
  }
}

export async function handle(context: Context): Promise<CloudEvent<unknown> | StructuredReturn> {
  const answer = await respond(context);
  const sink = provisioner?.sink;
  if (!sink || !(answer instanceof CloudEvent)) return answer;
  // K_SINK: the reply goes there, the producer gets 202 (or 503 if the sink would not take it).
  const delivery = await sink.send(answer);
  if (!delivery.ok) context.log.warn(`reply ${answer.id} not sent to K_SINK: ${delivery.problem}`);
  return sinkAnswer(delivery);
}

async function respond(context: Context): Promise<CloudEvent<unknown> | StructuredReturn> {
  if (!provisioner) return notReady();
  const event = context.cloudevent;
  if (!event) {
    return badRequest(notAnEventMessage(context.headers));
  }
  const { config, kube } = provisioner;
  const verdict = readRequest(event, config);
  if (verdict.kind === 'reject') return badRequest(verdict.message);
  if (verdict.kind === 'fail') {
    context.log.info(`event ${event.id}: ${verdict.reason}: ${verdict.message}`);
    return failedReply(config.eventSource, event, {
      message: verdict.message,
      reason: verdict.reason,
      gateway_name: verdict.gatewayName,
    });
  }

  const { request } = verdict;
  const outcome = await provision(request, config, kube);
  if (outcome.kind === 'failed') {
    context.log.warn(`event ${event.id}: ${outcome.failure.reason}: ${outcome.failure.message}`);
    return failedReply(config.eventSource, event, {
      message: outcome.failure.message,
      reason: outcome.failure.reason,
      gateway_name: request.gatewayName,
    });
  }
  const verb = outcome.kind === 'created' ? 'created' : 'already existed (event redelivered)';
  context.log.info(`event ${event.id}: pod ${outcome.namespace}/${outcome.podName} ${verb}`);
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
