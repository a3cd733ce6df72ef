// The pod-gateway webhooks and the client namespace as deploy/ configures them, for the API test
// server: the sandbox (`npm run dev`) routes pods as a cluster set up by docs/deploy.md would.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from './function-process.ts';
import type { NamespaceSpec } from './kube-api-server/admission.ts';
import {
  type PodGatewaySettings,
  podGatewayWebhook,
  type Webhook,
} from './kube-api-server/webhooks.ts';

const DEPLOY_DIR = join(PROJECT_ROOT, 'deploy');
const VALUES_FILE = /^pod-gateway-(.+)-values\.yaml$/;

interface GatewayValues {
  readonly DNS?: string;
  readonly webhook?: {
    readonly namespaceSelector?: { readonly label?: string };
    readonly gatewayDefault?: boolean;
    readonly gatewayLabel?: string;
    readonly gatewayLabelValue?: string;
    readonly gatewayAnnotation?: string;
    readonly gatewayAnnotationValue?: string;
  };
}

/** One webhook per deploy/pod-gateway-<name>-values.yaml, configured by its values. */
export async function deployedGatewayWebhooks(): Promise<Webhook[]> {
  const webhooks: Webhook[] = [];
  for (const file of (await readdir(DEPLOY_DIR)).sort()) {
    const gateway = VALUES_FILE.exec(file)?.[1];
    if (gateway === undefined) continue;
    const values = parse(await readFile(join(DEPLOY_DIR, file), 'utf8')) as GatewayValues;
    const webhook = values.webhook ?? {};
    const settings: PodGatewaySettings = {
      gateway,
      ...(webhook.namespaceSelector?.label
        ? { namespaceLabel: webhook.namespaceSelector.label }
        : {}),
      ...(webhook.gatewayDefault !== undefined ? { gatewayDefault: webhook.gatewayDefault } : {}),
      ...(webhook.gatewayLabel ? { gatewayLabel: webhook.gatewayLabel } : {}),
      ...(webhook.gatewayLabelValue ? { gatewayLabelValue: webhook.gatewayLabelValue } : {}),
      ...(webhook.gatewayAnnotation ? { gatewayAnnotation: webhook.gatewayAnnotation } : {}),
      ...(webhook.gatewayAnnotationValue
        ? { gatewayAnnotationValue: webhook.gatewayAnnotationValue }
        : {}),
      ...(values.DNS ? { dns: values.DNS } : {}),
    };
    webhooks.push(podGatewayWebhook(settings));
  }
  return webhooks;
}

/** The namespace with the labels deploy/namespace.yaml gives it (none if it is not there). */
export async function deployedNamespace(name: string): Promise<NamespaceSpec> {
  const text = await readFile(join(DEPLOY_DIR, 'namespace.yaml'), 'utf8');
  for (const document of parseAllDocuments(text)) {
    const doc = document.toJS() as {
      metadata?: { name?: string; labels?: Record<string, string> };
    };
    if (doc?.metadata?.name === name) return { name, labels: doc.metadata.labels ?? {} };
  }
  return { name };
}
