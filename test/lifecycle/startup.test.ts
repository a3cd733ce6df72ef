// Start-up: configuration errors stop the function with a clear message; the client is found
// through a kubeconfig file or, in a cluster, through the service-account files.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { describeCalls } from '../../src/kube/access-check.ts';
import { API_CALLS } from '../../src/kube/client.ts';
import {
  CAN_UNSHARE,
  runUntilExit,
  startFunction,
  withServiceAccountDir,
} from '../../testbed/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';

let server: KubeApiServer;
let workDir: string;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-startup-'));
  server = await startKubeApiServer({ namespaces: ['default', 'team-a'] });
});

after(async () => {
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('start-up', () => {
  it('stops with a non-zero exit and names the variable when the configuration is bad', async () => {
    const kubeconfig = await server.writeKubeconfig(workDir);
    const { code, output } = await runUntilExit({
      KUBECONFIG: kubeconfig,
      CLIENT_NAMESPACE: 'Bad_Namespace',
    });
    assert.notEqual(code, 0);
    assert.match(output, /CLIENT_NAMESPACE: "Bad_Namespace" is not a namespace name/);
  });

  it('prints every problem on one plain line each, and exits 1', async () => {
    const { code, output } = await runUntilExit({
      KUBECONFIG: await server.writeKubeconfig(workDir),
      CLIENT_NAMESPACE: 'Bad_Namespace',
      API_TIMEOUT_MS: 'soon',
      WAIT_FOR: 'done',
    });
    assert.equal(code, 1);
    const lines = output.trim().split('\n');
    assert.equal(lines.length, 3, output);
    assert.match(lines[0] ?? '', /cannot start: CLIENT_NAMESPACE: "Bad_Namespace"/);
    assert.match(
      lines[1] ?? '',
      /cannot start: API_TIMEOUT_MS: "soon" is not a whole number of milliseconds/,
    );
    assert.match(
      lines[2] ?? '',
      /cannot start: WAIT_FOR: "done" is not "created", "scheduled" or "ready"/,
    );
    assert.doesNotMatch(
      output,
      /\^| {4}at |Node\.js v|index\.(js|ts):/,
      'no stack, caret or banner',
    );
  });

  it('names the kubeconfig file and KUBECONFIG when the file is not YAML', async () => {
    const file = join(workDir, 'not-yaml');
    await writeFile(file, 'apiVersion: v1\nclusters: [\n  - a: b: c\n');
    const { code, output } = await runUntilExit({ KUBECONFIG: file });
    assert.equal(code, 1);
    assert.equal(output.trim().split('\n').length, 1, output);
    assert.match(output, new RegExp(`KUBECONFIG: ${file} is not a valid kubeconfig: .*\\(3:3\\)`));
  });

  it('says which values the runtime’s FUNC_LOG_LEVEL and FUNC_PORT accept', async () => {
    const { code, output } = await runUntilExit({
      KUBECONFIG: await server.writeKubeconfig(workDir),
      FUNC_LOG_LEVEL: 'verbose',
      FUNC_PORT: 'eighty',
    });
    assert.equal(code, 1);
    assert.match(
      output,
      /FUNC_LOG_LEVEL: "verbose" is not one of fatal, error, warn, info, debug, trace, silent/,
    );
    assert.match(output, /FUNC_PORT: "eighty" is not a whole number from 1 to 65535/);
    assert.equal(output.trim().split('\n').length, 2, output);
  });

  it('logs the settings in effect in one line, and warns on risky ones and former names', async () => {
    const fn = await startFunction({
      env: {
        KUBECONFIG: await server.writeKubeconfig(workDir),
        CLIENT_NAMESPACE: 'team-a',
        API_TIMEOUT_MS: '3000',
        EVENT_DEADLINE_MS: '2000',
        // The default: the check on (the test processes turn it off unless asked).
        REQUIRE_ROUTING: '',
        // A setting's former name still works, and says so once.
        GRACE_PERIOD_SECONDS: '5',
      },
    });
    try {
      const output = fn.output();
      assert.match(
        output,
        /warning: GRACE_PERIOD_SECONDS is the former name of CLIENT_GRACE_PERIOD_SECONDS: it is read as CLIENT_GRACE_PERIOD_SECONDS; rename it\n/,
      );
      assert.match(
        output,
        /pods go to namespace "team-a" through https:\/\/127\.0\.0\.1:\d+ \(.*kubeconfig\); any gateway; done once the pod is created \(WAIT_FOR=created\) and routed \(init container gateway-init and container gateway-sidecar from the gateway's webhook\); deadlines: API call 3000 ms, event 2000 ms, shutdown grace 20000 ms; replies in the HTTP response/,
      );
      assert.match(output, /warning: GATEWAYS is empty: a pod is made for any gateway name/);
      assert.match(
        output,
        /warning: EVENT_DEADLINE_MS \(2000 ms\) is shorter than API_TIMEOUT_MS \(3000 ms\)/,
      );
      assert.doesNotMatch(output, /REQUIRE_ROUTING/);
    } finally {
      await fn.stop();
    }
  });

  it('says when the routing check is off, and warns', async () => {
    const fn = await startFunction({
      env: { KUBECONFIG: await server.writeKubeconfig(workDir), REQUIRE_ROUTING: 'false' },
    });
    try {
      const output = fn.output();
      assert.match(
        output,
        /done once the pod is created \(WAIT_FOR=created\) whether routed or not \(REQUIRE_ROUTING=false\)/,
      );
      assert.match(
        output,
        /warning: REQUIRE_ROUTING=false: a pod is done even without the gateway's containers/,
      );
    } finally {
      await fn.stop();
    }
  });

  it('says a missing Events permission loses only the Kubernetes Event, never a reply', async () => {
    const denying = await startKubeApiServer({
      namespaces: ['default'],
      authorize: (request) => !(request.resource === 'events' && request.verb === 'create'),
    });
    const fn = await startFunction({
      env: { KUBECONFIG: await denying.writeKubeconfig(workDir), GATEWAYS: 'foo' },
    });
    try {
      const output = fn.output();
      assert.match(
        output,
        /warning: the function's service account may not create events in namespace "default", which it needs to report on each client pod .*: until its Role grants it \(deploy\/rbac\.yaml\), its Kubernetes Events are not recorded \(replies are unaffected/,
      );
      assert.doesNotMatch(output, /Forbidden/);
    } finally {
      await fn.stop();
      await denying.close();
    }
  });

  it('warns at start when the service account may not make a call it needs', async () => {
    const denying = await startKubeApiServer({
      namespaces: ['default'],
      authorize: (request) => request.verb !== 'watch',
    });
    const fn = await startFunction({
      env: { KUBECONFIG: await denying.writeKubeconfig(workDir), GATEWAYS: 'foo' },
    });
    try {
      const output = fn.output();
      assert.match(
        output,
        /warning: the function's service account may not watch pods in namespace "default", which it needs to WAIT_FOR=scheduled.*: until its Role grants it \(deploy\/rbac\.yaml\), the requests that need it fail with Forbidden/,
      );
      const others = API_CALLS.filter((call) => call.verb !== 'watch');
      assert.ok(
        output.includes(
          `access check in namespace "default": may ${describeCalls(others)}; may NOT watch pods`,
        ),
        output,
      );
      assert.doesNotMatch(output, /GATEWAYS is empty/);
      const metrics = await (await fetch(`${fn.url}/metrics`)).text();
      assert.match(metrics, /podgateway_api_access_allowed\{verb="watch",resource="pods"[^}]*\} 0/);
      assert.match(
        metrics,
        /podgateway_api_access_allowed\{verb="create",resource="pods"[^}]*\} 1/,
      );
      // Readiness did not wait for it, and the reviews were the API server's only requests.
      assert.deepEqual(
        [...new Set(denying.requests.map((request) => `${request.method} ${request.path}`))],
        ['POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews'],
      );
    } finally {
      await fn.stop();
      await denying.close();
    }
  });

  it('stops with a non-zero exit when no Kubernetes configuration is found', async () => {
    const { code, output } = await runUntilExit({ KUBECONFIG: join(workDir, 'missing') });
    assert.notEqual(code, 0);
    assert.match(output, /no Kubernetes configuration: .*missing not found/);
  });

  it('creates pods through the kubeconfig named by KUBECONFIG, in the default namespace', async () => {
    const fn = await startFunction({ env: { KUBECONFIG: await server.writeKubeconfig(workDir) } });
    try {
      const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(reply.event?.data?.namespace, 'default');
      assert.equal(server.pods('default').length, 1);
    } finally {
      await fn.stop();
      server.reset();
    }
  });
});

// The in-cluster path reads /var/run/secrets/kubernetes.io/serviceaccount, the real path: the
// function runs in a private mount namespace where our files are bound there.

describe('in a cluster (service-account token and CA, KUBERNETES_SERVICE_HOST/PORT)', {
  skip: !CAN_UNSHARE && 'unshare --mount is not permitted here',
}, () => {
  it('authenticates with the token file, trusts ca.crt, and defaults to its own namespace', async () => {
    const accountDir = join(workDir, 'serviceaccount');
    await mkdir(accountDir, { recursive: true });
    await server.writeServiceAccountDir(accountDir, 'team-a');
    const fn = await startFunction({
      env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(server.port) },
      wrap: withServiceAccountDir(accountDir),
    });
    try {
      const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'structured');
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(reply.event?.data?.namespace, 'team-a');
      assert.equal(server.pods('team-a').length, 1);
      assert.ok(
        server.requests.some(
          (request) =>
            request.method === 'POST' && request.path.endsWith('/pods') && request.status === 201,
        ),
      );
    } finally {
      await fn.stop();
    }
  });
});
