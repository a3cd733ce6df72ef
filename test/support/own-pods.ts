// Pods as the function makes them, for tests that plant them in the API test server: its
// managed-by label, the annotations of the event it was made for, and the name derived from
// them (src/pods/own-pods.ts `isOwnPod` asks for all three).
import { ANNOTATIONS, MANAGER_NAME, podNameFor } from '../../src/pods/client-pod.ts';

const PRODUCER = '/tests/producer';

/** The metadata of the pod the function makes for event `id` of the test producer. */
export function ownPodMetadata(
  id: string,
  namespace: string,
  extra: { readonly creationTimestamp?: string } = {},
): {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  creationTimestamp?: string;
} {
  return {
    name: podNameFor({ eventSource: PRODUCER, eventId: id }),
    namespace,
    labels: { 'app.kubernetes.io/managed-by': MANAGER_NAME },
    annotations: { [ANNOTATIONS.eventSource]: PRODUCER, [ANNOTATIONS.eventId]: id },
    ...extra,
  };
}
