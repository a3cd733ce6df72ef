// The function's own pods, as the shared watch selects them.
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATIONS, MANAGER_NAME, podNameFor } from './client-pod.ts';

/** Every pod the function creates carries this label (src/pods/client-pod.ts), and no other pod should. */
export const OWN_PODS_SELECTOR = `app.kubernetes.io/managed-by=${MANAGER_NAME}`;

/**
 * Whether the function made this pod: only such pods are ever deleted (release, sweep). A label
 * anyone can copy is not enough: the pod must also carry the annotations of the event it was made
 * for, and the name the function derives from them (src/pods/client-pod.ts podNameFor). A pod made
 * by hand with the label, or a copy of a client pod under another name, is not the function's.
 */
export function isOwnPod(pod: V1Pod, clientNamespace: string): boolean {
  const metadata = pod.metadata;
  const eventSource = metadata?.annotations?.[ANNOTATIONS.eventSource];
  const eventId = metadata?.annotations?.[ANNOTATIONS.eventId];
  return (
    metadata?.namespace === clientNamespace &&
    metadata.labels?.['app.kubernetes.io/managed-by'] === MANAGER_NAME &&
    eventSource !== undefined &&
    eventId !== undefined &&
    metadata.name === podNameFor({ eventSource, eventId })
  );
}

/** The source of the event the pod was made for: only that source may release it. */
export function creatingSource(pod: V1Pod): string | undefined {
  return pod.metadata?.annotations?.[ANNOTATIONS.eventSource];
}

/** Seconds since the pod was created; undefined when the API gave no creationTimestamp. */
export function podAgeSeconds(pod: V1Pod, now: number = Date.now()): number | undefined {
  const created = pod.metadata?.creationTimestamp;
  if (created === undefined) return undefined;
  const time = new Date(created).getTime();
  return Number.isNaN(time) ? undefined : Math.max(0, (now - time) / 1000);
}
