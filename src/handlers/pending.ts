// `io.podgateway.client.pending` {"gateway_name": "..."}: a client pod made for the gateway,
// `io.podgateway.client.scheduling.done` or `.failed` back.

import { type IncomingEvent, readRequest } from '../events/pending-request.ts';
import { doneReply, failedReply } from '../events/replies.ts';
import type { ProvisionRequest } from '../pods/provision-request.ts';
import { type ProvisionOutcome, provision } from './provision.ts';
import { failedAnswer, type HandlerAnswer, type HandlerInput, retryLater } from './types.ts';

export async function handlePending({
  event,
  config,
  kube,
  pods,
  deadline,
  span,
  podEvents,
}: HandlerInput): Promise<HandlerAnswer> {
  const verdict = readRequest(event, config);
  if (verdict.kind === 'rejected') return { kind: 'rejected', message: verdict.message };
  if (verdict.kind === 'failed') return failed(config.eventSource, event, verdict);

  const { request } = verdict;
  const gatewayName = request.gatewayName;
  const outcome = await provision(request, config, { kube, podEvents }, deadline, pods, span);
  switch (outcome.kind) {
    case 'unavailable':
      return retryLater(outcome.failure, gatewayName);
    case 'failed':
      return failed(config.eventSource, event, {
        ...outcome.failure,
        gatewayName,
        podName: outcome.podName,
        warnings: request.warnings,
      });
    default:
      return done(config.eventSource, event, request, outcome);
  }
}

/** The pod made (or found, on a redelivery): the done reply. */
function done(
  source: string,
  event: IncomingEvent,
  { gatewayName, warnings }: ProvisionRequest,
  outcome: Extract<ProvisionOutcome, { kind: 'created' | 'existed' }>,
): HandlerAnswer {
  const what = outcome.kind === 'created' ? 'created' : 'already existed (event redelivered)';
  const where = outcome.podIp
    ? `, ready on node ${outcome.nodeName} with IP ${outcome.podIp}`
    : outcome.nodeName
      ? `, scheduled on node ${outcome.nodeName}`
      : '';
  const reply = doneReply(source, event, {
    pod_name: outcome.podName,
    namespace: outcome.namespace,
    gateway_name: gatewayName,
    message: `pod ${outcome.podName} ${what} in namespace ${outcome.namespace} for gateway ${gatewayName}${where}`,
    ...(outcome.nodeName ? { node_name: outcome.nodeName } : {}),
    ...(outcome.podIp ? { pod_ip: outcome.podIp, ready_after_ms: outcome.readyAfterMs } : {}),
    ...(warnings ? { warnings } : {}),
  });
  return {
    kind: 'reply',
    reply,
    told: {
      outcome: outcome.kind,
      pod: outcome.podName,
      gateway: gatewayName,
      namespace: outcome.namespace,
      // The log line says what was ignored too.
      message: warnings?.join('; '),
    },
  };
}

/** A final answer: the event was understood but no pod can be made as it asks. */
function failed(
  source: string,
  event: IncomingEvent,
  failure: {
    readonly reason: string;
    readonly message: string;
    readonly logDetail?: string | undefined;
    readonly gatewayName: string | undefined;
    readonly podName?: string | undefined;
    readonly warnings?: readonly string[] | undefined;
  },
): HandlerAnswer {
  const reply = failedReply(source, event, {
    message: failure.message,
    reason: failure.reason,
    gateway_name: failure.gatewayName,
    ...(failure.podName === undefined ? {} : { pod_name: failure.podName }),
    ...(failure.warnings === undefined ? {} : { warnings: failure.warnings }),
  });
  return failedAnswer(reply, failure, { gateway: failure.gatewayName, pod: failure.podName });
}
