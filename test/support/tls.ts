// A throw-away certificate authority and a server certificate for 127.0.0.1/localhost, made with
// the openssl CLI once per process (EC P-256 keys: fast) and kept in memory only.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificates {
  /** PEM of the CA that signed the server certificate: what clients must trust. */
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

let cached: Promise<TestCertificates> | undefined;

/** The process-wide certificates; generated on first use. */
export function testCertificates(): Promise<TestCertificates> {
  if (cached === undefined) {
    cached = generate();
    // A failure (e.g. no openssl) must not stick: the next caller tries again.
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}

const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = IP:127.0.0.1, DNS:localhost',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid, issuer',
].join('\n');

async function generate(): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-api-tls-'));
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      '3650',
      '-subj',
      '/CN=kube-api-test-ca',
      '-addext',
      'basicConstraints = critical, CA:TRUE',
      '-addext',
      'keyUsage = critical, keyCertSign, cRLSign',
    ]);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
      '-subj',
      '/CN=kube-apiserver',
    ]);
    await writeFile(file('server.ext'), `${SERVER_EXTENSIONS}\n`);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-days',
      '365',
      '-extfile',
      file('server.ext'),
      '-out',
      file('server.crt'),
    ]);
    const [caPem, certPem, keyPem] = await Promise.all(
      ['ca.crt', 'server.crt', 'server.key'].map((name) => readFile(file(name), 'utf8')),
    );
    return { caPem, certPem, keyPem };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
