// The rules behind the Kubernetes API test server, as pure functions: request attributes, RBAC,
// selectors, validation, QoS.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { podQosClass } from '../../testbed/kube-api-server/pods.ts';
import { requestInfo } from '../../testbed/kube-api-server/routing.ts';
import { parseFieldSelector, parseLabelSelector } from '../../testbed/kube-api-server/selectors.ts';
import { authorizerFromRules } from '../../testbed/kube-api-server/server.ts';
import { type PodObject, validatePodCreate } from '../../testbed/kube-api-server/validation.ts';

describe('the rules behind the server', () => {
  it('derives request attributes as the API server does', () => {
    const q = (text = '') => new URLSearchParams(text);
    const attributes = (method: string, path: string, query = q()) => {
      const info = requestInfo(method, path, query);
      return info.kind === 'resource' ? info.attributes : info;
    };
    assert.deepEqual(attributes('GET', '/api/v1/namespaces/a/pods/p/status'), {
      verb: 'get',
      resource: 'pods',
      apiGroup: '',
      namespace: 'a',
      name: 'p',
      subresource: 'status',
    });
    assert.equal(attributes('GET', '/api/v1/namespaces/a/pods', q('watch=true')).verb, 'watch');
    assert.equal(attributes('GET', '/api/v1/watch/namespaces/a/pods').verb, 'watch');
    assert.equal(attributes('DELETE', '/api/v1/namespaces/a/pods').verb, 'deletecollection');
    assert.deepEqual(
      attributes('GET', '/api/v1/namespaces/a/pods', q('fieldSelector=metadata.name%3Dp')),
      {
        verb: 'list',
        resource: 'pods',
        apiGroup: '',
        namespace: 'a',
        name: 'p',
      },
    );
    assert.deepEqual(attributes('GET', '/api/v1/pods').verb, 'list');
    assert.deepEqual(attributes('GET', '/apis/apps/v1/namespaces/a/deployments'), {
      verb: 'list',
      resource: 'deployments',
      apiGroup: 'apps',
      namespace: 'a',
    });
    assert.deepEqual(attributes('GET', '/version'), {
      kind: 'nonResource',
      path: '/version',
      verb: 'get',
    });
  });

  it('applies RBAC rules with wildcards, subresources and resource names', () => {
    const base = { apiGroup: '', resource: 'pods', namespace: 'ns' };
    const allow = authorizerFromRules(
      [
        { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get'] },
        { apiGroups: ['*'], resources: ['pods/status'], verbs: ['*'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['delete'], resourceNames: ['only'] },
      ],
      'ns',
    );
    assert.equal(allow({ ...base, verb: 'create' }), true);
    assert.equal(allow({ ...base, verb: 'list' }), false);
    assert.equal(allow({ ...base, verb: 'get', subresource: 'status', name: 'p' }), true);
    assert.equal(allow({ ...base, verb: 'get', subresource: 'log', name: 'p' }), false);
    assert.equal(allow({ ...base, verb: 'delete', name: 'only' }), true);
    assert.equal(allow({ ...base, verb: 'delete', name: 'other' }), false);
    assert.equal(allow({ ...base, verb: 'create', namespace: 'elsewhere' }), false);
    assert.equal(allow({ apiGroup: '', resource: 'pods', verb: 'list' }), false);
    const everything = authorizerFromRules(
      [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
      'ns',
    );
    assert.equal(everything({ ...base, verb: 'watch', subresource: 'status' }), true);
  });

  it('parses label and field selectors', () => {
    const labels = parseLabelSelector('a=1,b!=2,c,!d,e in (x, y),f notin (z)');
    assert.ok(labels.ok);
    const match = labels.value;
    assert.equal(match({ a: '1', c: '', e: 'y' }), true);
    assert.equal(match({ a: '1', b: '2', c: '', e: 'y' }), false);
    assert.equal(match({ a: '1', c: '', d: '', e: 'y' }), false);
    assert.equal(match({ a: '1', c: '', e: 'y', f: 'z' }), false);
    assert.equal(parseLabelSelector('a=b=c').ok, false);
    const fields = parseFieldSelector('metadata.name=p,status.phase!=Running');
    assert.ok(fields.ok);
    assert.equal(
      fields.value.matches({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } }),
      true,
    );
    assert.deepEqual(parseFieldSelector('spec.foo=x'), {
      ok: false,
      message: 'field label not supported: spec.foo',
    });
  });

  it('validates metadata as the API server does', () => {
    const messages = (p: PodObject) => validatePodCreate(p).map((e) => `${e.field}: ${e.type}`);
    const spec = { containers: [{ name: 'c', image: 'i' }] };
    assert.deepEqual(messages({ apiVersion: 'v1', kind: 'Pod', metadata: {}, spec }), [
      'metadata.name: FieldValueRequired',
    ]);
    assert.deepEqual(
      messages({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a'.repeat(254) }, spec }),
      ['metadata.name: FieldValueInvalid'],
    );
    assert.deepEqual(
      messages({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'ok',
          labels: { 'example.com/Good_Key': 'v', 'bad/key/parts': 'v', ['x'.repeat(64)]: 'v' },
          annotations: { big: 'x'.repeat(256 * 1024) },
        },
        spec,
      }),
      [
        'metadata.labels: FieldValueInvalid',
        'metadata.labels: FieldValueInvalid',
        'metadata.annotations: FieldValueTooLong',
      ],
    );
    const [tooLong] = validatePodCreate({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'ok', annotations: { big: 'x'.repeat(256 * 1024) } },
      spec,
    });
    assert.equal(tooLong?.detail, 'may not be more than 262144 bytes');
  });

  it('validates resources and computes QoS classes', () => {
    const withResources = (resources: Record<string, Record<string, string>>): PodObject => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'r' },
      spec: { containers: [{ name: 'c', image: 'i', resources }] },
    });
    const errors = validatePodCreate(
      withResources({ limits: { cpu: '1', memory: 'lots' }, requests: { cpu: '2', gpu: '1' } }),
    );
    assert.deepEqual(
      errors.map((e) => [e.field, e.detail]),
      [
        [
          'spec.containers[0].resources.limits[memory]',
          "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ],
        ['spec.containers[0].resources.requests', 'must be less than or equal to cpu limit of 1'],
        [
          'spec.containers[0].resources.requests[gpu]',
          'must be a standard resource for containers',
        ],
      ],
    );
    const qos = (resources: Record<string, Record<string, string>>) => {
      const spec = withResources(resources).spec;
      assert.ok(spec);
      return podQosClass(spec);
    };
    assert.equal(qos({}), 'BestEffort');
    assert.equal(qos({ requests: { cpu: '100m' } }), 'Burstable');
    assert.equal(
      qos({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } }),
      'Guaranteed',
    );
    assert.equal(
      qos({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } }),
      'Burstable',
    );
  });
});
