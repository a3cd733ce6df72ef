// The pod: the client Pod built for a request, and how to tell which event a pod came from.
import { createHash } from 'node:crypto';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { ProvisionerConfig } from './config.ts';
import type { PodOverrides } from './overrides.ts';
import type { ProvisionRequest } from './request.ts';

export const CONTAINER_NAME = 'client';
export const APP_NAME = 'podgateway-client';
export const MANAGER_NAME = 'podgateway-client-provisioner';

export const ANNOTATIONS = {
  eventSource: 'podgateway.io/event-source',
  eventId: 'podgateway.io/event-id',
  message: 'podgateway.io/message',
} as const;

/** Room left for the readable gateway part of a pod name; the hash makes it unique. */
const GATEWAY_PART_LENGTH = 40;

/**
 * The pod name for an event: the same for every delivery of that event (CloudEvents `source`
 * plus `id` identify it), so a redelivery finds the pod instead of making a second one.
 * The gateway name is kept, made DNS-safe, so `kubectl get pods` reads well.
 */
export function podNameFor(
  request: Pick<ProvisionRequest, 'gatewayName' | 'eventId' | 'eventSource'>,
): string {
  const digest = createHash('sha256')
    // JSON keeps the two apart: no (source, id) pair can spell another.
    .update(JSON.stringify([request.eventSource, request.eventId]))
    .digest('hex')
    .slice(0, 12);
  const gatewayPart = request.gatewayName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, GATEWAY_PART_LENGTH)
    .replace(/^-+|-+$/g, '');
  return gatewayPart ? `client-${gatewayPart}-${digest}` : `client-${digest}`;
}

export function buildPod(config: ProvisionerConfig, request: ProvisionRequest): V1Pod {
  const name = podNameFor(request);
  const labels: Record<string, string> = {
    'app.kubernetes.io/name': APP_NAME,
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/managed-by': MANAGER_NAME,
  };
  const annotations: Record<string, string> = {
    [ANNOTATIONS.eventSource]: request.eventSource,
    [ANNOTATIONS.eventId]: request.eventId,
  };
  if (request.message !== undefined) annotations[ANNOTATIONS.message] = request.message;
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

/** Whether an existing pod was made for this very request (a redelivery of the same event). */
export function isPodForRequest(
  pod: V1Pod,
  config: ProvisionerConfig,
  request: ProvisionRequest,
): boolean {
  const annotations = pod.metadata?.annotations ?? {};
  const labels = pod.metadata?.labels ?? {};
  const gateway = config.gatewayLabel
    ? labels[config.gatewayLabel]
    : config.gatewayAnnotation && annotations[config.gatewayAnnotation];
  return (
    annotations[ANNOTATIONS.eventSource] === request.eventSource &&
    annotations[ANNOTATIONS.eventId] === request.eventId &&
    gateway === request.gatewayName
  );
}
