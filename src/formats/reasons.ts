// Every reason the function gives of its own: a failed reply's `reason`, the `error` of a 400 or
// 503, the log line's and the metrics' `reason`. Kubernetes' own words (a container's waiting
// reason, an API Status reason such as Invalid) pass through as the API gave them.
export const REASON = {
  // The event cannot be read: HTTP 400, not retried.
  BadRequest: 'BadRequest',
  // The event was read, but asks for what cannot be done: a failed reply.
  InvalidGatewayName: 'InvalidGatewayName',
  UnknownGateway: 'UnknownGateway',
  PolicyViolation: 'PolicyViolation',
  InvalidPodName: 'InvalidPodName',
  NotManaged: 'NotManaged',
  NotOwner: 'NotOwner',
  AlreadyExists: 'AlreadyExists',
  // Created without the gateway's containers: deleted at once (src/pods/routing.ts).
  NotRouted: 'NotRouted',
  // Admission refused the pod (src/kube/refusals.ts).
  AdmissionDenied: 'AdmissionDenied',
  QuotaRejected: 'QuotaRejected',
  PodSecurityViolation: 'PodSecurityViolation',
  LimitRangeViolation: 'LimitRangeViolation',
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  // The pod will not get where WAIT_FOR asks.
  Unschedulable: 'Unschedulable',
  PodDeleted: 'PodDeleted',
  PodSucceeded: 'PodSucceeded',
  PodFailed: 'PodFailed',
  // Worth delivering again: HTTP 503 with Retry-After.
  ApiUnavailable: 'ApiUnavailable',
  PodTerminating: 'PodTerminating',
  ServiceAccountNotReady: 'ServiceAccountNotReady',
  NamespaceTerminating: 'NamespaceTerminating',
  QuotaExceeded: 'QuotaExceeded',
  SchedulingTimeout: 'SchedulingTimeout',
  ReadyTimeout: 'ReadyTimeout',
  SinkUnavailable: 'SinkUnavailable',
  NotReady: 'NotReady',
  ShuttingDown: 'ShuttingDown',
  WebhookUnavailable: 'WebhookUnavailable',
  TooManyRequests: 'TooManyRequests',
  // What the HTTP edge answers before the function sees the request.
  // No bearer token, or one that does not verify (OIDC_AUDIENCE): HTTP 401.
  Unauthorized: 'Unauthorized',
  RequestTimeout: 'RequestTimeout',
  NotAcceptable: 'NotAcceptable',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
  UnsupportedMediaType: 'UnsupportedMediaType',
  RequestHeaderFieldsTooLarge: 'RequestHeaderFieldsTooLarge',
  InternalError: 'InternalError',
  // A method no route at that path takes: HTTP 405 with Allow.
  MethodNotAllowed: 'MethodNotAllowed',
  // A release done without deleting: the pod was gone already.
  AlreadyGone: 'AlreadyGone',
} as const;

/**
 * The reasons of the Kubernetes Events the function reports on a client pod
 * (src/observability/pod-events.ts), as `kubectl events` shows them. NotRouted is also the
 * failed reply's reason for the same pod.
 */
export const EVENT_REASON = {
  Provisioned: 'Provisioned',
  Ready: 'Ready',
  Released: 'Released',
  Swept: 'Swept',
  NotRouted: 'NotRouted',
} as const;
