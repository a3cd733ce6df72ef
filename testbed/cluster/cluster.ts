// A real control plane for tests: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// as separate processes on loopback, kwok playing the kubelets of fake nodes, and the two
// pod-gateway webhooks; then the project's namespaces and RBAC. Start it once per test run:
//   const cluster = await startCluster({ dir });  ...  await cluster.stop();
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Binaries, ensureBinaries, type Log } from './build.ts';
import { createPki, type Pki } from './certificates.ts';
import { CLUSTER_DIR, STAGES_DIR } from './components.ts';
import * as flags from './flags.ts';
import { clusterResolvConf, type RunningWebhook, startGatewayWebhook } from './gateway-webhook.ts';
import {
  GATEWAY_NAMES,
  GATEWAY_NAMESPACE,
  loadGateway,
  mutatingWebhookConfiguration,
  settingsConfigMaps,
  webhookConfig,
} from './gateways.ts';
import { httpsGet } from './https-get.ts';
import { KNATIVE_PROCESSES, startKnative } from './knative.ts';
import { type KnativeStatusHelper, startKnativeStatusHelper } from './knative-status.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import * as manifests from './manifests.ts';
import {
  failOnExit,
  loopbackPort,
  type ManagedProcess,
  startProcess,
  waitUntil,
} from './processes.ts';

export interface ClusterOptions {
  /** Holds the PKI, etcd's data, the logs and the kubeconfigs; emptied of those at start. */
  readonly dir: string;
  /** kube-apiserver's port; any free one when absent. */
  readonly apiServerPort?: number;
  readonly nodes?: number;
  /** Also Knative Serving's webhook and controller, and Serving's, Eventing's, Argo Events' CRDs. */
  readonly knative?: boolean;
  readonly log?: Log;
}

export interface Cluster {
  readonly dir: string;
  /** https://127.0.0.1:PORT */
  readonly server: string;
  readonly caFile: string;
  /** Client certificate of kubernetes-admin in system:masters. */
  readonly adminKubeconfig: string;
  /** A bound token of podgateway-provisioner/client-provisioner. */
  readonly functionKubeconfig: string;
  /** A bearer token of the static user `admin` (system:masters), as in the token file. */
  readonly adminToken: string;
  readonly nodeNames: readonly string[];
  /**
   * Stops kube-apiserver and starts it again on the same port; resolves once it is ready. With
   * `keys`, it signs and verifies ServiceAccount tokens with those keys too (a key rotation),
   * until the next restart without them.
   */
  restartApiServer(keys?: flags.ServiceAccountKeys): Promise<void>;
  /** Compacts etcd up to its current revision (older resourceVersions get 410 Gone); returns it. */
  compactEtcd(): Promise<number>;
  /** Stops (then starts with `startWebhook`) one gateway's webhook server: failurePolicy Fail. */
  stopWebhook(gateway: string): Promise<void>;
  startWebhook(gateway: string): Promise<void>;
  /**
   * Stops kube-controller-manager (then starts it with `startControllerManager`): without its
   * service account controller, a namespace made meanwhile gets no `default` ServiceAccount.
   */
  stopControllerManager(): Promise<void>;
  startControllerManager(): Promise<void>;
  stop(): Promise<void>;
}

/** How long a restarted kube-apiserver may take to be ready. */
const RESTART_READY_MS = 300_000;

const DEPLOY_DIR = join(CLUSTER_DIR, '..', '..', 'deploy');
const PROJECT_STAGES = async () =>
  (await readdir(STAGES_DIR))
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => join(STAGES_DIR, name));

async function freePorts(apiServerPort?: number): Promise<flags.Ports> {
  return {
    apiServer: await loopbackPort(apiServerPort ?? 0, 'kube-apiserver'),
    etcdClient: await loopbackPort(),
    etcdPeer: await loopbackPort(),
    controllerManager: await loopbackPort(),
    scheduler: await loopbackPort(),
  };
}

