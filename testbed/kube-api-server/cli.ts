// The API test server on the command line, for a local sandbox: see server.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type KubeApiServerOptions, podGatewayWebhook, startKubeApiServer } from './server.ts';

export async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      namespace: { type: 'string', multiple: true },
      'kubeconfig-dir': { type: 'string' },
      token: { type: 'string' },
      'pod-gateway': { type: 'string', multiple: true },
    },
  });
  const port = Number(values.port ?? process.env.KUBE_API_PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad port: ${port}`);
  const options: KubeApiServerOptions = { port };
  if (values.namespace !== undefined && values.namespace.length > 0)
    options.namespaces = values.namespace;
  if (values.token !== undefined) options.token = values.token;
  const gateways = values['pod-gateway'] ?? [];
  if (gateways.length > 0) {
    options.webhooks = gateways.map((gateway) =>
      podGatewayWebhook({
        gateway,
        gatewayDefault: false,
        gatewayLabelValue: gateway,
        gatewayAnnotationValue: gateway,
      }),
    );
  }
  const server = await startKubeApiServer(options);
  const ownDir = values['kubeconfig-dir'] === undefined;
  const dir = values['kubeconfig-dir'] ?? (await mkdtemp(join(tmpdir(), 'kube-api-')));
  const kubeconfig = await server.writeKubeconfig(dir);
  process.stdout.write(`${JSON.stringify({ url: server.url, kubeconfig })}\n`);
  const stop = async () => {
    if (ownDir) await rm(dir, { recursive: true, force: true });
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
