// Admission webhooks for pod CREATE, as the API server calls them
// (staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/mutating/dispatcher.go and
// .../validating/dispatcher.go; errors worded in .../webhook/errors/errors.go and
// statuserror.go), and a model of the pod-gateway mutating webhook
// (angelnu/gateway-admision-controller internal/mutation, as configured by the angelnu
// pod-gateway chart; rules in ../shared/reference/notes.md).
import type { Container, PodObject } from './validation.ts';

/** Up (answers), down (cannot be reached), or denying every request with a code and message. */
export type WebhookState = 'up' | 'down' | { readonly deny: { code: number; message: string } };

export interface Webhook {
  /** e.g. `pod-gateway-foo.gateway-system.svc` */
  readonly name: string;
  readonly type: 'mutating' | 'validating';
  /** The namespaces it sees: all when absent (a matchLabels namespaceSelector). */
  readonly namespaceSelector?: Readonly<Record<string, string>>;
  /** What happens when it cannot be called: the API's default (and the pod-gateway chart's) is Fail. */
  readonly failurePolicy?: 'Fail' | 'Ignore';
  /** The service URL it is called on, for the `failed calling webhook` message. */
  readonly url?: string;
  /** A mutating webhook's change to the pod; a string is an error answer: the request is denied. */
  readonly mutate?: (pod: PodObject) => string | undefined;
  state?: WebhookState;
}

/** What a webhook call came to. */
export type WebhookVerdict =
  | { readonly kind: 'allowed' }
  /** failurePolicy Fail and no answer: 500 InternalError. */
  | { readonly kind: 'unreachable'; readonly message: string }
  /** The webhook's own code (400 when it gave none under 400), and its message. */
  | { readonly kind: 'denied'; readonly code: number; readonly message: string };

export function selects(webhook: Webhook, namespaceLabels: Readonly<Record<string, string>>) {
  const selector = webhook.namespaceSelector ?? {};
  return Object.entries(selector).every(([key, value]) => namespaceLabels[key] === value);
}

/** Calls one webhook on the pod (mutating in place when it is a mutating one). */
export function callWebhook(webhook: Webhook, pod: PodObject): WebhookVerdict {
  const state = webhook.state ?? 'up';
  if (state === 'down') {
    if (webhook.failurePolicy === 'Ignore') return { kind: 'allowed' };
    const url = webhook.url ?? `https://${webhook.name}:443/`;
    return {
      kind: 'unreachable',
      message: `failed calling webhook "${webhook.name}": failed to call webhook: Post "${url}?timeout=5s": dial tcp 10.96.0.42:443: connect: connection refused`,
    };
  }
  if (state !== 'up') return denied(webhook, state.deny.code, state.deny.message);
  const error = webhook.mutate?.(pod);
  return error === undefined ? { kind: 'allowed' } : denied(webhook, 400, error);
}

function denied(webhook: Webhook, code: number, message: string): WebhookVerdict {
  return {
    kind: 'denied',
    code: code >= 400 ? code : 400,
    message: `admission webhook "${webhook.name}" denied the request: ${message}`,
  };
}

// ---------------------------------------------------------------------------------------------
// The pod-gateway webhook

export interface PodGatewaySettings {
  /** The gateway's name, for the webhook's name. */
  readonly gateway: string;
  /** webhook.namespaceSelector {type: label, label: L}: matchLabels {L: "true"}. */
  readonly namespaceLabel?: string;
  readonly gatewayDefault?: boolean;
  readonly gatewayLabel?: string;
  readonly gatewayLabelValue?: string;
  readonly gatewayAnnotation?: string;
  readonly gatewayAnnotationValue?: string;
  /** The DNS server set on routed pods (the chart's `DNS`). */
  readonly dns?: string;
  readonly image?: string;
}

