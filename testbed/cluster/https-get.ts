// A GET over HTTPS with the cluster's CA and a client certificate: what the readiness checks
// need, without a Kubernetes client.
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import type { KeyPair } from './certificates.ts';

export interface TlsFiles {
  readonly ca: string;
  readonly client: KeyPair;
}

export async function httpsGet(
  url: string,
  tls: TlsFiles,
): Promise<{ status: number; body: string }> {
  const [ca, cert, key] = await Promise.all(
    [tls.ca, tls.client.cert, tls.client.key].map((file) => readFile(file)),
  );
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { ca, cert, key, timeout: 5000 }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`timeout: ${url}`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}
