// The command lines of the cluster's processes: pure functions of the ports and files, so that
// what each component is told is readable in one place.
import { join } from 'node:path';
import type { Pki } from './certificates.ts';

export const SERVICE_CIDR = '10.96.0.0/16';
/** The first address of the service range: the `kubernetes` Service. */
export const KUBERNETES_SERVICE_IP = '10.96.0.1';
/** Where a cluster's DNS Service usually is; only the gateway webhook's resolv.conf uses it. */
export const CLUSTER_DNS_IP = '10.96.0.10';
export const POD_CIDR = '10.244.0.0/16';
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface Ports {
  readonly etcdClient: number;
  readonly etcdPeer: number;
  readonly apiServer: number;
  readonly controllerManager: number;
  readonly scheduler: number;
}

export function etcdArgs(dataDir: string, ports: Ports): string[] {
  const client = `http://127.0.0.1:${ports.etcdClient}`;
  const peer = `http://127.0.0.1:${ports.etcdPeer}`;
  return [
    '--name=test',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=test=${peer}`,
    '--initial-cluster-state=new',
    // A test cluster's data is disposable: no fsync makes every write fast.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
}

/** kube-apiserver's ServiceAccount keys other than the PKI's own (a rotation). */
export interface ServiceAccountKeys {
  /** The private key that signs new tokens, in place of the PKI's. */
  readonly signingKeyFile?: string;
  /** Public keys that verify tokens besides the PKI's (and that the JWKS serves). */
  readonly extraKeyFiles?: readonly string[];
}

export function apiServerArgs(
  pki: Pki,
  tokenFile: string,
  ports: Ports,
  keys: ServiceAccountKeys = {},
): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiServer}`,
    `--tls-cert-file=${pki.apiServer.cert}`,
    `--tls-private-key-file=${pki.apiServer.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    `--token-auth-file=${tokenFile}`,
    '--authorization-mode=Node,RBAC',
    // On top of the defaults (PodSecurity, LimitRanger, ResourceQuota, ServiceAccount, both
    // webhook plugins...), as kubeadm enables it.
    '--enable-admission-plugins=NodeRestriction',
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${pki.serviceAccountPublicKey}`,
    ...(keys.extraKeyFiles ?? []).map((file) => `--service-account-key-file=${file}`),
    `--service-account-signing-key-file=${keys.signingKeyFile ?? pki.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    // No kubelet or kube-proxy runs: nothing would serve the `kubernetes` Service's endpoints.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    // Compaction only when a test asks for it (compactEtcd), so 410 Gone is deterministic.
    '--etcd-compaction-interval=0',
    '--profiling=false',
  ];
}

/** The flags both kube-controller-manager and kube-scheduler take to serve on loopback. */
function componentServingArgs(kubeconfig: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
}

export function controllerManagerArgs(pki: Pki, kubeconfig: string, ports: Ports): string[] {
  return [
    ...componentServingArgs(kubeconfig, ports.controllerManager),
    `--root-ca-file=${pki.ca.cert}`,
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    // Each controller acts as its own ServiceAccount, as in kubeadm clusters.
    '--use-service-account-credentials=true',
    `--cluster-signing-cert-file=${pki.ca.cert}`,
    `--cluster-signing-key-file=${pki.ca.key}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
  ];
}

export function schedulerArgs(kubeconfig: string, ports: Ports): string[] {
  return componentServingArgs(kubeconfig, ports.scheduler);
}

export function kwokArgs(kubeconfig: string, stages: readonly string[]): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    '--manage-all-nodes=true',
    `--cidr=${POD_CIDR}`,
    '--node-ip=10.0.0.1',
    // No kubelet server (logs, exec, port-forward): 0 keeps kwok from listening on 0.0.0.0.
    '--node-port=0',
    // kwok renews each node's Lease in kube-node-lease (every 10 s) as a kubelet does; without
    // them kube-controller-manager marks the nodes NotReady after its grace period (~50 s),
    // sets their pods Ready=False, and kwok's stages never set them back.
    '--node-lease-duration-seconds=40',
    ...stages.map((stage) => `--config=${stage}`),
  ];
}

/** Where every piece of a cluster lives under its directory. */
export function layout(dir: string) {
  return {
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd'),
    logs: join(dir, 'logs'),
    tokenFile: join(dir, 'pki', 'tokens.csv'),
    adminKubeconfig: join(dir, 'admin.kubeconfig'),
    functionKubeconfig: join(dir, 'function.kubeconfig'),
    controllerManagerKubeconfig: join(dir, 'kube-controller-manager.kubeconfig'),
    schedulerKubeconfig: join(dir, 'kube-scheduler.kubeconfig'),
    kwokKubeconfig: join(dir, 'kwok.kubeconfig'),
  };
}
