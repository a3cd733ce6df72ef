// The bench's Kubernetes API server, in a process of its own: the API test server with the client
// namespace and the pod-gateway webhooks as deploy/ configures them (so the pods the bench asks
// for gateway foo are routed, as a done reply requires), and with --bind-after-ms a scheduler
// binding each pod that long after its creation. Prints `{"url", "kubeconfig"}` on its first line,
// then answers each line read on stdin with `{"watches": n}`; stops on SIGTERM, SIGINT or the end
// of stdin.
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { deployedGatewayWebhooks, deployedNamespace } from '../../testbed/deployed-gateways.ts';
import { startScheduler } from '../../testbed/kube-api-server/scheduler.ts';
import { startKubeApiServer } from '../../testbed/kube-api-server/server.ts';

const { values } = parseArgs({
  options: {
    namespace: { type: 'string', multiple: true, default: [] },
    'kubeconfig-dir': { type: 'string' },
    'bind-after-ms': { type: 'string' },
  },
});
const server = await startKubeApiServer({
  namespaces: await Promise.all(values.namespace.map(deployedNamespace)),
  webhooks: await deployedGatewayWebhooks(),
});
const bindAfterMs = values['bind-after-ms'];
const scheduler =
  bindAfterMs === undefined
    ? undefined
    : startScheduler(server, { bindAfterMs: Number(bindAfterMs) });
const kubeconfig = await server.writeKubeconfig(values['kubeconfig-dir'] ?? '.');
process.stdout.write(`${JSON.stringify({ url: server.url, kubeconfig })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', () => {
  process.stdout.write(`${JSON.stringify({ watches: server.openWatches })}\n`);
});
await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT'), once(lines, 'close')]);
scheduler?.stop();
await server.close();
process.exit(0);
