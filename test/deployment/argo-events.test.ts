// The Argo Events example: its Sensor, its Backoffs, its SinkBinding.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { PENDING_TYPE } from '../../src/events/pending-request.ts';
import { backoffProblems, findBackoffs } from '../support/argo-backoff.ts';
import { arr, at, isDoc, obj, str } from '../support/manifests.ts';
import { argo, loadDeployment, only, service } from './support.ts';

before(loadDeployment);

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
