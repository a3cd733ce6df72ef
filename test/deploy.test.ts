// The manifests: each parses and validates against the official schemas, kustomize renders them,
// and cross-checks fail when code and manifests drift apart (the event type, the API calls and
// the Role, the configuration variables, the gateway label and annotation).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES, DEFAULTS, type ProvisionerConfig, parseConfig } from '../src/config.ts';
import { DEFAULT_BODY_LIMIT, RUNTIME_VARIABLES } from '../src/http-guard.ts';
import { API_CALLS } from '../src/kube.ts';
import { RELEASE_DONE_TYPE, RELEASE_FAILED_TYPE, RELEASE_TYPE } from '../src/release.ts';
import { DONE_TYPE, FAILED_TYPE } from '../src/reply.ts';
import { PENDING_TYPE } from '../src/request.ts';
import { SINK_VARIABLES } from '../src/sink.ts';
import { PING_TYPE, SWEEP_DONE_TYPE, SWEEP_FAILED_TYPE, SWEEP_TYPE } from '../src/sweep.ts';
import { backoffProblems, findBackoffs } from './support/argo-backoff.ts';
import { funcYamlProblems } from './support/func-yaml.ts';
import { PROJECT_ROOT } from './support/function-process.ts';
import {
  arr,
  at,
  DEPLOY_DIR,
  type Doc,
  hasSchema,
  isDoc,
  type Manifest,
  obj,
  readManifests,
  readYaml,
  str,
  validateManifest,
  yamlFilesIn,
} from './support/manifests.ts';

const ARGO_DIR = join(DEPLOY_DIR, 'examples', 'argo-events');
const HELM_VALUES = /^pod-gateway-(.+)-values\.yaml$/;
/** In deploy/ but applied on its own (`kubectl apply -f`): the dashboard, the NetworkPolicy. */
const OPTIONAL = ['cloudevents-player.yaml', 'network-policy.yaml'];
/** The health endpoints of faas-js-runtime. */
const HEALTH = { liveness: '/health/liveness', readiness: '/health/readiness' };
/** Read by Node itself, not by src/config.ts: the V8 heap flags chosen by the bench. */
const PROCESS_VARIABLES = ['NODE_OPTIONS'];
/** The share of the container's memory limit the function's RSS may reach (BENCHMARKS.md). */
const RSS_SHARE_OF_LIMIT = 0.6;

/** A Kubernetes memory quantity (`384Mi`, `400M`, `1Gi`) in MiB. */
function mebibytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(quantity);
  assert.ok(match, `not a memory quantity: ${quantity}`);
  const factor: Record<string, number> = {
    Ki: 1 / 1024,
    Mi: 1,
    Gi: 1024,
    k: 1000 / 1048576,
    M: 1e6 / 1048576,
    G: 1e9 / 1048576,
  };
  return Number(match[1]) * (match[2] ? (factor[match[2]] ?? Number.NaN) : 1 / 1048576);
}

/** "missing: A, B; extra: C" for two lists that should hold the same names. */
function difference(actual: Iterable<string>, expected: Iterable<string>): string {
  const have = new Set(actual);
  const want = new Set(expected);
  const missing = [...want].filter((name) => !have.has(name));
  const extra = [...have].filter((name) => !want.has(name));
  return `missing: ${missing.join(', ') || '(none)'}; extra: ${extra.join(', ') || '(none)'}`;
}

function assertSameNames(actual: string[], expected: readonly string[], what: string): void {
  assert.deepEqual(
    [...actual].sort(),
    [...expected].sort(),
    `${what}: ${difference(actual, expected)}`,
  );
}

function only(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.name === name));
  assert.equal(
    found.length,
    1,
    `expected one ${kind}${name ? ` ${name}` : ''}, got ${found.length}`,
  );
  const [manifest] = found;
  assert.ok(manifest);
  return manifest;
}

function envOf(container: unknown): Array<{ name: string; value: string }> {
  return arr(obj(container).env).map((entry) => ({
    name: str(obj(entry).name),
    value: str(obj(entry).value),
  }));
}

