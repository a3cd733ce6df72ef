// The pod-gateway admission webhook (angelnu/gateway-admision-controller v3.12.0, as the
// pod-gateway chart 7.1.1 runs it), rewritten here from reading its mutator: the Go module is
// not served by the module proxy this project can reach. Same path, same decision (label, then
// annotation, each compared with its configured value), same injected init container, sidecar,
// volume and DNS settings, answered as a JSON patch over HTTPS.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { V1Container, V1Pod, V1PodDNSConfig, V1Volume } from '@kubernetes/client-node';
import type { KeyPair } from './certificates.ts';

export const WEBHOOK_PATH = '/wh/mutating/setgateway';
export const HEALTH_PATH = '/wh/health';

/** The webhook's command line as the chart renders it (templates/common.yaml). */
export interface GatewayWebhookConfig {
  readonly gateway: string;
  readonly dns: string;
  readonly dnsPolicy: string;
  readonly configmapName: string;
  readonly setGatewayDefault: boolean;
  readonly setGatewayLabel: string;
  readonly setGatewayLabelValue: string;
  readonly setGatewayAnnotation: string;
  readonly setGatewayAnnotationValue: string;
  readonly image: string;
  readonly imagePullPolicy: string;
  readonly sidecarAsInit: boolean;
}

/** What the webhook's own pod reads from /etc/resolv.conf in a cluster (kube-dns at .10). */
export interface ResolvConf {
  readonly nameservers: readonly string[];
  readonly searches: readonly string[];
  readonly options: readonly { name: string; value?: string }[];
}

