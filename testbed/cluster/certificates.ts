// The cluster's PKI, made with the openssl CLI into DIR/pki: one CA signs the serving
// certificates (kube-apiserver, the webhooks) and the client certificates of the components and
// of the admin; plus the key pair that signs and verifies ServiceAccount tokens. EC P-256: fast.
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { issueCertificate } from '../tls.ts';

const run = promisify(execFile);

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export interface KeyPair {
  readonly cert: string;
  readonly key: string;
}

export interface Pki {
  readonly dir: string;
  readonly ca: KeyPair;
  readonly apiServer: KeyPair;
  readonly webhook: KeyPair;
  readonly admin: KeyPair;
  readonly controllerManager: KeyPair;
  readonly scheduler: KeyPair;
  readonly kwok: KeyPair;
  /** Signs ServiceAccount tokens (kube-apiserver, kube-controller-manager)... */
  readonly serviceAccountKey: string;
  /** ...and verifies them. */
  readonly serviceAccountPublicKey: string;
}

/** The names under which kube-apiserver is reached, inside and outside the cluster. */
export function apiServerNames(serviceIp: string): string[] {
  return [
    'IP:127.0.0.1',
    `IP:${serviceIp}`,
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ];
}

function serverExtensions(names: readonly string[]): string {
  return [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth',
    `subjectAltName = ${names.join(', ')}`,
  ].join('\n');
}

const CLIENT_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature, keyEncipherment',
  'extendedKeyUsage = clientAuth',
].join('\n');

/** The subject kube-apiserver reads a user (CN) and its groups (O) from. */
export function clientSubject(user: string, groups: readonly string[] = []): string {
  return `${groups.map((group) => `/O=${group}`).join('')}/CN=${user}`;
}

async function makeCa(dir: string): Promise<KeyPair> {
  const pair = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  await run('openssl', [
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    pair.key,
    '-out',
    pair.cert,
    '-days',
    '3650',
    '-subj',
    '/CN=podgateway-test-cluster-ca',
    '-addext',
    'basicConstraints = critical, CA:TRUE',
    '-addext',
    'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
  ]);
  return pair;
}

function issue(
  dir: string,
  ca: KeyPair,
  name: string,
  subject: string,
  extensions: string,
): Promise<KeyPair> {
  return issueCertificate(dir, ca, name, subject, extensions);
}

async function serviceAccountKeys(dir: string): Promise<{ key: string; publicKey: string }> {
  const key = join(dir, 'service-account.key');
  const publicKey = join(dir, 'service-account.pub');
  await run('openssl', [
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-out',
    key,
  ]);
  await run('openssl', ['pkey', '-in', key, '-pubout', '-out', publicKey]);
  return { key, publicKey };
}

/**
 * A client certificate signed by the cluster's CA (in `dir`, the PKI's): kube-apiserver reads
 * `user` and `groups` from its subject.
 */
export function issueClientCertificate(
  dir: string,
  name: string,
  user: string,
  groups: readonly string[] = [],
): Promise<KeyPair> {
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  return issue(dir, ca, name, clientSubject(user, groups), CLIENT_EXTENSIONS);
}

export async function createPki(dir: string, serviceIp: string): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const ca = await makeCa(dir);
  const client = (name: string, user: string, groups: readonly string[] = []) =>
    issue(dir, ca, name, clientSubject(user, groups), CLIENT_EXTENSIONS);
  // Sequential: -CAcreateserial writes one serial file beside the CA.
  const apiServer = await issue(
    dir,
    ca,
    'kube-apiserver',
    '/CN=kube-apiserver',
    serverExtensions(apiServerNames(serviceIp)),
  );
  const webhook = await issue(
    dir,
    ca,
    'webhook',
    '/CN=pod-gateway-webhook',
    serverExtensions(['IP:127.0.0.1', 'DNS:localhost']),
  );
  const admin = await client('admin', 'kubernetes-admin', ['system:masters']);
  const controllerManager = await client(
    'kube-controller-manager',
    'system:kube-controller-manager',
  );
  const scheduler = await client('kube-scheduler', 'system:kube-scheduler');
  // kwok plays every kubelet: node and pod status, leases, events of all nodes.
  const kwok = await client('kwok', 'kwok-controller', ['system:masters']);
  const serviceAccount = await serviceAccountKeys(dir);
  return {
    dir,
    ca,
    apiServer,
    webhook,
    admin,
    controllerManager,
    scheduler,
    kwok,
    serviceAccountKey: serviceAccount.key,
    serviceAccountPublicKey: serviceAccount.publicKey,
  };
}
