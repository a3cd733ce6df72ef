// The manifests of deploy/: the kustomization lists them, each validates against its official
// schema, namespaces and Helm values are as documented, and kubectl kustomize renders them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';
import {
  arr,
  at,
  DEPLOY_DIR,
  hasSchema,
  isDoc,
  obj,
  readYaml,
  str,
  validateManifest,
  yamlFilesIn,
} from '../support/manifests.ts';
import {
  ARGO_DIR,
  argo,
  assertSameNames,
  BROKER_KINDS,
  config,
  container,
  DEAD_LETTER_SINK,
  funcYaml,
  gatewayValues,
  HELM_VALUES,
  kustomized,
  loadDeployment,
  OPTIONAL,
  only,
  optional,
  service,
  serviceEnv,
} from './support.ts';

before(loadDeployment);

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

  it('`kubectl kustomize deploy/` sets the image of deploy/kustomization.yaml `images:`', {
    skip: noKubectl,
  }, async () => {
    const kustomization = await readYaml(join(DEPLOY_DIR, 'kustomization.yaml'));
    const [entry, ...more] = arr(kustomization.images).map(obj);
    assert.deepEqual(more, [], 'one image');
    assert.equal(entry?.name, str(container.image), 'the entry names the Service’s image');
    const result = spawnSync('kubectl', ['kustomize', DEPLOY_DIR], { encoding: 'utf8' });
    const images = [...result.stdout.matchAll(/^\s+image: (\S+)$/gm)].map((match) => match[1]);
    assert.ok(images.includes(`${str(entry?.newName)}:${str(entry?.newTag)}`), images.join(' '));
  });

  it('`kubectl kustomize examples/argo-events/` renders deploy/ without the Broker, and the example', {
    skip: noKubectl,
  }, () => {
    const kept = kustomized.filter(
      (m) => !BROKER_KINDS.includes(m.kind) && m.name !== DEAD_LETTER_SINK,
    );
    const expected = [...kept, ...argo].map((m): [string, string] => [m.kind, m.name]);
    assert.deepEqual(key(render(ARGO_DIR)), key(expected));
    const result = spawnSync('kubectl', ['kustomize', ARGO_DIR], { encoding: 'utf8' });
    const ping = parseAllDocuments(result.stdout)
      .map((document): unknown => document.toJS())
      .filter(isDoc)
      .find((doc) => doc.kind === 'PingSource');
    assert.deepEqual(at(ping, 'spec', 'sink', 'ref'), {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      name: service.name,
    });
  });
});
