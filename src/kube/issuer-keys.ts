// The cluster's ServiceAccount token issuer, as kube-apiserver serves it (its OIDC discovery):
// the issuer's name and its public keys, fetched with the function's own credentials. Every
// ServiceAccount may read both (the system:service-account-issuer-discovery ClusterRole, bound to
// the group system:serviceaccounts by default): no grant in deploy/rbac.yaml.
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiCallError, callApi } from './api-call.ts';
import { getJson } from './transport.ts';

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const JWKS_PATH = '/openid/v1/jwks';

export interface FetchedIssuerKeys {
  readonly issuer: string;
  readonly keys: readonly unknown[];
}

/**
 * The discovery document's `issuer` and the JWKS's `keys`; throws an Error saying which document
 * could not be had, and why. The JWKS is read at kube-apiserver's own path, not at the document's
 * `jwks_uri`, which names the address the cluster's clients use (often not the function's).
 */
export async function fetchIssuerKeys(
  kubeConfig: KubeConfig,
  timeoutMs: number,
): Promise<FetchedIssuerKeys> {
  const discovery = await fetchDocument(kubeConfig, DISCOVERY_PATH, timeoutMs);
  const issuer = field(discovery, 'issuer');
  if (typeof issuer !== 'string' || issuer === '') {
    throw new Error(`${DISCOVERY_PATH} has no "issuer"`);
  }
  const jwks = await fetchDocument(kubeConfig, JWKS_PATH, timeoutMs);
  const keys = field(jwks, 'keys');
  if (!Array.isArray(keys)) throw new Error(`${JWKS_PATH} has no "keys" list`);
  return { issuer, keys };
}

async function fetchDocument(
  kubeConfig: KubeConfig,
  path: string,
  timeoutMs: number,
): Promise<unknown> {
  try {
    // One attempt and its retries within one timeout: a refetch holds an event that long at most.
    return await callApi((options) => getJson(kubeConfig, path, options), {
      timeoutMs,
      deadline: Date.now() + timeoutMs,
    });
  } catch (error) {
    const detail =
      error instanceof ApiCallError
        ? error.failure.message
        : error instanceof Error
          ? error.message
          : String(error);
    throw new Error(`the service-account issuer's ${path} could not be read: ${detail}`);
  }
}

function field(document: unknown, name: string): unknown {
  return typeof document === 'object' && document !== null
    ? (document as Record<string, unknown>)[name]
    : undefined;
}
