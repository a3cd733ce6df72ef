// The limit subject (scripts/bench/limit.js) stands for the provisioner's own pod create without
// the provisioner: its pod must be the one the function builds, or the ratios compare unlike work.
import { isDeepStrictEqual } from 'node:util';
import { loadConfig } from '../../src/config/config.ts';
import { buildPod } from '../../src/pods/client-pod.ts';
import { limitPod } from './limit-pod.js';
import { NAMESPACE } from './options.ts';

/** Undefined when the limit's pod is buildPod's for the same event; else what differs. */
export function limitPodProblem(): string | undefined {
  const request = {
    gatewayName: 'foo',
    message: undefined,
    eventSource: '/bench/check',
    eventId: 'check',
    overrides: {},
  };
  const built = buildPod(loadConfig({ CLIENT_NAMESPACE: NAMESPACE }), request);
  const { pod } = limitPod(NAMESPACE, request.eventSource, request.eventId);
  if (isDeepStrictEqual(JSON.parse(JSON.stringify(built)), pod)) return undefined;
  return `scripts/bench/limit-pod.js makes another pod than src/pods/client-pod.ts buildPod; update it:\n  limit:    ${JSON.stringify(pod)}\n  function: ${JSON.stringify(built)}`;
}
