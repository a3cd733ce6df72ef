// What an API refusal of the pod create means: which admission step said no, and whether a later
// delivery of the event can succeed. The API's reason is `Forbidden` for most of them: the
// message tells them apart (kube-apiserver words each one its own way).
import type { ApiFailure } from './client.ts';

export type Refusal =
  /** Worth delivering the event again: answer 503 with Retry-After. */
  | { readonly kind: 'retry'; readonly reason: string; readonly retryAfterSeconds: number }
  /** Final: a `failed` reply with this reason and the API's message. */
  | { readonly kind: 'final'; readonly reason: string };

/** Seconds to wait for a namespace's service account or phase to settle. */
const SETTLE_SECONDS = 2;
/** Seconds before trying a full quota again: pods come and go on a human scale. */
export const QUOTA_RETRY_SECONDS = 10;

/**
 * The meaning of a failed create, or undefined for failures that are not admission's (their API
 * reason stands: Invalid, NotFound, Unauthorized, …).
 */
export function classifyRefusal(failure: ApiFailure): Refusal | undefined {
  const { message, code } = failure;
  // webhook/errors/statuserror.go: the webhook's own code, whatever it is.
  if (/^admission webhook ".*" denied the request/.test(message)) {
    return { kind: 'final', reason: 'AdmissionDenied' };
  }
  if (code !== 403) return undefined;
  // plugin/pkg/admission/serviceaccount/admission.go: a namespace made a moment ago.
  if (message.includes('error looking up service account')) {
    return { kind: 'retry', reason: 'ServiceAccountNotReady', retryAfterSeconds: SETTLE_SECONDS };
  }
  // apiserver admission/plugin/namespace/lifecycle/admission.go: NamespaceTerminating.
  if (message.includes('because it is being terminated')) {
    return { kind: 'retry', reason: 'NamespaceTerminating', retryAfterSeconds: SETTLE_SECONDS };
  }
  // apiserver admission/plugin/resourcequota/controller.go. Retried, as Kubernetes' own
  // controllers retry it: a pod that ends frees room (see docs/reference.md).
  if (message.includes('exceeded quota:')) {
    return { kind: 'retry', reason: 'QuotaExceeded', retryAfterSeconds: QUOTA_RETRY_SECONDS };
  }
  // The quota limits a resource the pod does not declare: no retry changes that.
  if (message.includes('failed quota:')) return { kind: 'final', reason: 'QuotaRejected' };
  // pod-security-admission/admission/admission.go
  if (message.includes('violates PodSecurity')) {
    return { kind: 'final', reason: 'PodSecurityViolation' };
  }
  // plugin/pkg/admission/limitranger/admission.go
  if (/(maximum|minimum) \S+ usage per|limit to request ratio per/.test(message)) {
    return { kind: 'final', reason: 'LimitRangeViolation' };
  }
  // The authorization filter (RBAC): the function's Role lacks the verb.
  if (/cannot \S+ resource/.test(message)) return { kind: 'final', reason: 'Forbidden' };
  return undefined;
}

/** A 500 from a webhook the API server could not call (failurePolicy Fail). */
export function isWebhookUnavailable(failure: ApiFailure): boolean {
  return failure.message.includes('failed calling webhook');
}
