// Bench layer (`npm run bench -- --subjects empty --empty-function scripts/bench/runtime-https.js`):
// the empty faas-js-runtime function plus the one pod create of scripts/bench/limit.js, sent with
// node:https, without the pod's Event (the floor before issue 29): what the runtime costs with
// the design's one HTTPS call, before any client library.
import { CloudEvent } from 'cloudevents';
import { createPodWithHttps } from './limit.js';

export async function handle(_context, event) {
  const name = await createPodWithHttps(event.source, event.id);
  return new CloudEvent({
    source: 'bench/runtime-https',
    type: 'io.podgateway.client.scheduling.done',
    datacontenttype: 'application/json',
    data: { pod_name: name, namespace: 'none', gateway_name: 'foo', message: 'runtime-https' },
    inresponseto: event.id,
  });
}
