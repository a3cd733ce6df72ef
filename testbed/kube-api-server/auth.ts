// Authentication as kube-apiserver does it, and the credentials clients are given.
// The union of authenticators (staging/src/k8s.io/apiserver/pkg/authentication/request/union):
// a client certificate verified against the client CA (request/x509/x509.go: user from the CN,
// groups from the O), else a bearer token (request/bearertoken/bearertoken.go), else, with
// neither, the anonymous user (request/anonymous/anonymous.go) that authorization then refuses
// with 403. A token or certificate that does not verify is a 401.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';

export const ANONYMOUS = 'system:anonymous';

export interface Identity {
  readonly user: string;
  readonly credential: 'token' | 'client-certificate' | 'anonymous';
}

export class Authenticator {
  /** Accepted bearer tokens and the user each stands for. */
  readonly #tokens = new Map<string, string>();

  constructor(token: string, user: string) {
    this.#tokens.set(token, user);
  }

  /** A fresh token for `user`, accepted from now on. */
  issueToken(user: string): string {
    const token = randomBytes(24).toString('base64url');
    this.#tokens.set(token, user);
    return token;
  }

  /** The token is refused from now on (401), as an expired projected token is. */
  revokeToken(token: string): void {
    this.#tokens.delete(token);
  }

  authenticate(req: IncomingMessage): Identity | 'unauthorized' {
    const socket = req.socket as TLSSocket;
    const certificate = socket.getPeerCertificate?.();
    const presented = certificate !== undefined && Object.keys(certificate).length > 0;
    if (presented && socket.authorized) {
      const name = certificate.subject.CN;
      const user = Array.isArray(name) ? (name[0] ?? '') : (name ?? '');
      return { user, credential: 'client-certificate' };
    }
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^bearer\s+(\S+)\s*$/i.exec(header);
      const user = match?.[1] === undefined ? undefined : this.#tokens.get(match[1]);
      return user === undefined ? 'unauthorized' : { user, credential: 'token' };
    }
    if (presented) return 'unauthorized'; // a certificate the client CA did not sign
    return { user: ANONYMOUS, credential: 'anonymous' };
  }
}

// ---------------------------------------------------------------------------------------------
// Kubeconfig files, as `kind`, EKS and GKE write them, and the in-cluster files

export type KubeconfigUser =
  | { readonly token: string }
  | { readonly clientCertificate: { readonly certPem: string; readonly keyPem: string } }
  /** An exec credential plugin: a small node script that prints an ExecCredential with the token. */
  | { readonly execToken: string };

export interface KubeconfigFacts {
  readonly url: string;
  readonly caPem: string;
  readonly namespace: string;
  readonly user: KubeconfigUser;
}

const q = JSON.stringify; // a JSON string is a YAML double-quoted scalar
const base64 = (text: string) => Buffer.from(text).toString('base64');

/** Writes `kubeconfig` in dir (and the exec plugin's script beside it); returns its path. */
export async function writeKubeconfigFile(dir: string, facts: KubeconfigFacts): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'kubeconfig');
  const name = 'kube-api-test';
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${q(facts.url)}`,
    `    certificate-authority-data: ${q(base64(facts.caPem))}`,
    'users:',
    `- name: ${name}`,
    '  user:',
    ...(await userLines(dir, facts.user)),
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}`,
    `    namespace: ${q(facts.namespace)}`,
    `current-context: ${name}`,
    '',
  ].join('\n');
  await writeFile(file, yaml, { mode: 0o600 });
  return file;
}

async function userLines(dir: string, user: KubeconfigUser): Promise<string[]> {
  if ('token' in user) return [`    token: ${q(user.token)}`];
  if ('clientCertificate' in user) {
    return [
      `    client-certificate-data: ${q(base64(user.clientCertificate.certPem))}`,
      `    client-key-data: ${q(base64(user.clientCertificate.keyPem))}`,
    ];
  }
  // k8s.io/client-go/pkg/apis/clientauthentication/v1 ExecCredential, printed on stdout.
  const script = join(dir, 'exec-credential.mjs');
  const credential = {
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: user.execToken },
  };
  await writeFile(script, `process.stdout.write(${q(JSON.stringify(credential))});\n`, {
    mode: 0o700,
  });
  return [
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1',
    `      command: ${q(process.execPath)}`,
    `      args: [${q(script)}]`,
    '      interactiveMode: Never',
  ];
}

/**
 * `token`, `ca.crt` and `namespace`, as the kubelet mounts them at
 * /var/run/secrets/kubernetes.io/serviceaccount (no trailing newlines). The token is replaced
 * as the kubelet's atomic writer does (pkg/volume/util/atomic_writer.go): a new file renamed
 * over the old, so a reader sees the old token or the new one, never a part.
 */
export async function writeServiceAccountFiles(
  dir: string,
  files: { token: string; caPem: string; namespace: string },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all([
    writeTokenFile(dir, files.token),
    writeFile(join(dir, 'ca.crt'), files.caPem),
    writeFile(join(dir, 'namespace'), files.namespace),
  ]);
}

export async function writeTokenFile(dir: string, token: string): Promise<void> {
  const next = join(dir, `.token-${randomBytes(4).toString('hex')}`);
  await writeFile(next, token, { mode: 0o600 });
  await rename(next, join(dir, 'token'));
}
