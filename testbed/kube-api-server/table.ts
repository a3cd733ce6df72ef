// Server-side printing of pods, as `kubectl get pods` asks for it (Accept:
// application/json;as=Table;v=v1;g=meta.k8s.io): without it kubectl shows NAME and AGE only.
// Modelled on kube-apiserver:
// - staging/src/k8s.io/apiserver/pkg/endpoints/handlers/response.go: a Table answers a list or
//   get when the Accept header asks for one; rows carry the object's metadata
//   (includeObject=Metadata, the default), which kubectl's -L and --show-labels read.
// - pkg/printers/internalversion/printers.go (printPod): the columns and the STATUS reason.
// - staging/src/k8s.io/apimachinery/pkg/util/duration/duration.go (HumanDuration): AGE.
import type { IncomingMessage } from 'node:http';
import type { PodObject } from './validation.ts';

/** The reply as a Table when the request asks for one (a 200 list or pod), else as it is. */
export function tableIfAsked<R extends { readonly code: number; readonly body?: unknown }>(
  req: IncomingMessage,
  reply: R,
): R | { readonly code: 200; readonly body: ReturnType<typeof podTable> } {
  if (reply.code !== 200 || !wantsTable(req.headers.accept)) return reply;
  const body = reply.body;
  // The store's own pods: a PodList's items, or one pod.
  const list = typeof body === 'object' && body !== null && 'items' in body ? body.items : [body];
  const pods = (Array.isArray(list) ? list : []) as PodObject[];
  const version =
    typeof body === 'object' && body !== null && 'metadata' in body
      ? String((body.metadata as { resourceVersion?: unknown }).resourceVersion ?? '')
      : '';
  return { code: 200, body: podTable(pods, version) };
}

/** Whether an Accept header asks for a meta.k8s.io/v1 Table. */
export function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '')
    .split(',')
    .some(
      (part) =>
        /;\s*as=Table/.test(part) &&
        /;\s*g=meta\.k8s\.io/.test(part) &&
        /;\s*v=v1(;|$|\s)/.test(part),
    );
}

const POD_COLUMNS = [
  ['Name', 'string', 'name', 0],
  ['Ready', 'string', '', 0],
  ['Status', 'string', '', 0],
  ['Restarts', 'string', '', 0],
  ['Age', 'string', '', 0],
  ['IP', 'string', '', 1],
  ['Node', 'string', '', 1],
  ['Nominated Node', 'string', '', 1],
  ['Readiness Gates', 'string', '', 1],
] as const;

/** A Table of pods: one row each, with its metadata. */
export function podTable(pods: readonly PodObject[], resourceVersion: string, now = Date.now()) {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: POD_COLUMNS.map(([name, type, format, priority]) => ({
      name,
      type,
      format,
      description: '',
      priority,
    })),
    rows: pods.map((pod) => ({
      cells: podCells(pod, now),
      object: {
        kind: 'PartialObjectMetadata',
        apiVersion: 'meta.k8s.io/v1',
        metadata: pod.metadata ?? {},
      },
    })),
  };
}

function podCells(pod: PodObject, now: number): Array<string | number> {
  const containers = pod.spec?.containers ?? [];
  const statuses = pod.status?.containerStatuses ?? [];
  const ready = statuses.filter((status) => status.ready).length;
  const restarts = statuses.reduce((sum, status) => sum + (status.restartCount ?? 0), 0);
  const created = Date.parse(pod.metadata?.creationTimestamp ?? '');
  return [
    pod.metadata?.name ?? '',
    `${ready}/${containers.length}`,
    podStatusReason(pod),
    restarts,
    Number.isNaN(created) ? '<unknown>' : humanDuration(now - created),
    pod.status?.podIP || '<none>',
    pod.spec?.nodeName || '<none>',
    pod.status?.nominatedNodeName || '<none>',
    '<none>',
  ];
}

/** printPod's STATUS: the phase, a pod reason, a container's waiting or terminated reason. */
export function podStatusReason(pod: PodObject): string {
  let reason: string = pod.status?.reason || pod.status?.phase || 'Unknown';
  for (const status of [...(pod.status?.containerStatuses ?? [])].reverse()) {
    const waiting = status.state?.waiting?.reason;
    const terminated = status.state?.terminated;
    if (waiting) reason = waiting;
    else if (terminated) reason = terminated.reason || `ExitCode:${terminated.exitCode}`;
  }
  if (pod.metadata?.deletionTimestamp) reason = 'Terminating';
  return reason;
}

/** HumanDuration: `45s`, `3m12s`, `25m`, `5h3m`, `2d4h`, … */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0
      ? `${Math.floor(hours / 24)}d`
      : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}
