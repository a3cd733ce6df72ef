// Bench layer (`npm run bench -- --subjects empty --empty-function scripts/bench/runtime-client.ts`):
// the empty faas-js-runtime function plus the provisioner's own pod create through
// @kubernetes/client-node (src/kube/client.ts, src/kube/connections.ts, src/kube/transport.ts, src/kube/api-call.ts),
// with the pod of src/pods/client-pod.ts. What remains between this and the provisioner is the rest of
// index.ts: validation, metrics, logs, drain, the reply.
import { CloudEvent } from 'cloudevents';
import { loadConfig } from '../../src/config/config.ts';
import { callApi } from '../../src/kube/api-call.ts';
import { makeKubeClient } from '../../src/kube/client.ts';
import { postPod } from '../../src/kube/transport.ts';
import { buildPod } from '../../src/pods/client-pod.ts';

const config = loadConfig();
const kube = makeKubeClient();

export async function handle(
  _context: unknown,
  event: { readonly id: string; readonly source: string },
): Promise<CloudEvent<unknown>> {
  const pod = buildPod(config, {
    gatewayName: 'foo',
    message: undefined,
    eventId: event.id,
    eventSource: event.source,
    overrides: {},
  });
  const deadline = Date.now() + config.eventDeadlineMs;
  const created = await callApi(
    (options) => postPod(kube.kubeConfig, config.clientNamespace, pod, options),
    { timeoutMs: config.apiTimeoutMs, deadline },
  );
  return new CloudEvent({
    source: 'bench/runtime-client',
    type: 'io.podgateway.client.scheduling.done',
    datacontenttype: 'application/json',
    data: { pod_name: created.metadata?.name, namespace: config.clientNamespace },
    inresponseto: event.id,
  });
}
