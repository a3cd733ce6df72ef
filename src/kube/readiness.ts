// kube-apiserver answers requests before it is ready: just after it (re)starts, until its RBAC
// informers have synced, its authorizer refuses what the function's Role allows, in the words
// of a real refusal (`… cannot get resource "pods" …`; kubernetes/kubernetes#121635). Its
// /readyz, which every user may read (system:public-info-viewer), says whether it is there yet.
import { timeoutSignal, withSignal } from './api-call.ts';
import type { KubeClient } from './client.ts';
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
