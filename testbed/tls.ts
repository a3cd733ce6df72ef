// A throw-away certificate authority and a server certificate for 127.0.0.1/localhost, made with
// the openssl CLI once per process (EC P-256 keys: fast) and kept in memory only; and client
// certificates signed by the same CA, as kubeadm and kind issue them for kubeconfig users.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir, removeTempDir } from './temp-dir.ts';

const run = promisify(execFile);

export interface TestCertificates {
  /** PEM of the CA that signed the server certificate: what clients must trust. */
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** The CA's key, to sign client certificates. */
  readonly caKeyPem: string;
}

export interface ClientCertificate {
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

const CLIENT_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = clientAuth',
].join('\n');

const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = IP:127.0.0.1, DNS:localhost',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid, issuer',
].join('\n');

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/**
 * In `dir`: a new P-256 key `<name>.key` and its certificate `<name>.crt` for `subject`, with
 * `extensions`, signed for a year by the CA whose certificate and key files `ca` names.
 */
export async function issueCertificate(
  dir: string,
  ca: { readonly cert: string; readonly key: string },
  name: string,
  subject: string,
  extensions: string,
): Promise<{ cert: string; key: string }> {
  const file = (suffix: string) => join(dir, `${name}.${suffix}`);
  await writeFile(file('ext'), `${extensions}\n`);
  await run('openssl', [
    'req',
    ...EC_KEY,
    '-keyout',
    file('key'),
    '-out',
    file('csr'),
    '-subj',
    subject,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    file('csr'),
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    // A random serial: no serial file beside the CA, and no two certificates alike.
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '365',
    '-extfile',
    file('ext'),
    '-out',
    file('crt'),
  ]);
  return { cert: file('crt'), key: file('key') };
}

/** `issueCertificate` by the CA beside it in `dir` (`ca.crt`, `ca.key`). */
async function issueFromCa(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  await issueCertificate(
    dir,
    { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') },
    name,
    subject,
    extensions,
  );
}

/**
 * A client certificate for `user` (the subject's CN) in `groups` (its O), signed by `ca`: the
 * x509 authenticator of kube-apiserver reads the user and groups from there
 * (staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go, CommonNameUserConversion).
 */
export async function clientCertificate(
  ca: Pick<TestCertificates, 'caPem' | 'caKeyPem'>,
  user: string,
  groups: readonly string[] = [],
): Promise<ClientCertificate> {
  const dir = makeTempDir('kube-api-client-');
  const file = (name: string) => join(dir, name);
  const subject = `${groups.map((group) => `/O=${group}`).join('')}/CN=${user}`;
  try {
    await writeFile(file('ca.crt'), ca.caPem);
    await writeFile(file('ca.key'), ca.caKeyPem, { mode: 0o600 });
    await issueFromCa(dir, 'client', subject, CLIENT_EXTENSIONS);
    const [certPem, keyPem] = await Promise.all(
      ['client.crt', 'client.key'].map((name) => readFile(file(name), 'utf8')),
    );
    return { certPem, keyPem };
  } finally {
    await removeTempDir(dir);
  }
}

async function generate(): Promise<TestCertificates> {
  const dir = makeTempDir('kube-api-tls-');
  const file = (name: string) => join(dir, name);
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...EC_KEY,
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
    await issueFromCa(dir, 'server', '/CN=kube-apiserver', SERVER_EXTENSIONS);
    const [caPem, certPem, keyPem, caKeyPem] = await Promise.all(
      ['ca.crt', 'server.crt', 'server.key', 'ca.key'].map((name) => readFile(file(name), 'utf8')),
    );
    return { caPem, certPem, keyPem, caKeyPem };
  } finally {
    await removeTempDir(dir);
  }
}

/** PEM of a CA of its own, which signed nothing of the test server's: a client must refuse it. */
export async function unrelatedCaPem(): Promise<string> {
  const dir = makeTempDir('kube-api-other-ca-');
  try {
    const certFile = join(dir, 'ca.crt');
    await run('openssl', [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      join(dir, 'ca.key'),
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=another CA',
    ]);
    return await readFile(certFile, 'utf8');
  } finally {
    await removeTempDir(dir);
  }
}
