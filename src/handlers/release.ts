// `io.podgateway.client.release` {"pod_name": "..."}: deletes a client pod the function made.
// Done also when the pod is already gone, so a redelivered release is answered the same way.
import type { V1Pod } from '@kubernetes/client-node';
import type { ProvisionerConfig } from '../config/config.ts';
import { misspeltFieldHint, readDataObject } from '../events/event-data.ts';
import { RELEASE_DONE_TYPE, RELEASE_FAILED_TYPE } from '../events/event-types.ts';
import { describeJsonType, type IncomingEvent } from '../events/pending-request.ts';
import { reply } from '../events/replies.ts';
import { quoted } from '../formats/bounded-text.ts';
import { isDns1123Subdomain } from '../formats/names.ts';
import { REASON } from '../formats/reasons.ts';
import { ApiCallError, type CallLimits } from '../kube/api-call.ts';
import type { KubeClient } from '../kube/client.ts';
import { deletePod, readPod } from '../kube/pod-api.ts';
import { refusedWhileStarting } from '../kube/readiness.ts';
import { apiCallSpans } from '../observability/api-call-spans.ts';
import { podAgeAtRelease, podsReleasedTotal } from '../observability/metrics.ts';
import { creatingSource, isOwnPod, podAgeSeconds } from '../pods/own-pods.ts';
import {
  type Failure,
  failed,
  type HandlerAnswer,
  type HandlerInput,
  retryLater,
} from './types.ts';

export interface ReleaseDoneData {
  readonly pod_name: string;
  readonly namespace: string;
  /** False when the pod was already gone (a redelivered release, or deleted otherwise). */
  readonly deleted: boolean;
  /** The pod's age when it was deleted. */
  readonly age_seconds?: number;
  readonly message: string;
}

export interface ReleaseFailedData {
  /** NotManaged, NotOwner, InvalidPodName, or the API's reason (Forbidden, …). */
  readonly reason: string;
  readonly message: string;
  readonly pod_name: string | undefined;
}

type ReleaseRequest =
  | { readonly kind: 'accepted'; readonly podName: string; readonly namespace: string }
  | {
      readonly kind: 'failed';
      readonly reason: string;
      readonly message: string;
      readonly podName: string | undefined;
    }
  | { readonly kind: 'rejected'; readonly message: string };

/** The data fields a release event may carry. */
const RELEASE_FIELDS = ['pod_name', 'namespace'];

const EXAMPLE = '{"pod_name": "client-0123456789abcdef0123"}';

/** Reads `pod_name` (and the optional `namespace` a done reply carried) from the event. */
export function readRelease(event: IncomingEvent, config: ProvisionerConfig): ReleaseRequest {
  const field = readDataObject(event.data, event.datacontenttype, EXAMPLE);
  if (typeof field === 'string') return { kind: 'rejected', message: field };
  const podName = field('pod_name');
  const namespace = field('namespace');
  if (podName !== undefined && typeof podName !== 'string') {
    return {
      kind: 'rejected',
      message: `data.pod_name must be a string, got ${describeJsonType(podName)}`,
    };
  }
  if (namespace !== undefined && typeof namespace !== 'string') {
    return {
      kind: 'rejected',
      message: `data.namespace must be a string when present, got ${describeJsonType(namespace)}`,
    };
  }
  if (podName === undefined || podName === '') {
    return {
      kind: 'failed',
      reason: REASON.InvalidPodName,
      message: `data.pod_name is missing or empty; name the pod a done reply gave, e.g. ${EXAMPLE}${misspeltFieldHint(event.data, 'pod_name', RELEASE_FIELDS)}`,
      podName,
    };
  }
  if (!isDns1123Subdomain(podName)) {
    return {
      kind: 'failed',
      reason: REASON.InvalidPodName,
      message: `data.pod_name ${quoted(podName, 300)} is not a pod name: lowercase letters, digits, '-' and '.', at most 253 characters`,
      podName: undefined,
    };
  }
  if (namespace !== undefined && namespace !== config.clientNamespace) {
    return {
      kind: 'failed',
      reason: REASON.NotManaged,
      message: `data.namespace ${quoted(namespace, 100)} is not the namespace this function manages: it releases only the pods it made in namespace "${config.clientNamespace}" (name that namespace, or leave data.namespace out)`,
      podName,
    };
  }
  return { kind: 'accepted', podName, namespace: config.clientNamespace };
}

