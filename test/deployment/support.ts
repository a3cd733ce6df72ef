// The deployment the tests of test/deployment/ check: deploy/, the Argo Events example, func.yaml and
// the Helm values of the gateways, read once per test file by loadDeployment (in a before hook).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type ProvisionerConfig, parseConfig } from '../../src/config/config.ts';
import { PROJECT_ROOT } from '../../testbed/function-process.ts';
import {
  arr,
  at,
  DEPLOY_DIR,
  type Doc,
  type Manifest,
  obj,
  readManifests,
  readYaml,
  str,
  yamlFilesIn,
} from '../support/manifests.ts';

/** Outside deploy/: it takes deploy/ as its base (kustomize refuses a base that holds its overlay). */
export const ARGO_DIR = join(PROJECT_ROOT, 'examples', 'argo-events');
/** The kinds of deploy/ that the Argo Events example leaves out: it replaces the Broker. */
export const BROKER_KINDS = ['Broker', 'Trigger'];
export const DEAD_LETTER_SINK = 'dead-letters';
export const HELM_VALUES = /^pod-gateway-(.+)-values\.yaml$/;
/** In deploy/ but applied on its own (`kubectl apply -f`): the dashboard, the NetworkPolicy. */
export const OPTIONAL = [
  'cloudevents-player.yaml',
  'network-policy.yaml',
  'eventtypes.yaml',
  'request-reply.yaml',
];
/** The health endpoints of faas-js-runtime. */
export const HEALTH = { liveness: '/health/liveness', readiness: '/health/readiness' };
/** The share of the container's memory limit the function's RSS may reach (BENCHMARKS.md). */
export const RSS_SHARE_OF_LIMIT = 0.6;

/** A Kubernetes memory quantity (`384Mi`, `400M`, `1Gi`) in MiB. */
export function mebibytes(quantity: string): number {
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
export function difference(actual: Iterable<string>, expected: Iterable<string>): string {
  const have = new Set(actual);
  const want = new Set(expected);
  const missing = [...want].filter((name) => !have.has(name));
  const extra = [...have].filter((name) => !want.has(name));
  return `missing: ${missing.join(', ') || '(none)'}; extra: ${extra.join(', ') || '(none)'}`;
}

export function assertSameNames(actual: string[], expected: readonly string[], what: string): void {
  assert.deepEqual(
    [...actual].sort(),
    [...expected].sort(),
    `${what}: ${difference(actual, expected)}`,
  );
}

export function only(manifests: Manifest[], kind: string, name?: string): Manifest {
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

export function envOf(container: unknown): Array<{ name: string; value: string }> {
  return arr(obj(container).env).map((entry) => ({
    name: str(obj(entry).name),
    value: str(obj(entry).value),
  }));
}

// Live bindings: set by loadDeployment, read by the tests after their before hook ran.
export let kustomized: Manifest[];
export let optional: Manifest[];
export let argo: Manifest[];
export let funcYaml: Doc;
export let gatewayValues: Array<{ gateway: string; file: string; values: Doc }>;
/** The Knative Service of the function, its container, and the configuration it sets. */
export let service: Manifest;
export let container: Doc;
export let serviceEnv: Array<{ name: string; value: string }>;
export let config: ProvisionerConfig;

export async function loadDeployment(): Promise<void> {
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
}