let kustomized: Manifest[];
let optional: Manifest[];
let argo: Manifest[];
let funcYaml: Doc;
let gatewayValues: Array<{ gateway: string; file: string; values: Doc }>;
/** The Knative Service of the function, its container, and the configuration it sets. */
let service: Manifest;
let container: Doc;
let serviceEnv: Array<{ name: string; value: string }>;
let config: ProvisionerConfig;

before(async () => {
  const kustomization = await readYaml(join(DEPLOY_DIR, 'kustomization.yaml'));
  kustomized = [];
  for (const file of arr(kustomization.resources).map(str)) {
    kustomized.push(...(await readManifests(join(DEPLOY_DIR, file))));
  }
  optional = [];
  for (const file of OPTIONAL) optional.push(...(await readManifests(join(DEPLOY_DIR, file))));
  argo = [];
  for (const file of await yamlFilesIn(ARGO_DIR)) {
    if (file !== 'kustomization.yaml') argo.push(...(await readManifests(join(ARGO_DIR, file))));
  }
  funcYaml = await readYaml(join(PROJECT_ROOT, 'func.yaml'));
  gatewayValues = [];
  for (const file of await yamlFilesIn(DEPLOY_DIR)) {
    const gateway = HELM_VALUES.exec(file)?.[1];
    if (gateway) {
      gatewayValues.push({ gateway, file, values: await readYaml(join(DEPLOY_DIR, file)) });
    }
  }
  service = only(kustomized, 'Service', 'client-provisioner');
  container = obj(at(service.doc, 'spec', 'template', 'spec', 'containers', 0));
  serviceEnv = envOf(container);
  config = parseConfig(Object.fromEntries(serviceEnv.map((e) => [e.name, e.value])));
});

describe('deploy/ manifests', () => {
  it('kustomization.yaml lists every manifest of deploy/ but the Helm values and the optional dashboard', async () => {
    const kustomization = await readYaml(join(DEPLOY_DIR, 'kustomization.yaml'));
    const listed = arr(kustomization.resources).map(str);
    const files = (await yamlFilesIn(DEPLOY_DIR)).filter(
      (file) =>
        file !== 'kustomization.yaml' && !HELM_VALUES.test(file) && !OPTIONAL.includes(file),
    );
    assertSameNames(listed, files, 'deploy/kustomization.yaml resources');
  });

  it('every document validates against its official schema', () => {
    const all = [...kustomized, ...optional, ...argo.filter(hasSchema)];
    assert.ok(all.length >= 10, `only ${all.length} documents found`);
    for (const manifest of all) validateManifest(manifest);
  });

  it('the schema check does catch a broken manifest', () => {
    const broken = structuredClone(service.doc) as {
      spec: { template: { spec: { containers: unknown[] } } };
    };
    broken.spec.template.spec.containers = [{ image: 'x' }];
    assert.throws(
      () => validateManifest({ ...service, doc: broken }),
      /containers\/0 must have required property name/,
    );
  });

  it('the function lives in a namespace of its own; only the Role and its binding in the client namespace', () => {
    const functionNamespace = str(funcYaml.namespace);
    assert.ok(functionNamespace, 'func.yaml asks for a namespace (top-level `namespace`)');
    assert.notEqual(functionNamespace, config.clientNamespace);
    assert.equal(service.namespace, functionNamespace, 'service.yaml and func.yaml agree');
    assert.equal(
      at(funcYaml, 'deploy', 'namespace'),
      undefined,
      'deploy.namespace is what func records after a deploy, not a request',
    );
    const namespaces = kustomized.filter((m) => m.kind === 'Namespace').map((m) => m.name);
    assert.deepEqual(namespaces.sort(), [config.clientNamespace, functionNamespace].sort());
    const inClientNamespace = ['Role', 'RoleBinding'];
    for (const manifest of [...kustomized, ...optional]) {
      if (manifest.kind === 'Namespace') continue;
      const expected = inClientNamespace.includes(manifest.kind)
        ? config.clientNamespace
        : functionNamespace;
      assert.equal(manifest.namespace, expected, `${manifest.file} ${manifest.kind}`);
    }
    const clusterWide = [...kustomized, ...optional, ...argo].filter((m) =>
      ['ClusterRole', 'ClusterRoleBinding'].includes(m.kind),
    );
    assert.deepEqual(clusterWide, []);
  });

  it('no gateway webhook selects the function’s namespace: a webhook that is down cannot block it', () => {
    const functionNamespace = only(kustomized, 'Namespace', str(funcYaml.namespace));
    const labels = obj(at(functionNamespace.doc, 'metadata', 'labels'));
    for (const { file, values } of gatewayValues) {
      const label = str(at(values, 'webhook', 'namespaceSelector', 'label'));
      assert.notEqual(labels[label], 'true', `${file} would select ${functionNamespace.name}`);
      assert.ok(!arr(values.routed_namespaces).includes(functionNamespace.name), file);
    }
  });

  it('CLIENT_NAMESPACE is set: in a namespace of its own, the function’s default would be wrong', () => {
    assert.equal(serviceEnv.find((e) => e.name === 'CLIENT_NAMESPACE')?.value, 'client-system');
  });

  it('the Helm values files are for the pod-gateway chart and name foo and bar', () => {
    assert.deepEqual(gatewayValues.map((g) => g.gateway).sort(), ['bar', 'foo']);
  });

  it('the docs and the values files install the same pod-gateway chart version', async () => {
    const texts = await Promise.all(
      [join('docs', 'deploy.md'), ...gatewayValues.map(({ file }) => join('deploy', file))].map(
        (path) => readFile(join(PROJECT_ROOT, path), 'utf8'),
      ),
    );
    const versions = texts.flatMap((text) =>
      [...text.matchAll(/angelnu\/pod-gateway --version (\S+)/g)].map((match) => match[1]),
    );
    assert.ok(versions.length >= 4, `found ${versions.join(', ')}`);
    assert.deepEqual([...new Set(versions)], ['7.1.1']);
  });
});

