// Cross-checks that fail when code and manifests drift apart: the event types and Triggers, the API
// calls and the Role, the configuration variables, health paths, the gateway label and annotation.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { CONFIG_VARIABLES, DEFAULTS } from '../../src/config/config.ts';
import { RUNTIME_VARIABLES } from '../../src/edge/http-guard.ts';
import { PENDING_TYPE } from '../../src/events/pending-request.ts';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { SINK_VARIABLES } from '../../src/events/sink.ts';
import {
  RELEASE_DONE_TYPE,
  RELEASE_FAILED_TYPE,
  RELEASE_TYPE,
} from '../../src/handlers/release.ts';
import {
  PING_TYPE,
  SWEEP_DONE_TYPE,
  SWEEP_FAILED_TYPE,
  SWEEP_TYPE,
} from '../../src/handlers/sweep.ts';
import { API_CALLS } from '../../src/kube/client.ts';
import { PROCESS_VARIABLES } from '../../testbed/deployed-env.ts';
import {
  addressableAudience,
  childName,
  triggerOidcServiceAccount,
} from '../../testbed/eventing-names.ts';
import { arr, at, obj, str } from '../support/manifests.ts';
import {
  assertSameNames,
  config,
  container,
  funcYaml,
  gatewayValues,
  HEALTH,
  kustomized,
  loadDeployment,
  mebibytes,
  only,
  RSS_SHARE_OF_LIMIT,
  service,
  serviceEnv,
} from './support.ts';

before(loadDeployment);

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

  it('with OIDC, the function expects the audience its Triggers name, from exactly their ServiceAccounts', () => {
    const triggers = kustomized.filter(
      (m) =>
        m.kind === 'Trigger' && at(m.doc, 'spec', 'subscriber', 'ref', 'name') === service.name,
    );
    const oidc = config.oidc;
    assert.ok(oidc, 'deploy/service.yaml sets OIDC_AUDIENCE');
    // Eventing's own form of a Knative Service's audience, which it would use had Serving
    // announced one.
    assert.equal(
      oidc.audience,
      addressableAudience('serving.knative.dev', 'Service', str(service.namespace), service.name),
    );
    for (const trigger of triggers) {
      assert.equal(at(trigger.doc, 'spec', 'subscriber', 'audience'), oidc.audience, trigger.name);
    }
    assert.deepEqual(
      [...oidc.subjects].sort(),
      triggers
        .map(
          (trigger) =>
            `system:serviceaccount:${str(trigger.namespace)}:${triggerOidcServiceAccount(trigger.name)}`,
        )
        .sort(),
    );
    assert.deepEqual([...oidc.namespaces], [], 'no whole namespace is let in');
  });

  it('Eventing’s ServiceAccount names, as its own tests give them (pkg/auth/serviceaccount_test.go)', () => {
    assert.equal(
      triggerOidcServiceAccount('my-trigger'),
      'my-trigger-oidc-eventing.knative.dev-trigger',
    );
    assert.equal(childName('name', '-oidc-group-kind'), 'name-oidc-group-kind');
    assert.equal(
      childName(
        'my-loooooooooooooooooooooooooooooooooooooog-Broker',
        '-oidc-eventing.knative.dev-Broker',
      ).toLowerCase(),
      'my-looooooooooooooooooooooooooo2dfc2a3825b8d82077b0f25518b36884',
    );
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
    const pingSource = `/apis/v1/namespaces/${ping.namespace}/pingsources/${ping.name}`;
    assert.equal(obj(at(pingTrigger?.doc, 'spec', 'filter', 'attributes')).source, pingSource);
    // The function serves the PingSource's type from that source only.
    assert.equal(serviceEnv.find((e) => e.name === 'PING_SOURCE')?.value, pingSource);
    assert.equal(DEFAULTS.pingSource, pingSource);
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

  it('the Role grants exactly the API calls the code makes (src/kube/client.ts API_CALLS)', () => {
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

  it('service.yaml sets exactly the variables src/config/config.ts CONFIG_VARIABLES reads, to valid values', () => {
    assertSameNames(
      serviceEnv.map((e) => e.name),
      [...CONFIG_VARIABLES, ...RUNTIME_VARIABLES, ...PROCESS_VARIABLES],
      'deploy/service.yaml env vs CONFIG_VARIABLES (src/config/config.ts), RUNTIME_VARIABLES and PROCESS_VARIABLES (testbed/deployed-env.ts)',
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
      'func.yaml run.envs vs CONFIG_VARIABLES (src/config/config.ts), RUNTIME_VARIABLES and PROCESS_VARIABLES (testbed/deployed-env.ts)',
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

  it('MALLOC_ARENA_MAX keeps glibc to one malloc arena', () => {
    // glibc gives each thread that mallocs an arena of its own, up to 8 per core: V8's workers
    // and libuv's each kept 2 to 12 MB of freed memory, which the hostile soak's 160 MB could
    // not afford; two arenas kept some of it (BENCHMARKS.md).
    const arenas = serviceEnv.find((e) => e.name === 'MALLOC_ARENA_MAX')?.value;
    assert.equal(arenas, '1', 'MALLOC_ARENA_MAX in deploy/service.yaml');
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
