// One pool of keep-alive connections to the API server per process.
import type { RequestOptions } from 'node:https';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** How long one pool serves before the next request's TLS settings (CA, client cert) replace it. */
export const POOL_LIFETIME_MS = 5 * 60_000;

/**
 * A KubeConfig whose API calls share one undici dispatcher. @kubernetes/client-node 2.0
 * authenticates each call by making a new undici Agent with the cluster's TLS settings, so every
 * call opened its own TCP connection and TLS handshake, and left the connection idle until
 * undici's keep-alive timeout: milliseconds per event and memory growing under load.
 *
 * The library still authenticates every call (bearer token, token file, exec or OIDC plugin;
 * CA, client certificate, TLS server name, proxy), and its dispatcher for the first call becomes
 * the shared one, so TLS is verified exactly as the library configures it. The shared pool is
 * replaced by a fresh one every POOL_LIFETIME_MS, so a rotated CA or client certificate is
 * picked up; the old pool closes once its requests are done.
 */
export class PooledKubeConfig extends KubeConfig {
  #pool: { readonly dispatcher: Dispatcher; readonly until: number } | undefined;

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const pool = this.#pool;
    if (pool !== undefined && Date.now() < pool.until) {
      await this.#authenticate(context);
      context.setDispatcher(pool.dispatcher);
      return;
    }
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    // No TLS settings at all (plain http with verification skipped): fetch's global pool serves.
    if (fresh === undefined) return;
    const now = Date.now();
    if (this.#pool === undefined || now >= this.#pool.until) {
      const previous = this.#pool?.dispatcher;
      this.#pool = { dispatcher: fresh, until: now + POOL_LIFETIME_MS };
      previous?.close().catch(() => undefined);
    }
    // Otherwise the library's per-call dispatcher is dropped unused: it has opened nothing, holds
    // no timer, and goes with the garbage.
    context.setDispatcher(this.#pool.dispatcher);
  }

  /**
   * The authentication of one call while the pool serves: the library's own headers (bearer
   * token, token file, exec or OIDC plugin with their refresh; basic auth; impersonation),
   * without its TLS settings, which only the pool's dispatcher uses: applyToHTTPSOptions would
   * read the CA and client certificate (files, in a cluster) and look up an agent on every call.
   */
  async #authenticate(context: RequestContext): Promise<void> {
    const options: RequestOptions = {};
    const user = this.getCurrentUser();
    const { applyAuthorizationHeader } = this as unknown as LibraryHeaderStep;
    if (typeof applyAuthorizationHeader === 'function') {
      await applyAuthorizationHeader.call(this, options);
      if (user?.username) options.auth = `${user.username}:${user.password}`;
      if (user?.impersonateUser != null) {
        options.headers = { ...options.headers, 'Impersonate-User': user.impersonateUser };
      }
    } else {
      await this.applyToHTTPSOptions(options);
    }
    if (options.auth) {
      context.setHeaderParam(
        'Authorization',
        `Basic ${Buffer.from(options.auth).toString('base64')}`,
      );
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) context.setHeaderParam(name, String(value));
    }
  }
}

/**
 * The step of the library's applyToHTTPSOptions that sets the Authorization header (its
 * authenticators, then the user's token): private in its types, a method of KubeConfig in its
 * code. Should a release drop it, the whole applyToHTTPSOptions serves as before.
 */
interface LibraryHeaderStep {
  readonly applyAuthorizationHeader?: (options: RequestOptions) => Promise<void>;
}
