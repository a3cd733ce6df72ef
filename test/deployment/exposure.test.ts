// Exposure and load limits of the deployed function (issue 9).
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { DEFAULT_BODY_LIMIT } from '../../src/edge/plugin.ts';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';
import { arr, at, obj, readManifests, str } from '../support/manifests.ts';
import {
  config,
  funcYaml,
  loadDeployment,
  only,
  optional,
  service,
  serviceEnv,
} from './support.ts';

before(loadDeployment);

/** Every YAML file under `dir`, at any depth. */
async function yamlFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

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

  it('every Knative Service of deploy/ and examples/ is cluster-local: none is reachable from outside', async () => {
    const services: string[] = [];
    const public_: string[] = [];
    for (const dir of ['deploy', 'examples']) {
      for (const file of await yamlFilesUnder(join(PROJECT_ROOT, dir))) {
        for (const manifest of await readManifests(file)) {
          if (manifest.apiVersion !== 'serving.knative.dev/v1' || manifest.kind !== 'Service') {
            continue;
          }
          const where = `${relative(PROJECT_ROOT, file)}: ${manifest.name}`;
          services.push(where);
          const labels = obj(at(manifest.doc, 'metadata', 'labels') ?? {});
          if (labels[visibility] !== 'cluster-local') public_.push(where);
        }
      }
    }
    // The function, the dead letter sink, the dashboard, the Argo Events example's reply display.
    assert.ok(services.length >= 4, services.join(', '));
    assert.deepEqual(public_, [], 'public Knative Services');
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