export function clusterResolvConf(serviceIp: string, webhookNamespace: string): ResolvConf {
  return {
    nameservers: [serviceIp],
    searches: [`${webhookNamespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'],
    options: [{ name: 'ndots', value: '5' }],
  };
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's strconv.ParseBool, whose error the webhook returns for a value it cannot read. */
function parseGoBool(value: string): boolean {
  if (GO_TRUE.has(value)) return true;
  if (GO_FALSE.has(value)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
}

/** A label or annotation, when present, decides alone: equal to the wanted value, or true. */
function decide(
  current: boolean,
  key: string,
  wanted: string,
  values: Record<string, string> | undefined,
) {
  if (key === '' || values === undefined || !(key in values)) return current;
  const value = values[key] ?? '';
  return wanted !== '' ? value === wanted : parseGoBool(value);
}

export function wantsGateway(config: GatewayWebhookConfig, pod: V1Pod): boolean {
  const byLabel = decide(
    config.setGatewayDefault,
    config.setGatewayLabel,
    config.setGatewayLabelValue,
    pod.metadata?.labels,
  );
  return decide(
    byLabel,
    config.setGatewayAnnotation,
    config.setGatewayAnnotationValue,
    pod.metadata?.annotations,
  );
}

/** The search list of the webhook's resolv.conf, its `<ns>.svc...` entry moved to the pod's. */
function podSearches(resolv: ResolvConf, namespace: string): string[] {
  return resolv.searches
    .map((search) => {
      const parts = search.split('.');
      if (parts.length > 2 && parts[1] === 'svc' && namespace !== '') parts[0] = namespace;
      return parts.join('.');
    })
    .filter((search) => search !== '' && search !== '.');
}

function gatewayContainer(
  config: GatewayWebhookConfig,
  resolv: ResolvConf,
  name: string,
  command: string,
): V1Container {
  return {
    name,
    image: config.image,
    command: [command],
    env: [
      { name: 'gateway', value: config.gateway },
      { name: 'DNS', value: config.dns },
      // The webhook resolves each DNS entry; the chart's are IP literals, which stay as they are.
      { name: 'DNS_ips', value: config.dns },
      { name: 'K8S_DNS_ips', value: resolv.nameservers.join(' ') },
    ],
    volumeMounts: [{ name: 'gateway-configmap', readOnly: true, mountPath: '/config' }],
    imagePullPolicy: config.imagePullPolicy,
    securityContext: {
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: [] },
      runAsUser: 0,
      runAsNonRoot: false,
    },
  };
}

/** The JSON patch the webhook answers for `pod`; empty when the pod does not ask for it. */
export function gatewayPatch(
  config: GatewayWebhookConfig,
  resolv: ResolvConf,
  pod: V1Pod,
  namespace: string,
): object[] {
  if (!wantsGateway(config, pod)) return [];
  // `add` on a member that exists replaces it: each op states the whole new field.
  const add = (field: string, value: unknown) => ({ op: 'add', path: `/spec/${field}`, value });
  const spec = pod.spec ?? { containers: [] };
  const dnsConfig: V1PodDNSConfig = { nameservers: config.dns.split(',') };
  if (config.dnsPolicy === 'None') {
    dnsConfig.searches = podSearches(resolv, pod.metadata?.namespace || namespace);
    dnsConfig.options = resolv.options.map((option) => ({ ...option }));
  }
  const dns = config.dns === '' ? [] : [add('dnsConfig', dnsConfig)];
  const init = gatewayContainer(config, resolv, 'gateway-init', '/bin/client_init.sh');
  const sidecar = gatewayContainer(config, resolv, 'gateway-sidecar', '/bin/client_sidecar.sh');
  const initContainers = [...(spec.initContainers ?? []), init];
  const containers = [...spec.containers];
  if (config.sidecarAsInit) initContainers.push({ ...sidecar, restartPolicy: 'Always' });
  else containers.push(sidecar);
  const volume: V1Volume = {
    name: 'gateway-configmap',
    configMap: { name: config.configmapName, defaultMode: 0o777 },
  };
  return [
    ...dns,
    ...(config.dnsPolicy === '' ? [] : [add('dnsPolicy', config.dnsPolicy)]),
    add('initContainers', initContainers),
    add('containers', containers),
    add('volumes', [...(spec.volumes ?? []), volume]),
  ];
}

interface AdmissionReview {
  apiVersion?: string;
  request?: { uid: string; namespace?: string; object?: V1Pod };
}

/** The AdmissionReview answer to `body`: allowed with a patch, or refused with the error. */
export function admissionResponse(
  config: GatewayWebhookConfig,
  resolv: ResolvConf,
  body: AdmissionReview,
): object {
  const request = body.request;
  const envelope = {
    apiVersion: body.apiVersion ?? 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
  };
  if (request === undefined) return { ...envelope, response: { uid: '', allowed: false } };
  try {
    const patch = gatewayPatch(
      config,
      resolv,
      request.object ?? { spec: { containers: [] } },
      request.namespace ?? '',
    );
    const patched =
      patch.length === 0
        ? {}
        : { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') };
    return { ...envelope, response: { uid: request.uid, allowed: true, ...patched } };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      ...envelope,
      response: {
        uid: request.uid,
        allowed: false,
        status: { status: 'Failure', message, code: 500 },
      },
    };
  }
}

export interface RunningWebhook {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

async function readBody(request: NodeJS.ReadableStream): Promise<string> {
  let body = '';
  for await (const chunk of request) body += chunk.toString();
  return body;
}

/** Serves the webhook on 127.0.0.1 (`port` 0: any free one) with `tls`. */
export async function startGatewayWebhook(
  config: GatewayWebhookConfig,
  resolv: ResolvConf,
  tls: KeyPair,
  port = 0,
): Promise<RunningWebhook> {
  const [cert, key] = await Promise.all([readFile(tls.cert), readFile(tls.key)]);
  const server: Server = createServer({ cert, key }, async (request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path === HEALTH_PATH) {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
      return;
    }
    if (path !== WEBHOOK_PATH || request.method !== 'POST') {
      response.writeHead(404).end();
      return;
    }
    try {
      const review = JSON.parse(await readBody(request)) as AdmissionReview;
      const answer = JSON.stringify(admissionResponse(config, resolv, review));
      response.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    } catch (error) {
      response.writeHead(400).end(error instanceof Error ? error.message : 'bad request');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `https://127.0.0.1:${bound}${WEBHOOK_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
