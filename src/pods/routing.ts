// Done means routed: a client pod exists to send its traffic through its gateway. The gateway's
// mutating webhook adds its init container (and its sidecar, where the gateway's chart turns it
// on) only when the namespace carries the webhook's label and the pod's setGateway label or
// annotation selects that gateway; otherwise it adds nothing and says nothing
// (angelnu/gateway-admision-controller internal/mutation/gatewayPodMutator.go). The pod the API
// returns from the create has been through mutating admission: its containers tell.
import type { V1Pod } from '@kubernetes/client-node';
import type { RoutingCheck } from '../config/config.ts';

/** The gateway's containers the pod lacks, as `init container "gateway-init"`; none: routed. */
export function missingRouting(pod: V1Pod, routing: RoutingCheck): string[] {
  const missing: string[] = [];
  const initNames = new Set(pod.spec?.initContainers?.map((container) => container.name));
  const names = new Set(pod.spec?.containers?.map((container) => container.name));
  if (!initNames.has(routing.initContainer)) {
    missing.push(`init container "${routing.initContainer}"`);
  }
  if (routing.sidecarContainer !== undefined && !names.has(routing.sidecarContainer)) {
    missing.push(`container "${routing.sidecarContainer}"`);
  }
  return missing;
}

/** Whether the gateway's init container has run to completion: the tunnel is set up. */
export function gatewayInitCompleted(pod: V1Pod, initContainer: string): boolean {
  const status = pod.status?.initContainerStatuses?.find((s) => s.name === initContainer);
  return status?.state?.terminated?.exitCode === 0;
}

/** What the operator should check, for the failed reply and the log. */
export function notRoutedMessage(
  pod: { readonly name: string; readonly namespace: string },
  gateway: string | undefined,
  missing: readonly string[],
): string {
  const which = gateway === undefined ? 'the gateway' : `gateway "${gateway}"`;
  return `pod "${pod.name}" in namespace "${pod.namespace}" was created without ${which}'s wiring (no ${missing.join(', no ')}), so its traffic would not go through the gateway: check that namespace "${pod.namespace}" carries the label the gateway webhook selects (routed-gateway: "true" with the pod-gateway chart's defaults), that the webhook of ${which} is running (kubectl get mutatingwebhookconfigurations; its pods in the gateway's namespace), and that the webhook's setGateway value is the gateway's name`;
}
