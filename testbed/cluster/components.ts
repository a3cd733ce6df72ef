// What the test cluster is built from: the Go wrapper modules under testbed/cluster/go and the main
// package each binary comes from. Versions live in those go.mod files; the few below feed the
// ldflags and the generator.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLUSTER_DIR = dirname(fileURLToPath(import.meta.url));
export const WRAPPER_MODULES_DIR = join(CLUSTER_DIR, 'go');
export const STAGES_DIR = join(CLUSTER_DIR, 'stages');

export const KUBERNETES_VERSION = 'v1.37.2';

export interface Component {
  /** The binary's file name in the cache. */
  readonly name: string;
  /** The folder of testbed/cluster/go holding its wrapper module. */
  readonly module: string;
  /** Built only when asked for (`--knative`): a cold build takes many minutes. */
  readonly optional?: boolean;
  readonly mainPackage: string;
  readonly ldflags: readonly string[];
}

/** -X flags so that /version and the clients report the release, not v0.0.0-master. */
export function kubernetesVersionLdflags(version: string): string[] {
  const match = /^v(\d+)\.(\d+)\./.exec(version);
  if (match === null) throw new Error(`not a vX.Y.Z version: ${version}`);
  const [, major, minor] = match;
  const values: Record<string, string> = {
    'k8s.io/component-base/version.gitVersion': version,
    'k8s.io/component-base/version.gitMajor': major,
    'k8s.io/component-base/version.gitMinor': minor,
    'k8s.io/component-base/version.gitTreeState': 'clean',
    'k8s.io/client-go/pkg/version.gitVersion': version,
    'k8s.io/client-go/pkg/version.gitMajor': major,
    'k8s.io/client-go/pkg/version.gitMinor': minor,
    'k8s.io/client-go/pkg/version.gitTreeState': 'clean',
  };
  return Object.entries(values).map(([symbol, value]) => `-X ${symbol}=${value}`);
}

function kubernetesComponent(name: string): Component {
  return {
    name,
    module: 'kubernetes',
    mainPackage: `k8s.io/kubernetes/cmd/${name}`,
    ldflags: kubernetesVersionLdflags(KUBERNETES_VERSION),
  };
}

export const KUBERNETES_COMPONENTS: readonly Component[] = [
  kubernetesComponent('kube-apiserver'),
  kubernetesComponent('kube-controller-manager'),
  kubernetesComponent('kube-scheduler'),
];

function knativeComponent(name: string, command: string): Component {
  return {
    name,
    module: 'knative',
    mainPackage: `knative.dev/serving/cmd/${command}`,
    ldflags: [],
    optional: true,
  };
}

/** Knative Serving's own binaries, run by `--knative`. */
export const KNATIVE_COMPONENTS: readonly Component[] = [
  knativeComponent('knative-webhook', 'webhook'),
  knativeComponent('knative-controller', 'controller'),
  knativeComponent('queue-proxy', 'queue'),
];

export const COMPONENTS: readonly Component[] = [
  { name: 'etcd', module: 'etcd', mainPackage: 'go.etcd.io/etcd/server/v3', ldflags: [] },
  ...KUBERNETES_COMPONENTS,
  { name: 'kwok', module: 'kwok', mainPackage: 'sigs.k8s.io/kwok/cmd/kwok', ldflags: [] },
  // Our own program (go/cloudevents/main.go): sends an event and reads the answer with
  // CloudEvents' Go SDK, as Knative Eventing's broker does.
  {
    name: 'cloudevents',
    module: 'cloudevents',
    mainPackage: 'podgateway.test/cluster/cloudevents',
    ldflags: [],
  },
  ...KNATIVE_COMPONENTS,
];