describe('the func toolchain', () => {
  it('func.yaml has only fields func knows, in their places', () => {
    assert.deepEqual(funcYamlProblems(funcYaml), []);
  });

  it('the func.yaml check finds a misplaced or unknown field', () => {
    const misplaced = { ...funcYaml, build: { ...obj(funcYaml.build), namespace: 'x' } };
    assert.deepEqual(funcYamlProblems(misplaced), ['build.namespace is not a func.yaml field']);
    assert.deepEqual(funcYamlProblems({ ...funcYaml, invoke: 'event' }), [
      'invoke: "event" is not one of http, cloudevent',
    ]);
  });

  it('an s2i build gets a Node image the function loads on (package.json engines)', async () => {
    const image = str(at(funcYaml, 'build', 'builderImages', 's2i'));
    const major = /nodejs-(\d+)/.exec(image)?.[1];
    assert.ok(major, `${image} names its Node version`);
    const packageJson = JSON.parse(await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const engines = String(packageJson.engines.node);
    assert.match(
      engines,
      new RegExp(`\\^${major}(\\D|$)`),
      `Node ${major} is in engines ${engines}`,
    );
  });

  it('.funcignore keeps node_modules, build and func state out of the build upload, not the sources', async () => {
    const patterns = (await readFile(join(PROJECT_ROOT, '.funcignore'), 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.replace(/^\/|\/$/g, ''));
    for (const ignored of ['node_modules', 'build', '.func']) {
      assert.ok(patterns.includes(ignored), `.funcignore lists ${ignored}`);
    }
    // What `npm ci`, `npm run build` and `npm start` read.
    const needed = ['package.json', 'package-lock.json', 'index.ts', 'src', 'scripts', 'func.yaml'];
    for (const path of needed) {
      assert.ok(!patterns.includes(path), `${path} is needed by the build`);
    }
    const gitignore = await readFile(join(PROJECT_ROOT, '.gitignore'), 'utf8');
    assert.match(gitignore, /^\.func\/$/m, '.gitignore lists .func/');
  });
});

describe('rendering', () => {
  // `kubectl apply -k deploy/ --dry-run=client` asks the API server for its resource types
  // (discovery), even with --validate=false: without a cluster it cannot run. `kubectl kustomize`
  // renders the same objects that `apply -k` sends, with no server.
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  const noKubectl = kubectl.error ? `kubectl is not installed (${kubectl.error.message})` : false;
  if (noKubectl) console.log(`# skipping the kubectl rendering tests: ${noKubectl}`);

  const render = (dir: string): Array<[string, string]> => {
    const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return parseAllDocuments(result.stdout).map((document) => {
      const doc: unknown = document.toJS();
      assert.ok(isDoc(doc));
      return [str(doc.kind), str(obj(doc.metadata).name)];
    });
  };
  const key = (pairs: Array<[string, string]>) => pairs.map((p) => p.join('/')).sort();

  it('`kubectl kustomize deploy/` renders every object of the listed files', {
    skip: noKubectl,
  }, () => {
    const rendered = render(DEPLOY_DIR);
    assert.deepEqual(key(rendered), key(kustomized.map((m) => [m.kind, m.name])));
  });

  it('`kubectl kustomize deploy/examples/argo-events/` renders the example', {
    skip: noKubectl,
  }, () => {
    assert.deepEqual(key(render(ARGO_DIR)), key(argo.map((m) => [m.kind, m.name])));
  });
});

describe('cross-checks between the code and the manifests', () => {
  it('one Trigger per event type the code consumes, from the Broker, to the function, in func.yaml’s order', () => {
    const broker = only(kustomized, 'Broker');
    const triggers = kustomized.filter(
      (m) =>
        m.kind === 'Trigger' && at(m.doc, 'spec', 'subscriber', 'ref', 'name') === service.name,
    );
    const filters = triggers.map((trigger) => at(trigger.doc, 'spec', 'filter', 'attributes'));
    assert.deepEqual(
      filters.map((filter) => obj(filter).type),
      [PENDING_TYPE, RELEASE_TYPE, SWEEP_TYPE, PING_TYPE],
    );
    for (const [n, trigger] of triggers.entries()) {
      assert.equal(at(trigger.doc, 'spec', 'broker'), broker.name);
      assert.equal(at(trigger.doc, 'spec', 'subscriber', 'ref', 'kind'), 'Service');
      // func deploy names its Triggers <service>-function-trigger-<n> and leaves an existing one
      // alone: the same names keep one Trigger per type whichever way the function is deployed.
      assert.equal(trigger.name, `${service.name}-function-trigger-${n}`);
    }
  });

  it('no Trigger to the function matches a reply it sends (the Broker would loop it back)', () => {
    const replies = [
      DONE_TYPE,
      FAILED_TYPE,
      RELEASE_DONE_TYPE,
      RELEASE_FAILED_TYPE,
      SWEEP_DONE_TYPE,
      SWEEP_FAILED_TYPE,
    ];
    for (const trigger of kustomized.filter((m) => m.kind === 'Trigger')) {
      if (at(trigger.doc, 'spec', 'subscriber', 'ref', 'name') !== service.name) continue;
      const type = obj(at(trigger.doc, 'spec', 'filter', 'attributes')).type;
      assert.ok(
        typeof type === 'string' && !replies.includes(type),
        `${trigger.name}: ${String(type)}`,
      );
    }
  });

  it('a PingSource sends the sweep to the Broker, and only its pings reach the function', () => {
    const broker = only(kustomized, 'Broker');
    const ping = only(kustomized, 'PingSource');
    assert.deepEqual(at(ping.doc, 'spec', 'sink', 'ref'), {
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      name: broker.name,
    });
    assert.match(str(at(ping.doc, 'spec', 'schedule')), /^\S+ \S+ \S+ \S+ \S+$/);
    const pingTrigger = kustomized.find(
      (m) =>
        m.kind === 'Trigger' && obj(at(m.doc, 'spec', 'filter', 'attributes')).type === PING_TYPE,
    );
    // knative/eventing pkg/apis/sources/v1/ping_lifecycle.go: PingSourceSource.
    assert.equal(
      obj(at(pingTrigger?.doc, 'spec', 'filter', 'attributes')).source,
      `/apis/v1/namespaces/${ping.namespace}/pingsources/${ping.name}`,
    );
  });

  it('func.yaml subscribes to the same Broker with the same filters', () => {
    const broker = only(kustomized, 'Broker');
    const subscriptions = arr(at(funcYaml, 'deploy', 'subscriptions'));
    const triggers = kustomized.filter(
      (m) =>
        m.kind === 'Trigger' && at(m.doc, 'spec', 'subscriber', 'ref', 'name') === service.name,
    );
    assert.deepEqual(
      subscriptions,
      triggers.map((trigger) => ({
        source: broker.name,
        filters: at(trigger.doc, 'spec', 'filter', 'attributes'),
      })),
    );
    assert.equal(funcYaml.name, service.name);
  });

  it('the Role grants exactly the API calls the code makes (src/kube.ts API_CALLS)', () => {
    const role = only(kustomized, 'Role');
    const granted: string[] = [];
    for (const rule of arr(at(role.doc, 'rules'))) {
      for (const group of arr(obj(rule).apiGroups).map(str)) {
        for (const resource of arr(obj(rule).resources).map(str)) {
          for (const verb of arr(obj(rule).verbs).map(str)) {
            granted.push(`${group || 'core'}/${resource}/${verb}`);
          }
        }
      }
    }
    const used = API_CALLS.map((call) => {
      const group = (call as { readonly group?: string }).group ?? '';
      return `${group || 'core'}/${call.resource}/${call.verb}`;
    });
    assertSameNames(granted, [...new Set(used)], 'deploy/rbac.yaml Role rules vs API_CALLS');
    assert.ok(!granted.some((g) => g.includes('*')), 'no wildcards');
    assert.equal(role.namespace, config.clientNamespace, 'the Role is in the client namespace');
    const binding = only(kustomized, 'RoleBinding');
    assert.equal(binding.namespace, config.clientNamespace, 'bound there too');
  });

  it('the function runs as the ServiceAccount the Role is bound to', () => {
    const account = only(kustomized, 'ServiceAccount');
    const role = only(kustomized, 'Role');
    const binding = only(kustomized, 'RoleBinding');
    assert.deepEqual(at(binding.doc, 'roleRef'), {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: role.name,
    });
    assert.deepEqual(at(binding.doc, 'subjects'), [
      { kind: 'ServiceAccount', name: account.name, namespace: account.namespace },
    ]);
    assert.equal(at(service.doc, 'spec', 'template', 'spec', 'serviceAccountName'), account.name);
    assert.equal(at(funcYaml, 'deploy', 'serviceAccountName'), account.name);
  });

  it('service.yaml sets exactly the variables src/config.ts CONFIG_VARIABLES reads, to valid values', () => {
    assertSameNames(
      serviceEnv.map((e) => e.name),
      [...CONFIG_VARIABLES, ...RUNTIME_VARIABLES, ...PROCESS_VARIABLES],
      'deploy/service.yaml env vs CONFIG_VARIABLES (src/config.ts), RUNTIME_VARIABLES and NODE_OPTIONS',
    );
    // parseConfig (in before) threw if a value was invalid; K_SINK comes from the platform.
    for (const variable of SINK_VARIABLES) {
      assert.ok(
        !serviceEnv.some((e) => e.name === variable),
        `${variable} is set by a SinkBinding`,
      );
    }
  });

  it('func.yaml run.envs sets the same variables to the same values', () => {
    const funcEnv = arr(at(funcYaml, 'run', 'envs')).map((entry) => ({
      name: str(obj(entry).name),
      value: str(obj(entry).value),
    }));
    assertSameNames(
      funcEnv.map((e) => e.name),
      [...CONFIG_VARIABLES, ...RUNTIME_VARIABLES, ...PROCESS_VARIABLES],
      'func.yaml run.envs vs CONFIG_VARIABLES (src/config.ts), RUNTIME_VARIABLES and NODE_OPTIONS',
    );
    const byName = (list: Array<{ name: string; value: string }>) =>
      Object.fromEntries(list.map((e) => [e.name, e.value]));
    assert.deepEqual(byName(funcEnv), byName(serviceEnv), 'func.yaml and service.yaml agree');
  });

  it('service.yaml and func.yaml agree on health paths and scale; the Service has probes and resources', () => {
    assert.equal(at(container, 'livenessProbe', 'httpGet', 'path'), HEALTH.liveness);
    assert.equal(at(container, 'readinessProbe', 'httpGet', 'path'), HEALTH.readiness);
    assert.deepEqual(at(funcYaml, 'deploy', 'healthEndpoints'), HEALTH);
    // Knative accepts a probe port only when it is the container's port.
    const port = at(container, 'ports', 0, 'containerPort');
    assert.equal(at(container, 'livenessProbe', 'httpGet', 'port'), port);
    assert.equal(at(container, 'readinessProbe', 'httpGet', 'port'), port);
    const annotations = obj(at(service.doc, 'spec', 'template', 'metadata', 'annotations'));
    assert.equal(annotations['autoscaling.knative.dev/min-scale'], '0', 'scales to zero');
    assert.equal(
      annotations['autoscaling.knative.dev/min-scale'],
      String(at(funcYaml, 'deploy', 'options', 'scale', 'min')),
    );
    assert.equal(
      annotations['autoscaling.knative.dev/max-scale'],
      String(at(funcYaml, 'deploy', 'options', 'scale', 'max')),
    );
    for (const part of ['requests', 'limits']) {
      assert.ok(at(container, 'resources', part, 'memory'), `resources.${part}.memory`);
      assert.ok(at(container, 'resources', part, 'cpu'), `resources.${part}.cpu`);
    }
    // func.yaml's resources.limits.concurrency is the Service's containerConcurrency.
    const { concurrency, ...funcLimits } = obj(
      at(funcYaml, 'deploy', 'options', 'resources', 'limits'),
    );
    assert.deepEqual(
      { ...obj(at(funcYaml, 'deploy', 'options', 'resources')), limits: funcLimits },
      at(container, 'resources'),
      'func.yaml deploy.options.resources and service.yaml agree',
    );
    assert.equal(
      concurrency,
      at(service.doc, 'spec', 'template', 'spec', 'containerConcurrency'),
      'func.yaml resources.limits.concurrency is the Service containerConcurrency',
    );
  });

  it('the V8 heap flags of NODE_OPTIONS keep the heap well inside the container memory limit', () => {
    const nodeOptions = serviceEnv.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
    const flag = (name: string) => {
      const match = new RegExp(`--${name}=(\\d+)`).exec(nodeOptions);
      assert.ok(match, `NODE_OPTIONS sets --${name}: ${nodeOptions}`);
      return Number(match[1]);
    };
    const limit = mebibytes(str(at(container, 'resources', 'limits', 'memory')));
    // V8's young generation is three semi-spaces; the rest of the RSS (code, Node, buffers) was
    // 80–100 MB in the bench, so the heap limits are checked against the share left.
    const heap = flag('max-old-space-size') + 3 * flag('max-semi-space-size');
    assert.ok(
      heap <= RSS_SHARE_OF_LIMIT * limit - 80,
      `heap limits of ${heap} MiB leave too little of ${RSS_SHARE_OF_LIMIT * limit} MiB (${RSS_SHARE_OF_LIMIT} of the ${limit} MiB limit)`,
    );
  });

  it('the Broker retries a bounded number of times with exponential backoff, then dead-letters', () => {
    const broker = only(kustomized, 'Broker');
    const delivery = obj(at(broker.doc, 'spec', 'delivery'));
    assert.ok(Number.isInteger(delivery.retry) && Number(delivery.retry) >= 1);
    assert.ok(Number(delivery.retry) <= 10, 'bounded retries');
    assert.equal(delivery.backoffPolicy, 'exponential');
    assert.match(str(delivery.backoffDelay), /^PT[\d.]+S$/);
    const sink = obj(at(delivery, 'deadLetterSink', 'ref'));
    const target = kustomized.find((m) => m.kind === sink.kind && m.name === sink.name);
    assert.ok(target, `the dead letter sink ${str(sink.kind)} ${str(sink.name)} is deployed too`);
  });

  it('the client namespace carries the label the gateway webhooks select', () => {
    const namespace = only(kustomized, 'Namespace', config.clientNamespace);
    for (const { file, values } of gatewayValues) {
      const selector = obj(at(values, 'webhook', 'namespaceSelector'));
      assert.equal(selector.type, 'label', file);
      // The chart renders it as matchLabels {<label>: "true"}.
      const label = str(selector.label);
      assert.equal(
        obj(at(namespace.doc, 'metadata', 'labels'))[label],
        'true',
        `${file} selects namespaces labelled ${label}: "true"`,
      );
      assert.ok(
        arr(values.routed_namespaces).includes(namespace.name),
        `${file}: routed_namespaces has ${namespace.name} (the settings ConfigMap goes there)`,
      );
    }
  });

  it('each gateway webhook reads the label and annotation the function sets, with its own name', () => {
    assert.equal(config.gatewayLabel, DEFAULTS.gatewayKey, 'the manifests keep the default key');
    assert.equal(config.gatewayAnnotation, DEFAULTS.gatewayKey);
    for (const { gateway, file, values } of gatewayValues) {
      const webhook = obj(values.webhook);
      assert.equal(webhook.gatewayDefault, false, `${file}: only the pods that ask are routed`);
      assert.equal(webhook.gatewayLabel, config.gatewayLabel, `${file}: gatewayLabel`);
      assert.equal(
        webhook.gatewayAnnotation,
        config.gatewayAnnotation,
        `${file}: gatewayAnnotation`,
      );
      assert.equal(webhook.gatewayLabelValue, gateway, `${file}: gatewayLabelValue`);
      assert.equal(webhook.gatewayAnnotationValue, gateway, `${file}: gatewayAnnotationValue`);
    }
    assertSameNames(
      [...(config.allowedGateways ?? [])],
      gatewayValues.map((g) => g.gateway),
      'GATEWAYS in service.yaml vs the pod-gateway-*-values.yaml files',
    );
  });

  it('each gateway has its own VXLAN network, and its DNS is that network’s gateway address', () => {
    const networks = gatewayValues.map(({ file, values }) => {
      const network = str(at(values, 'settings', 'VXLAN_IP_NETWORK'));
      assert.equal(values.DNS, `${network}.1`, `${file}: DNS is VXLAN_IP_NETWORK.1`);
      return network;
    });
    assert.equal(new Set(networks).size, networks.length);
  });
});

describe('the Argo Events example (shape checked by hand: no schema package for Argo)', () => {
  it('a Sensor POSTs a binary-mode pending CloudEvent to the function’s in-cluster address', () => {
    const sensor = only(argo, 'Sensor');
    assert.equal(sensor.apiVersion, 'argoproj.io/v1alpha1');
    const [dependency, ...moreDependencies] = arr(at(sensor.doc, 'spec', 'dependencies'));
    assert.deepEqual(moreDependencies, []);
    const source = only(argo, 'EventSource', str(obj(dependency).eventSourceName));
    assert.equal(source.apiVersion, 'argoproj.io/v1alpha1');
    assert.ok(
      isDoc(at(source.doc, 'spec', 'webhook', str(obj(dependency).eventName))),
      'the dependency names an event of the EventSource',
    );

    const [trigger, ...moreTriggers] = arr(at(sensor.doc, 'spec', 'triggers'));
    assert.deepEqual(moreTriggers, []);
    const http = obj(at(trigger, 'template', 'http'));
    assert.equal(
      http.url,
      `http://${service.name}.${service.namespace}.svc.cluster.local`,
      'the Knative Service’s cluster-local address',
    );
    assert.equal(http.method, 'POST');
    const headers = obj(http.headers);
    assert.equal(headers['Content-Type'], 'application/json');
    assert.equal(headers['ce-specversion'], '1.0');
    assert.equal(headers['ce-type'], PENDING_TYPE);
    assert.ok(str(headers['ce-source']).length > 0, 'ce-source');
    const dependencyName = obj(dependency).name;
    assert.deepEqual(arr(http.parameters), [
      { src: { dependencyName, contextKey: 'id' }, dest: 'headers.ce-id' },
    ]);
    const payload = arr(http.payload).map((p) => [at(p, 'dest'), at(p, 'src', 'dataKey')]);
    assert.deepEqual(payload[0], ['gateway_name', 'body.gateway_name']);
    for (const p of arr(http.payload)) assert.equal(at(p, 'src', 'dependencyName'), dependencyName);
    assert.deepEqual(at(trigger, 'policy', 'status', 'allow'), [200, 202]);
    assert.ok(Number(at(trigger, 'retryStrategy', 'steps')) > 1, 'retried');
  });

  it('every Backoff field is one Argo can parse (factor and jitter numbers, durations Go durations)', () => {
    const found = argo.flatMap((manifest) =>
      findBackoffs(manifest.doc).map(({ path, backoff }) => ({ manifest, path, backoff })),
    );
    assert.ok(found.length >= 1, 'the Sensor’s retryStrategy is found');
    const problems = found.flatMap(({ manifest, path, backoff }) =>
      backoffProblems(backoff, `${manifest.file} ${manifest.kind}/${manifest.name} ${path}`),
    );
    assert.deepEqual(problems, []);
  });

  it('the Backoff check refuses what Argo cannot parse', () => {
    assert.equal(backoffProblems({ factor: '2', jitter: 0.1 }, 'x').length, 1);
    assert.match(backoffProblems({ factor: '2' }, 'x')[0] ?? '', /"2" is not an Amount/);
    assert.equal(backoffProblems({ duration: 1.5 }, 'x').length, 1);
    assert.equal(backoffProblems({ duration: '1 s' }, 'x').length, 1);
    assert.deepEqual(
      backoffProblems({ duration: '1m30s', factor: 2, jitter: 0.2, steps: 5 }, 'x'),
      [],
    );
    assert.deepEqual(backoffProblems({ duration: 1000000000 }, 'x'), []);
  });

  it('a SinkBinding gives the function K_SINK, to a sink the example deploys', () => {
    const binding = only(argo, 'SinkBinding');
    assert.deepEqual(at(binding.doc, 'spec', 'subject'), {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      name: service.name,
    });
    assert.equal(binding.namespace, service.namespace);
    const sink = obj(at(binding.doc, 'spec', 'sink', 'ref'));
    assert.ok(argo.some((m) => m.kind === sink.kind && m.name === sink.name));
  });
});

describe('exposure and load limits (issue 9)', () => {
  const visibility = 'networking.knative.dev/visibility';

  it('the Service is cluster-local, in service.yaml and through func.yaml deploy.labels', () => {
    assert.equal(obj(at(service.doc, 'metadata', 'labels'))[visibility], 'cluster-local');
    const labels = arr(at(funcYaml, 'deploy', 'labels')).map((entry) => [
      str(obj(entry).key),
      str(obj(entry).value),
    ]);
    assert.deepEqual(Object.fromEntries(labels)[visibility], 'cluster-local');
  });

  it('bounds the requests a pod handles at once, and the size of each', () => {
    const concurrency = at(service.doc, 'spec', 'template', 'spec', 'containerConcurrency');
    assert.ok(
      typeof concurrency === 'number' && concurrency > 0 && concurrency <= 100,
      String(concurrency),
    );
    const bodyLimit = serviceEnv.find((e) => e.name === 'FUNC_BODY_LIMIT')?.value;
    assert.equal(bodyLimit, String(DEFAULT_BODY_LIMIT));
  });

  it('caps every resource a client pod may use, ephemeral storage included', () => {
    for (const resource of ['cpu', 'memory', 'ephemeral-storage']) {
      assert.ok(config.clientResources.limits[resource], `CLIENT_LIMITS sets no ${resource}`);
    }
  });

  it('the optional NetworkPolicy selects the function’s pods and admits only the Knative data plane', () => {
    const policy = only(optional, 'NetworkPolicy');
    assert.equal(policy.namespace, service.namespace);
    assert.deepEqual(at(policy.doc, 'spec', 'podSelector', 'matchLabels'), {
      'serving.knative.dev/service': service.name,
    });
    assert.deepEqual(at(policy.doc, 'spec', 'policyTypes'), ['Ingress']);
    const namespaces = arr(at(policy.doc, 'spec', 'ingress', 0, 'from')).map((peer) =>
      str(at(peer, 'namespaceSelector', 'matchLabels', 'kubernetes.io/metadata.name')),
    );
    assert.deepEqual(namespaces.sort(), ['knative-eventing', 'knative-serving', 'kourier-system']);
    assert.equal(arr(at(policy.doc, 'spec', 'ingress')).length, 1, 'one rule, no other peers');
  });
});
