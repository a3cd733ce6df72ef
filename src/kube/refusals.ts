// What an API refusal of the pod create means: which admission step said no, and whether a later
// delivery of the event can succeed. The API's reason is `Forbidden` for most of them: the
// message tells them apart (kube-apiserver words each one its own way).

import { REASON } from '../formats/reasons.ts';
import type { ApiFailure } from './client.ts';

export type Refusal =
  /** Worth delivering the event again: answer 503 with Retry-After. */
  | { readonly kind: 'unavailable'; readonly reason: string; readonly retryAfterSeconds: number }
  /** Final: a `failed` reply with this reason and the API's message. */
  | { readonly kind: 'failed'; readonly reason: string };

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
    return { kind: 'failed', reason: REASON.AdmissionDenied };
  }
  if (code !== 403) return undefined;
  // plugin/pkg/admission/serviceaccount/admission.go: a namespace made a moment ago.
  if (message.includes('error looking up service account')) {
    return {
      kind: 'unavailable',
      reason: REASON.ServiceAccountNotReady,
      retryAfterSeconds: SETTLE_SECONDS,
    };
  }
  // apiserver admission/plugin/namespace/lifecycle/admission.go: NamespaceTerminating.
  if (message.includes('because it is being terminated')) {
    return {
      kind: 'unavailable',
      reason: REASON.NamespaceTerminating,
      retryAfterSeconds: SETTLE_SECONDS,
    };
  }
  // apiserver admission/plugin/resourcequota/controller.go. Retried, as Kubernetes' own
  // controllers retry it: a pod that ends frees room (see docs/reference.md).
  if (message.includes('exceeded quota:')) {
    return {
      kind: 'unavailable',
      reason: REASON.QuotaExceeded,
      retryAfterSeconds: QUOTA_RETRY_SECONDS,
    };
  }
  // The quota limits a resource the pod does not declare: no retry changes that.
  if (message.includes('failed quota:')) return { kind: 'failed', reason: REASON.QuotaRejected };
  // pod-security-admission/admission/admission.go
  if (message.includes('violates PodSecurity')) {
    return { kind: 'failed', reason: REASON.PodSecurityViolation };
  }
  // plugin/pkg/admission/limitranger/admission.go
  if (/(maximum|minimum) \S+ usage per|limit to request ratio per/.test(message)) {
    return { kind: 'failed', reason: REASON.LimitRangeViolation };
  }
  // The authorization filter (RBAC): the function's Role lacks the verb.
  if (/cannot \S+ resource/.test(message)) return { kind: 'failed', reason: REASON.Forbidden };
  return undefined;
}
