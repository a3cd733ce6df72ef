// Bench subject: the floor of this design (issue 29), the reference of every ratio of `npm run
// bench`, and on the cluster (`--cluster`) beside the limit with its Event: the empty
// faas-js-runtime function plus one keep-alive HTTPS pod create (scripts/bench/runtime-https.js)
// plus the one Kubernetes Event the provisioner writes on each pod it creates, sent after the
// reply as the provisioner sends it. Whatever the provisioner spends beyond this is its own.
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