async function prepareDir(dir: string): Promise<ReturnType<typeof flags.layout>> {
  const paths = flags.layout(dir);
  for (const old of [paths.pki, paths.etcdData, paths.logs])
    await rm(old, { recursive: true, force: true });
  await mkdir(paths.logs, { recursive: true });
  return paths;
}

async function etcdHealthy(port: number): Promise<boolean> {
  const answer = await fetch(`http://127.0.0.1:${port}/health`);
  return answer.ok && ((await answer.json()) as { health?: string }).health === 'true';
}

async function postEtcd(port: number, path: string, body: object): Promise<unknown> {
  const answer = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`etcd ${path}: ${answer.status} ${await answer.text()}`);
  return answer.json();
}

/** Starts the cluster; on any failure, stops whatever it had started and rejects. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const log = options.log ?? console.log;
  const nodeNames = manifests.nodeNames(options.nodes ?? 2);
  const binaries: Binaries = await ensureBinaries(log, { knative: options.knative });
  const paths = await prepareDir(options.dir);
  const ports = await freePorts(options.apiServerPort);
  const server = `https://127.0.0.1:${ports.apiServer}`;
  const pki: Pki = await createPki(paths.pki, flags.KUBERNETES_SERVICE_IP);
  const adminToken = randomBytes(24).toString('hex');
  await writeFile(paths.tokenFile, `${adminToken},admin,admin-uid,"system:masters"\n`, {
    mode: 0o600,
  });

  const processes = new Map<string, ManagedProcess>();
  const webhooks = new Map<string, RunningWebhook>();
  const start = (name: string, args: readonly string[], env?: Record<string, string>) => {
    const managed = startProcess(name, binaries.paths[name] ?? name, args, paths.logs, env);
    processes.set(name, managed);
    return managed;
  };
  /** Waits for `check` unless a process exits first. */
  const ready = (what: string, check: () => Promise<boolean>, timeoutMs?: number) =>
    Promise.race([waitUntil(what, check, timeoutMs), failOnExit([...processes.values()])]);
  const tls = { ca: pki.ca.cert, client: pki.admin };
  const apiServerReady = (timeoutMs?: number) =>
    ready(
      'kube-apiserver /readyz',
      async () => (await httpsGet(`${server}/readyz`, tls)).status === 200,
      timeoutMs,
    );
  const startApiServer = (keys?: flags.ServiceAccountKeys) =>
    start('kube-apiserver', flags.apiServerArgs(pki, paths.tokenFile, ports, keys));

  let knativeStatus: KnativeStatusHelper | undefined;
  const stop = async () => {
    await knativeStatus?.stop();
    await Promise.all([...webhooks.values()].map((webhook) => webhook.close()));
    webhooks.clear();
    // Clients first, then the API server, then its store.
    for (const group of [
      [...KNATIVE_PROCESSES],
      ['kwok', 'kube-scheduler', 'kube-controller-manager'],
      ['kube-apiserver'],
      ['etcd'],
    ]) {
      await Promise.all(group.map((name) => processes.get(name)?.stop()));
    }
  };

  const gateways = await Promise.all(GATEWAY_NAMES.map((name) => loadGateway(DEPLOY_DIR, name)));
  const webhookPorts = new Map<string, number>();
  const startWebhook = async (name: string) => {
    const gateway = gateways.find((candidate) => candidate.name === name);
    if (gateway === undefined) throw new Error(`no gateway ${name}`);
    const resolv = clusterResolvConf(flags.CLUSTER_DNS_IP, GATEWAY_NAMESPACE);
    const running = await startGatewayWebhook(
      webhookConfig(gateway),
      resolv,
      pki.webhook,
      webhookPorts.get(name) ?? 0,
    );
    webhookPorts.set(name, running.port);
    webhooks.set(name, running);
    return running;
  };

  try {
    start('etcd', flags.etcdArgs(paths.etcdData, ports));
    await ready('etcd /health', () => etcdHealthy(ports.etcdClient));
    startApiServer();
    log(`kube-apiserver starting on ${server}…`);
    await apiServerReady();

    const component = async (file: string, pair: Pki['admin']) =>
      writeKubeconfig(file, server, pki.ca.cert, { kind: 'certificate', pair });
    const admin = manifests.loadKubeConfig(await component(paths.adminKubeconfig, pki.admin));
    const controllerManagerArgs = flags.controllerManagerArgs(
      pki,
      await component(paths.controllerManagerKubeconfig, pki.controllerManager),
      ports,
    );
    const startControllerManager = () => start('kube-controller-manager', controllerManagerArgs);
    startControllerManager();
    start(
      'kube-scheduler',
      flags.schedulerArgs(await component(paths.schedulerKubeconfig, pki.scheduler), ports),
    );
    const stages = [...binaries.kwokStages, ...(await PROJECT_STAGES())];
    start('kwok', flags.kwokArgs(await component(paths.kwokKubeconfig, pki.kwok), stages));

    const caPem = await readFile(pki.ca.cert, 'utf8');
    const registrations: object[] = [];
    for (const gateway of gateways) {
      const running = await startWebhook(gateway.name);
      registrations.push(
        mutatingWebhookConfiguration(gateway, running.url, caPem),
        ...settingsConfigMaps(gateway),
      );
    }
    await manifests.createObjects(admin, await manifests.readManifests(DEPLOY_DIR));
    await manifests.createObjects(admin, [...nodeNames.map(manifests.fakeNode), ...registrations]);

    await ready(`${nodeNames.length} schedulable nodes`, () =>
      manifests.nodesSchedulable(admin, nodeNames.length),
    );
    await ready(`the default ServiceAccount of ${manifests.CLIENT_NAMESPACE}`, () =>
      manifests.serviceAccountExists(admin, manifests.CLIENT_NAMESPACE, 'default'),
    );
    if (options.knative === true) {
      log('starting Knative Serving (webhook, controller)…');
      await startKnative({
        admin,
        adminKubeconfig: paths.adminKubeconfig,
        configFiles: binaries.knativeConfig,
        start,
        ready,
      });
      knativeStatus = startKnativeStatusHelper(admin);
    }
    const token = await manifests.functionToken(admin);
    await writeKubeconfig(
      paths.functionKubeconfig,
      server,
      pki.ca.cert,
      { kind: 'token', token },
      manifests.CLIENT_NAMESPACE,
    );

    return {
      dir: options.dir,
      server,
      caFile: pki.ca.cert,
      adminKubeconfig: paths.adminKubeconfig,
      functionKubeconfig: paths.functionKubeconfig,
      adminToken,
      nodeNames,
      stop,
      restartApiServer: async (keys) => {
        await processes.get('kube-apiserver')?.stop();
        startApiServer(keys);
        // Its watch caches fill from etcd first: with 10,000 pods on a loaded machine, over 60 s.
        await apiServerReady(RESTART_READY_MS);
      },
      compactEtcd: async () => {
        const range = (await postEtcd(ports.etcdClient, '/v3/kv/range', { key: 'AA==' })) as {
          header: { revision: string };
        };
        const revision = Number(range.header.revision);
        await postEtcd(ports.etcdClient, '/v3/kv/compaction', { revision, physical: true });
        return revision;
      },
      stopWebhook: async (name) => {
        await webhooks.get(name)?.close();
        webhooks.delete(name);
      },
      startWebhook: async (name) => {
        if (!webhooks.has(name)) await startWebhook(name);
      },
      stopControllerManager: async () => {
        await processes.get('kube-controller-manager')?.stop();
      },
      startControllerManager: async () => {
        if (processes.get('kube-controller-manager')?.running() !== true) startControllerManager();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
