// Kubeconfig files for the components, the admin and the function, with everything embedded so
// a file can be copied or read on its own.
import { readFile, writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { KeyPair } from './certificates.ts';

export type Credentials =
  | { readonly kind: 'certificate'; readonly pair: KeyPair }
  | { readonly kind: 'token'; readonly token: string };

const base64 = (text: string) => Buffer.from(text).toString('base64');

async function userEntry(credentials: Credentials): Promise<Record<string, string>> {
  if (credentials.kind === 'token') return { token: credentials.token };
  const [cert, key] = await Promise.all([
    readFile(credentials.pair.cert, 'utf8'),
    readFile(credentials.pair.key, 'utf8'),
  ]);
  return { 'client-certificate-data': base64(cert), 'client-key-data': base64(key) };
}

export function kubeconfigDocument(
  server: string,
  caPem: string,
  user: Readonly<Record<string, unknown>>,
  namespace?: string,
): string {
  const context =
    namespace === undefined
      ? { cluster: 'test', user: 'user' }
      : { cluster: 'test', user: 'user', namespace };
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': base64(caPem) } }],
    users: [{ name: 'user', user }],
    contexts: [{ name: 'test', context }],
    'current-context': 'test',
  });
}

export async function writeKubeconfig(
  file: string,
  server: string,
  caCert: string,
  credentials: Credentials,
  namespace?: string,
): Promise<string> {
  const caPem = await readFile(caCert, 'utf8');
  await writeFile(
    file,
    kubeconfigDocument(server, caPem, await userEntry(credentials), namespace),
    {
      mode: 0o600,
    },
  );
  return file;
}
