// A token file (the in-cluster service-account token, or a kubeconfig user's token-file), read
// again as soon as it is rotated.
// @kubernetes/client-node re-reads the token file only every 60 s: after a rotation the old
// token, which the API server may refuse by then (401), would be sent for up to a minute.
import { readFileSync, statSync } from 'node:fs';
import type { KubeConfig, User } from '@kubernetes/client-node';

/** The library's Authenticator (not exported from its index): what addAuthenticator takes. */
type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

const PROVIDER = 'rotating-token-file';

/**
 * Reads the token when the file changed since the last read (the kubelet's atomic writer swaps
 * in a new file: its inode and mtime change), checked with one stat() per request.
 */
export class RotatingTokenFile implements Authenticator {
  readonly #path: string;
  #token = '';
  #version = '';

  constructor(path: string) {
    this.#path = path;
  }

  isAuthProvider(user: User): boolean {
    return user.authProvider?.name === PROVIDER;
  }

  async applyAuthentication(
    _user: User,
    opts: { headers?: Record<string, string> },
  ): Promise<void> {
    opts.headers ??= {};
    opts.headers.Authorization = `Bearer ${this.current()}`;
  }

  current(): string {
    const stat = statSync(this.#path);
    const version = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    if (version !== this.#version) {
      this.#token = readFileSync(this.#path, 'utf8').trim();
      this.#version = version;
    }
    return this.#token;
  }
}

/** Makes a KubeConfig send the token file's current token, through RotatingTokenFile. */
export function useRotatingToken(kubeConfig: KubeConfig, tokenPath: string): void {
  const user = kubeConfig.getCurrentUser();
  if (!user) return;
  kubeConfig.addAuthenticator(new RotatingTokenFile(tokenPath));
  // The token the library read at load (a kubeconfig's token-file) would be sent over ours: the
  // library sets `user.token` after the authenticator's header.
  Object.assign(user, { authProvider: { name: PROVIDER, config: {} }, token: undefined });
}
