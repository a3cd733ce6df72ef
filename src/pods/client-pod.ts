// The pod: the client Pod built for a request, and how to tell which event a pod came from.
import { createHash } from 'node:crypto';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ProvisionerConfig } from '../config/config.ts';
import { FINGERPRINT_ANNOTATION, fingerprintAnnotation } from './fingerprint.ts';
import type { PodOverrides } from './overrides.ts';
import type { ProvisionRequest } from './provision-request.ts';

export const CONTAINER_NAME = 'client';
export const APP_NAME = 'podgateway-client';
export const MANAGER_NAME = 'podgateway-client-provisioner';

export const ANNOTATIONS = {
  eventSource: 'podgateway.io/event-source',
  eventId: 'podgateway.io/event-id',
  message: 'podgateway.io/message',
  /** With tracing on: the trace of the event that made the pod (not of later redeliveries). */
  traceId: 'podgateway.io/trace-id',
} as const;

/** Hex digits of the name's digest: 80 bits, 27 characters in all. */
const DIGEST_LENGTH = 20;

/**
 * The pod name for an event: the same for every delivery of that event (CloudEvents `source`
 * plus `id` identify it), so a redelivery finds the pod instead of making a second one. Nothing
 * else goes into it: a second request with the same source and id but another gateway must meet
 * the first pod (and be refused), not make a second one. The gateway is the pod's label.
 */
export function podNameFor(event: Pick<ProvisionRequest, 'eventId' | 'eventSource'>): string {
  const digest = createHash('sha256')
    // JSON keeps the two apart: no (source, id) pair can spell another.
    .update(JSON.stringify([event.eventSource, event.eventId]))
    .digest('hex')
    .slice(0, DIGEST_LENGTH);
  return `client-${digest}`;
}

/**
 * The pod for a request. `traceId`, when tracing is on, is kept as an annotation: from a pod to
 * its trace. It is no part of the request's fingerprint (src/pods/fingerprint.ts): a redelivery
 * comes with another trace and asks for the same pod.
 */
export function buildPod(
  config: ProvisionerConfig,
  request: ProvisionRequest,
  traceId?: string,
): V1Pod {
  const name = podNameFor(request);
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': APP_NAME,
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/managed-by': MANAGER_NAME,
  };
  const annotations: Record<string, string> = {
    [ANNOTATIONS.eventSource]: request.eventSource,
    [ANNOTATIONS.eventId]: request.eventId,
    [FINGERPRINT_ANNOTATION]: fingerprintAnnotation(request),
  };
  if (request.message !== undefined) annotations[ANNOTATIONS.message] = request.message;
  if (traceId !== undefined) annotations[ANNOTATIONS.traceId] = traceId;
  if (config.gatewayLabel) labels[config.gatewayLabel] = request.gatewayName;
  if (config.gatewayAnnotation) annotations[config.gatewayAnnotation] = request.gatewayName;

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: config.clientNamespace, labels, annotations },
    spec: {
      // The client needs no Kubernetes credentials.
      automountServiceAccountToken: false,
      activeDeadlineSeconds: config.clientActiveDeadlineSeconds,
      containers: [clientContainer(config, request.overrides)],
    },
  };
}

/**
 * The client container, locked down. Only the container: the pod-level settings would also
 * bind the gateway webhook's injected containers, which need root and NET_ADMIN.
 */
function clientContainer(config: ProvisionerConfig, overrides: PodOverrides): V1Container {
  const env = Object.entries(overrides.env ?? {}).map(([name, value]) => ({ name, value }));
  return {
    name: CONTAINER_NAME,
    image: overrides.image ?? config.clientImage,
    command: [...(overrides.command ?? config.clientCommand)],
    args: overrides.args ? [...overrides.args] : undefined,
    env: env.length > 0 ? env : undefined,
    resources: {
      requests: { ...config.clientResources.requests, ...overrides.resources?.requests },
      limits: { ...config.clientResources.limits, ...overrides.resources?.limits },
    },
    securityContext: {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
      runAsNonRoot: config.clientRunAsNonRoot,
    },
  };
}

/**
 * Whether an existing pod was made by this function for this event (`source` and `id`), whatever
 * it asked. Anyone who may create pods in the namespace can copy the annotations: the managed-by
 * label is checked too, as the sweep and the release check it.
 */
export function isPodForEvent(pod: V1Pod, request: ProvisionRequest): boolean {
  const annotations = pod.metadata?.annotations ?? {};
  return (
    pod.metadata?.labels?.['app.kubernetes.io/managed-by'] === MANAGER_NAME &&
    annotations[ANNOTATIONS.eventSource] === request.eventSource &&
    annotations[ANNOTATIONS.eventId] === request.eventId
  );
}

/** The gateway a pod was made for: its label, else its annotation. */
export function gatewayOf(pod: V1Pod, config: ProvisionerConfig): string | undefined {
  if (config.gatewayLabel) return pod.metadata?.labels?.[config.gatewayLabel];
  return config.gatewayAnnotation
    ? pod.metadata?.annotations?.[config.gatewayAnnotation]
    : undefined;
}
