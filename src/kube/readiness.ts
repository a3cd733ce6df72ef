// kube-apiserver answers requests before it is ready: just after it (re)starts, until its RBAC
// informers have synced, its authorizer refuses what the function's Role allows, in the words
// of a real refusal (`… cannot get resource "pods" …`; kubernetes/kubernetes#121635). Its
// /readyz, which every user may read (system:public-info-viewer), says whether it is there yet.
import { REASON } from '../formats/reasons.ts';
import { timeoutSignal, withSignal } from './api-call.ts';
import type { ApiFailure, KubeClient } from './client.ts';
import { getText } from './transport.ts';

/** Whether kube-apiserver's /readyz answers 2xx within `timeoutMs`. */
export async function apiServerReady(
  kube: Pick<KubeClient, 'kubeConfig'>,
  timeoutMs: number,
): Promise<boolean> {
  const { signal, cancel } = timeoutSignal(timeoutMs);
  try {
    await getText(kube.kubeConfig, '/readyz', withSignal(signal));
    return true;
  } catch {
    return false;
  } finally {
    cancel();
  }
}

/**
 * A Forbidden met while kube-apiserver is not ready: its RBAC caches still filling after a start,
 * not the Role. Returns the failure to answer 503 with (Retry-After 1), to be delivered again;
 * undefined for any other failure, or once kube-apiserver is ready (the Role's word, final).
 */
export async function refusedWhileStarting(
  kube: Pick<KubeClient, 'kubeConfig'>,
  failure: Pick<ApiFailure, 'reason' | 'message'>,
  timeoutMs: number,
): Promise<(Pick<ApiFailure, 'reason' | 'message'> & { retryAfterSeconds: number }) | undefined> {
  if (failure.reason !== REASON.Forbidden) return undefined;
  if (await apiServerReady(kube, timeoutMs)) return undefined;
  const message = `the Kubernetes API is not ready yet (its /readyz): ${failure.message}`;
  return { ...failure, reason: REASON.ApiUnavailable, message, retryAfterSeconds: 1 };
}
