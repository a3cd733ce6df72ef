// SelfSubjectAccessReview (authorization.k8s.io/v1): "may I do this?", answered by the server's
// own authorizer for the user who asks. Modelled on kube-apiserver:
// - pkg/registry/authorization/selfsubjectaccessreview/rest.go: Create validates the spec, runs
//   the authorizer on the attributes built from it, and returns the review with its status
//   (HTTP 201); nothing is stored.
// - pkg/apis/authorization/validation/validation.go (ValidateSelfSubjectAccessReviewSpec):
//   exactly one of resourceAttributes and nonResourceAttributes.
// - plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go: the system:basic-user
//   ClusterRole, bound to system:authenticated, lets every authenticated user create one; the
//   caller's own Role need not grant it.
import type { Authorizer } from './routing.ts';
import { badRequest, fieldError, invalid, type Status } from './status.ts';

export const ACCESS_REVIEW_PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';

export function isAccessReview(method: string, path: string): boolean {
  return method === 'POST' && path.replace(/\/+$/, '') === ACCESS_REVIEW_PATH;
}

export type AccessReviewReply =
  | { readonly code: 201; readonly body: Record<string, unknown> }
  | { readonly code: number; readonly body: Status };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The answer to a review's POST body, the authorizer deciding for the user who asks. */
export function answerAccessReview(body: Buffer, authorize: Authorizer): AccessReviewReply {
  let review: unknown;
  try {
    review = JSON.parse(body.toString('utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      code: 400,
      body: badRequest(`the body of the request could not be decoded: ${reason}`),
    };
  }
  const spec = isObject(review) && isObject(review.spec) ? review.spec : {};
  const resource = isObject(spec.resourceAttributes) ? spec.resourceAttributes : undefined;
  const nonResource = isObject(spec.nonResourceAttributes) ? spec.nonResourceAttributes : undefined;
  if ((resource === undefined) === (nonResource === undefined)) {
    const detail =
      resource === undefined
        ? 'exactly one of nonResourceAttributes or resourceAttributes must be specified'
        : 'cannot be specified in combination with resourceAttributes';
    const field = resource === undefined ? 'spec.resourceAttributes' : 'spec.nonResourceAttributes';
    const error =
      resource === undefined
        ? fieldError.invalid(field, spec.resourceAttributes ?? null, detail)
        : fieldError.invalid(field, spec.nonResourceAttributes, detail);
    return {
      code: 422,
      body: invalid('SelfSubjectAccessReview', '', [error], 'authorization.k8s.io'),
    };
  }
  // Non-resource URLs are not modelled: the test server's authorizer decides on resources only.
  const allowed =
    resource !== undefined &&
    authorize({
      verb: text(resource.verb),
      resource: text(resource.resource),
      apiGroup: text(resource.group),
      ...(text(resource.subresource) ? { subresource: text(resource.subresource) } : {}),
      ...(text(resource.namespace) ? { namespace: text(resource.namespace) } : {}),
      ...(text(resource.name) ? { name: text(resource.name) } : {}),
    });
  return {
    code: 201,
    body: {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
      // RBAC never denies outright: without a rule that allows, it has no opinion (`denied` unset).
      status: allowed
        ? { allowed: true, reason: 'allowed by the test server’s authorizer' }
        : { allowed: false },
    },
  };
}
