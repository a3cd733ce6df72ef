// What a client pod is made from: a `pending` event's request, once read and checked
// (src/events/pending-request.ts reads it; src/pods/client-pod.ts builds the pod).
import type { PodOverrides } from './overrides.ts';

export interface ProvisionRequest {
  readonly gatewayName: string;
  readonly message: string | undefined;
  readonly eventId: string;
  readonly eventSource: string;
  /** Changes to the pod the request asked for, already checked against the policy. */
  readonly overrides: PodOverrides;
  /** Data fields that were ignored, one sentence each: told in the done reply. */
  readonly warnings?: readonly string[];
}
