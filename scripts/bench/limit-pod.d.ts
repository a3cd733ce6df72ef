// The types of scripts/bench/limit-pod.js (plain JavaScript: the limit subject runs it as is).
import type { V1Pod } from '@kubernetes/client-node';

export function limitPod(
  namespace: string,
  source: string,
  id: string,
): { readonly name: string; readonly pod: V1Pod };
