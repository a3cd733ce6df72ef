// The pod the provisioner makes for a `pending` event for gateway foo with no overrides (src/pods/
// client-pod.ts buildPod), written out so that the limit subject spends nothing on building it.
// The bench checks it against buildPod before it measures (scripts/bench/limit-check.ts).
import { createHash } from 'node:crypto';

/** buildPod's request digests (src/pods/fingerprint.ts) for gateway foo and nothing else asked. */
const REQUEST_DIGESTS =
  '{"gateway_name":"b2213295d564916f","message":"-","image":"-","command":"-","args":"-","env":"-","resources":"-"}';

/** The pod for the event `source`/`id`, in `namespace`, and its name. */
export function limitPod(namespace, source, id) {
  const digest = createHash('sha256')
    .update(JSON.stringify([source, id]))
    .digest('hex')
    .slice(0, 20);
  const name = `client-${digest}`;
  return {
    name,
    pod: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        labels: {
          'app.kubernetes.io/name': 'podgateway-client',
          'app.kubernetes.io/instance': name,
          'app.kubernetes.io/managed-by': 'podgateway-client-provisioner',
          setGateway: 'foo',
        },
        annotations: {
          'podgateway.io/event-source': source,
          'podgateway.io/event-id': id,
          'podgateway.io/request-digests': REQUEST_DIGESTS,
          setGateway: 'foo',
        },
      },
      spec: {
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'client',
            image: 'alpine/curl',
            command: ['sleep', 'infinity'],
            resources: {
              requests: { cpu: '10m', memory: '16Mi' },
              limits: { cpu: '100m', memory: '64Mi', 'ephemeral-storage': '128Mi' },
            },
            securityContext: {
              allowPrivilegeEscalation: false,
              capabilities: { drop: ['ALL'] },
              seccompProfile: { type: 'RuntimeDefault' },
            },
          },
        ],
      },
    },
  };
}
