// Once at start, and without holding up readiness: may the function's credentials make every
// Kubernetes API call it needs (src/kube/client.ts API_CALLS)? One SelfSubjectAccessReview per verb, as
// Knative's ApiServerSource checks its own before it runs. A missing permission is otherwise found
// only when the first event fails with Forbidden.
import type { KubeConfig } from '@kubernetes/client-node';
import { causeChain } from '../formats/cause-chain.ts';
import { API_CALLS, type ApiCall } from './client.ts';
import { postAccessReview } from './transport.ts';

export interface AccessVerdict {
  readonly verb: string;
  readonly resource: string;
  readonly why: string;
  readonly ifDenied: string;
  /** undefined: the check itself failed. */
  readonly allowed: boolean | undefined;
  /** The authorizer's reason, or why the check failed. */
  readonly detail: string;
}

/** The review of one call: the API server's own authorizer answers. */
async function review(
  kubeConfig: KubeConfig,
  namespace: string,
  call: ApiCall,
): Promise<AccessVerdict> {
  const { verb, resource, why, ifDenied, group = '' } = call;
  try {
    const answer = await postAccessReview(
      kubeConfig,
      {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { namespace, verb, resource, group } },
      },
      {},
    );
    const status = answer.status;
    return {
      verb,
      resource,
      why,
      ifDenied,
      allowed: status?.allowed === true && status.denied !== true,
      detail: status?.reason ?? '',
    };
  } catch (error) {
    const detail = error instanceof Error ? causeChain(error) : String(error);
    return { verb, resource, why, ifDenied, allowed: undefined, detail };
  }
}

/** Reviews every call, within `timeoutMs` in all: a check that cannot finish is reported as such. */
export async function checkAccess(
  kubeConfig: KubeConfig,
  namespace: string,
  timeoutMs: number,
): Promise<AccessVerdict[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
  });
  const reviews = Promise.all(API_CALLS.map((call) => review(kubeConfig, namespace, call)));
  const verdicts = await Promise.race([reviews, late]);
  clearTimeout(timer);
  if (verdicts !== 'late') return verdicts;
  return API_CALLS.map(({ verb, resource, why, ifDenied }) => ({
    verb,
    resource,
    why,
    ifDenied,
    allowed: undefined,
    detail: `no answer within ${timeoutMs} ms`,
  }));
}

/** The lines to print: one warning per missing permission or failed check, then a summary. */
export function describeAccess(verdicts: readonly AccessVerdict[], namespace: string): string[] {
  const where = `in namespace "${namespace}"`;
  const lines: string[] = [];
  for (const { verb, resource, why, ifDenied, allowed, detail } of verdicts) {
    if (allowed === false) {
      lines.push(
        `warning: the function's service account may not ${verb} ${resource} ${where}, which it needs to ${why}: until its Role grants it (deploy/rbac.yaml), ${ifDenied}`,
      );
    } else if (allowed === undefined) {
      lines.push(
        `warning: could not check whether the function may ${verb} ${resource} ${where}: ${detail}`,
      );
    }
  }
  const calls = (allowed: boolean | undefined) =>
    describeCalls(verdicts.filter((verdict) => verdict.allowed === allowed));
  const summary = [
    calls(true) && `may ${calls(true)}`,
    calls(false) && `may NOT ${calls(false)}`,
    calls(undefined) && `could not check ${calls(undefined)}`,
  ]
    .filter(Boolean)
    .join('; ');
  lines.push(`podgateway client provisioner: access check ${where}: ${summary}`);
  return lines;
}

/** `create, get pods and create, patch events`: the verbs by resource, in API_CALLS' order. */
export function describeCalls(calls: readonly { verb: string; resource: string }[]): string {
  const verbs = new Map<string, string[]>();
  for (const { verb, resource } of calls)
    verbs.set(resource, [...(verbs.get(resource) ?? []), verb]);
  return [...verbs].map(([resource, list]) => `${list.join(', ')} ${resource}`).join(' and ');
}

/**
 * Runs the check in the background and reports it: printed, and handed to `record` (the metric,
 * plugged in at start); never throws.
 */
export function startAccessCheck(
  kubeConfig: KubeConfig,
  namespace: string,
  timeoutMs: number,
  record: (verdicts: readonly AccessVerdict[]) => void,
  out: Pick<Console, 'log' | 'warn'> = console,
) {
  return checkAccess(kubeConfig, namespace, timeoutMs).then(
    (verdicts) => {
      record(verdicts);
      for (const line of describeAccess(verdicts, namespace)) {
        if (line.startsWith('warning:')) out.warn(line);
        else out.log(line);
      }
    },
    (error: unknown) => {
      out.warn(`warning: the access check failed: ${String(error)}`);
      out.log('podgateway client provisioner: access check: not done');
    },
  );
}