export async function handleRelease({
  event,
  config,
  kube,
  deadline,
  span,
  podEvents,
}: HandlerInput): Promise<HandlerAnswer> {
  const request = readRelease(event, config);
  if (request.kind === 'rejected') return { kind: 'rejected', message: request.message };
  if (request.kind === 'failed') return releaseFailed(config, event, request);
  const { podName, namespace } = request;
  const limits: CallLimits = {
    timeoutMs: config.apiTimeoutMs,
    deadline,
    observer: span && apiCallSpans(span),
  };
  try {
    const result = await deleteOwnPod(kube, podName, event.source, config, limits);
    if (result.kind === 'not-managed') {
      return releaseFailed(config, event, {
        reason: REASON.NotManaged,
        message: `pod "${podName}" in namespace "${namespace}" was not made by this function (its managed-by label, event annotations and derived name do not all match): not deleted`,
        podName,
      });
    }
    if (result.kind === 'not-owner') {
      return releaseFailed(config, event, {
        reason: REASON.NotOwner,
        message: `pod "${podName}" in namespace "${namespace}" was made for an event of another source: only that source may release it; not deleted`,
        podName,
      });
    }
    if (result.kind === 'deleted')
      podEvents.record(result.pod, { kind: 'released', cloudEvent: event });
    const deleted = result.kind === 'deleted';
    podsReleasedTotal.inc({ outcome: deleted ? 'deleted' : 'gone' });
    const age = deleted ? podAgeSeconds(result.pod) : undefined;
    if (age !== undefined) podAgeAtRelease.observe(age);
    const message = deleted
      ? `pod ${podName} deleted from namespace ${namespace}${age === undefined ? '' : ` after ${Math.round(age)} s`}`
      : `pod ${podName} is already gone from namespace ${namespace}, or terminating (a redelivered release, or deleted otherwise)`;
    const data: ReleaseDoneData = {
      pod_name: podName,
      namespace,
      deleted,
      ...(age === undefined ? {} : { age_seconds: Math.round(age) }),
      message,
    };
    return {
      kind: 'reply',
      reply: reply(config.eventSource, event, RELEASE_DONE_TYPE, data, podName),
      summary: {
        outcome: 'released',
        reason: deleted ? undefined : REASON.AlreadyGone,
        message,
        pod: podName,
      },
    };
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    if (error.deadlineExceeded) return retryLater(error.failure);
    // Just after kube-apiserver starts, its authorizer may refuse what the Role allows: the
    // release is delivered again (503), not answered failed and the pod left behind.
    const starting = await refusedWhileStarting(kube, error.failure, config.apiTimeoutMs);
    if (starting) return retryLater(starting);
    return releaseFailed(config, event, { ...error.failure, podName });
  }
}

type Deletion =
  | { readonly kind: 'deleted'; readonly pod: V1Pod }
  | { readonly kind: 'gone' }
  | { readonly kind: 'not-managed' }
  | { readonly kind: 'not-owner' };

/**
 * Reads the pod, and deletes it only if the function made it for an event of `source`. The
 * delete carries the pod's uid as a precondition: a pod of the same name made meanwhile by
 * someone else is not touched.
 */
async function deleteOwnPod(
  kube: KubeClient,
  name: string,
  source: string,
  config: ProvisionerConfig,
  limits: CallLimits,
): Promise<Deletion> {
  const namespace = config.clientNamespace;
  let pod: V1Pod;
  try {
    pod = await readPod(kube, name, namespace, limits);
  } catch (error) {
    if (isStatus(error, 404)) return { kind: 'gone' };
    throw error;
  }
  if (!isOwnPod(pod, namespace)) return { kind: 'not-managed' };
  if (creatingSource(pod) !== source) return { kind: 'not-owner' };
  // Deleted already, and terminating (a pod on a node goes when its kubelet is done with it).
  if (pod.metadata?.deletionTimestamp) return { kind: 'gone' };
  try {
    await deletePod(kube, pod, config.clientGracePeriodSeconds, limits);
  } catch (error) {
    // Gone between the read and the delete (a redelivery racing the first delivery): done.
    if (isStatus(error, 404)) return { kind: 'gone' };
    throw error;
  }
  return { kind: 'deleted', pod };
}

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiCallError && error.failure.code === code;
}

/** The release's failed reply: the pod it names, when the name was one. */
function releaseFailed(
  config: ProvisionerConfig,
  event: IncomingEvent,
  failure: Failure & { readonly podName: string | undefined },
): HandlerAnswer {
  const to = { source: config.eventSource, event, type: RELEASE_FAILED_TYPE };
  const fields: Omit<ReleaseFailedData, 'reason' | 'message'> = { pod_name: failure.podName };
  return failed(to, failure, fields, { pod: failure.podName });
}
