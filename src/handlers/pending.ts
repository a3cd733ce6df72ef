// `io.podgateway.client.pending` {"gateway_name": "..."}: a client pod made for the gateway,
// `io.podgateway.client.scheduling.done` or `.failed` back.

import { type IncomingEvent, readRequest } from '../events/pending-request.ts';
import { doneReply, FAILED_TYPE, type FailedData } from '../events/replies.ts';
import type { ProvisionRequest } from '../pods/provision-request.ts';
import { type ProvisionOutcome, provision } from './provision.ts';
import { failed, type HandlerAnswer, type HandlerInput, retryLater } from './types.ts';

export async function handlePending({
  event,
  config,
  kube,
  podWatch,
  deadline,
  span,
}: HandlerInput): Promise<HandlerAnswer> {
  const verdict = readRequest(event, config);
  if (verdict.kind === 'rejected') return { kind: 'rejected', message: verdict.message };
  const failedTo = { source: config.eventSource, event, type: FAILED_TYPE };
  if (verdict.kind === 'failed') {
    return failed(
      failedTo,
      verdict,
      failedFields(verdict.gatewayName, undefined, verdict.warnings),
      {
        gateway: verdict.gatewayName,
      },
    );
  }

  const { request } = verdict;
  const gatewayName = request.gatewayName;
  const outcome = await provision(request, config, kube, deadline, podWatch, span);
  switch (outcome.kind) {
    case 'unavailable':
      return retryLater(outcome.failure, gatewayName);
    case 'failed':
      return failed(
        failedTo,
        outcome.failure,
        failedFields(gatewayName, outcome.podName, request.warnings),
        { gateway: gatewayName, pod: outcome.podName },
      );
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
    summary: {
      outcome: outcome.kind,
      pod: outcome.podName,
      gateway: gatewayName,
      namespace: outcome.namespace,
      // The log line says what was ignored too.
      message: warnings?.join('; '),
    },
  };
}

/** A failed reply's own fields: the gateway, the pod when one was made, what was ignored. */
function failedFields(
  gatewayName: string | undefined,
  podName: string | undefined,
  warnings: readonly string[] | undefined,
): Omit<FailedData, 'reason' | 'message'> {
  return {
    gateway_name: gatewayName,
    ...(podName === undefined ? {} : { pod_name: podName }),
    ...(warnings === undefined ? {} : { warnings }),
  };
}
