// Bench layer (`npm run bench -- --subjects floor,empty --empty-function
// scripts/bench/runtime-https-event.js`): the floor (scripts/bench/runtime-https.js) plus the one
// Kubernetes Event the provisioner writes on each pod it creates, sent after the reply as the
// provisioner sends it. What the design's second request per event costs, before any of our code.
import { CloudEvent } from 'cloudevents';
import { createEventWithHttps, createPodWithHttps } from './limit.js';

export async function handle(_context, event) {
  const name = await createPodWithHttps(event.source, event.id);
  setImmediate(() => {
    createEventWithHttps(name, event.source, event.id).catch(() => undefined);
  });
  return new CloudEvent({
    source: 'bench/runtime-https-event',
    type: 'io.podgateway.client.scheduling.done',
    datacontenttype: 'application/json',
    data: {
      pod_name: name,
      namespace: 'none',
      gateway_name: 'foo',
      message: 'runtime-https-event',
    },
    inresponseto: event.id,
  });
}