/** Values of deploy/pod-gateway-<gateway>-values.yaml, for a gateway of that name. */
export function podGatewayWebhook(settings: PodGatewaySettings): Webhook {
  const label = settings.namespaceLabel ?? 'routed-gateway';
  return {
    name: `pod-gateway-${settings.gateway}.gateway-system.svc`,
    type: 'mutating',
    namespaceSelector: { [label]: 'true' },
    failurePolicy: 'Fail',
    url: `https://pod-gateway-${settings.gateway}-webhook.gateway-system.svc:443/wh/mutating/setgateway`,
    mutate: (pod) => {
      const decision = routes(pod, settings);
      if (typeof decision === 'string') return decision;
      if (decision) injectGateway(pod, settings);
      return undefined;
    },
  };
}

/**
 * Whether the pod asks for this gateway: the label first, then the annotation (when configured
 * and present) overrides it; neither: gatewayDefault. With no value configured, the key's value
 * must be a boolean, else the webhook answers with an error (a string here).
 */
function routes(pod: PodObject, settings: PodGatewaySettings): boolean | string {
  let decision = settings.gatewayDefault ?? true;
  const checks: Array<
    [string | undefined, string | undefined, Record<string, string> | undefined]
  > = [
    [settings.gatewayLabel ?? 'setGateway', settings.gatewayLabelValue, pod.metadata?.labels],
    [
      settings.gatewayAnnotation ?? 'setGateway',
      settings.gatewayAnnotationValue,
      pod.metadata?.annotations,
    ],
  ];
  for (const [key, expected, values] of checks) {
    const actual = key ? values?.[key] : undefined;
    if (actual === undefined) continue;
    if (expected !== undefined) {
      decision = actual === expected;
      continue;
    }
    const parsed = parseBool(actual);
    if (parsed === undefined) return `strconv.ParseBool: parsing "${actual}": invalid syntax`;
    decision = parsed;
  }
  return decision;
}

/** Go's strconv.ParseBool. */
function parseBool(value: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return undefined;
}

/** kube-dns's Service IP, what the webhook's own pod reads from its /etc/resolv.conf. */
const CLUSTER_DNS = '10.96.0.10';

/**
 * The init container (appended after the pod's own) and sidecar: root, NET_ADMIN and NET_RAW,
 * runAsNonRoot false, the gateway's addresses in env; the configmap volume; DNS set to the
 * gateway with the search list and options of the webhook's resolv.conf, moved to the pod's
 * namespace (internal/mutation of gateway-admision-controller v3.12.0, as testbed/cluster/
 * gateway-webhook.ts rewrites it and the differential check compares).
 */
function injectGateway(pod: PodObject, settings: PodGatewaySettings): void {
  const spec = pod.spec;
  if (spec === undefined) return;
  const image = settings.image ?? 'ghcr.io/angelnu/pod-gateway:v1.13.0';
  const dns = settings.dns ?? '172.16.0.1';
  const gatewayContainer = (name: string, command: string): Container => ({
    name,
    image,
    command: [command],
    env: [
      {
        name: 'gateway',
        value: `pod-gateway-${settings.gateway}-main.gateway-system.svc.cluster.local`,
      },
      { name: 'DNS', value: dns },
      { name: 'DNS_ips', value: dns },
      { name: 'K8S_DNS_ips', value: CLUSTER_DNS },
    ],
    imagePullPolicy: 'IfNotPresent',
    securityContext: {
      runAsUser: 0,
      runAsNonRoot: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'] },
    },
    volumeMounts: [{ name: 'gateway-configmap', mountPath: '/config', readOnly: true }],
  });
  spec.initContainers = [
    ...(spec.initContainers ?? []),
    gatewayContainer('gateway-init', '/bin/client_init.sh'),
  ];
  spec.containers = [
    ...spec.containers,
    gatewayContainer('gateway-sidecar', '/bin/client_sidecar.sh'),
  ];
  spec.volumes = [
    ...(spec.volumes ?? []),
    {
      name: 'gateway-configmap',
      configMap: { name: `pod-gateway-${settings.gateway}`, defaultMode: 0o777 },
    },
  ];
  const namespace = pod.metadata?.namespace || 'default';
  spec.dnsPolicy = 'None';
  spec.dnsConfig = {
    nameservers: [dns],
    searches: [`${namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'],
    options: [{ name: 'ndots', value: '5' }],
  };
}
