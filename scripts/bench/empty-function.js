// Bench baseline: the smallest faas-js-runtime CloudEvent function, run as the provisioner is
// (`faas-js-runtime empty-function.js`): it answers every event with a `done` CloudEvent.
import { CloudEvent } from 'cloudevents';

export function handle(_context, event) {
  return new CloudEvent({
    source: 'bench/empty-function',
    type: 'io.podgateway.client.scheduling.done',
    datacontenttype: 'application/json',
    data: { pod_name: 'none', namespace: 'none', gateway_name: 'none', message: 'empty' },
    inresponseto: event?.id ?? 'none',
  });
}
