// The local sandbox as a newcomer uses it: `npm run dev` in one terminal, `npm run invoke` in
// another, Ctrl-C to stop. Run through npm, as the README says.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/config.ts';
import { RELEASE_TYPE } from '../../src/events/event-types.ts';
import { readRequest } from '../../src/events/pending-request.ts';
import { readRelease } from '../../src/handlers/release.ts';
import { eventually } from '../../testbed/eventually.ts';
import { freePort, PROJECT_ROOT } from '../../testbed/function-process.ts';
import { PRELOAD_FLAGS, PRELOAD_NODE_OPTIONS } from '../support/preloads.ts';

const SAMPLES_DIR = join(PROJECT_ROOT, 'samples');
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const BANNER =
  'LOCAL SANDBOX: pods are created in an in-memory Kubernetes API test server, not a cluster';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function collect(child: ChildProcess): () => string {
  let output = '';
  const add = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => output;
}

/** `npm run invoke -- ...args`, to its end. */
async function invoke(port: number, ...args: string[]): Promise<Run> {
  const child = spawn('npm', ['run', '--silent', 'invoke', '--', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, FUNC_PORT: String(port), NODE_OPTIONS: PRELOAD_NODE_OPTIONS },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = await once(child, 'exit');
  clearTimeout(timer);
  return { code: code as number | null, output: output() };
}

async function waitFor(
  output: () => string,
  child: ChildProcess,
  pattern: RegExp,
  ms = 60_000,
): Promise<void> {
  const seen = () => {
    if (pattern.test(output())) return true;
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    return false;
  };
  await eventually(String(pattern), seen, { timeoutMs: ms, intervalMs: 100 }).catch(
    (error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}:\n${output()}`);
    },
  );
}

describe('the samples', () => {
  it('are event data, as `func invoke --file` sends it, and read as the README says', async () => {
    const config = parseConfig({ GATEWAYS: 'foo,bar', CLIENT_NAMESPACE: 'client-system' });
    const files = (await readdir(SAMPLES_DIR)).filter((file) => file.endsWith('.json')).sort();
    assert.deepEqual(files, [
      'pending-bar.json',
      'pending-foo.json',
      'pending-unknown-gateway.json',
      'release-foo.json',
      'release-invalid-name.json',
    ]);
    const kinds: Record<string, string> = {};
    for (const file of files) {
      const data: unknown = JSON.parse(await readFile(join(SAMPLES_DIR, file), 'utf8'));
      const event = { id: '1', source: '/samples', data };
      const verdict = file.startsWith('release-')
        ? readRelease({ ...event, type: RELEASE_TYPE }, config)
        : readRequest({ ...event, type: 'io.podgateway.client.pending' }, config);
      kinds[file] = verdict.kind === 'failed' ? verdict.reason : verdict.kind;
    }
    assert.deepEqual(kinds, {
      'pending-bar.json': 'accepted',
      'pending-foo.json': 'accepted',
      'pending-unknown-gateway.json': 'UnknownGateway',
      'release-foo.json': 'accepted',
      'release-invalid-name.json': 'InvalidPodName',
    });
  });
});

describe('npm run dev, then npm run invoke', () => {
  let port: number;
  let dev: ChildProcess;
  let devOutput: () => string;
  /** The sandbox's TMPDIR: removed in `after`, even when the sandbox had to be killed. */
  let sandboxTmp: string;

  before(async () => {
    port = await freePort();
    sandboxTmp = await mkdtemp(join(tmpdir(), 'provisioner-dev-test-'));
    // Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
    // WAIT_FOR=ready, and a gateway whose init container the simulated kubelet fails: the
    // sandbox's whole pod life, as the README shows it; and each event's trace.
    const args = ['--port', String(port), '--fail-init', 'broken', '--traces'];
    dev = spawn('npm', ['run', 'dev', '--', ...args], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        WAIT_FOR: 'ready',
        GATEWAYS: 'foo,bar,broken',
        TMPDIR: sandboxTmp,
        NODE_OPTIONS: PRELOAD_NODE_OPTIONS,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    devOutput = collect(dev);
    await waitFor(devOutput, dev, /Ctrl-C stops the function and the sandbox/);
  });

  after(async () => {
    if (dev.exitCode === null && dev.signalCode === null && dev.pid !== undefined) {
      try {
        process.kill(-dev.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(sandboxTmp, { recursive: true, force: true });
  });

  it('says clearly that it is a local sandbox, and how to send an event', () => {
    const output = devOutput();
    assert.ok(output.includes(BANNER), output);
    assert.match(
      output,
      new RegExp(`npm run invoke -- --gateway foo --url http://localhost:${port}`),
    );
    assert.match(output, /curl -i http:\/\/localhost:\d+ .*ce-specversion/);
    assert.match(
      output,
      /export KUBECONFIG=\S+admin\/kubeconfig\n\s+kubectl get pods -n client-system/,
    );
    assert.match(output, /SIMULATED scheduler and kubelet: .*\n.*\(broken: init fails\)/);
    // func.yaml asks for the Broker's tokens; the sandbox, with no Broker, does not.
    assert.match(output, /tokens\s+not asked for \(OIDC_AUDIENCE/);
  });

  it('WAIT_FOR=ready: done with the pod IP once the kubelet readies it, failed when the init fails', async () => {
    const ready = await invoke(port, '--gateway', 'foo');
    assert.equal(ready.code, 0, ready.output);
    assert.match(ready.output, /pod_ip\s+10\.244\.\d+\.\d+/);
    assert.match(ready.output, /ready on node node-\d with IP 10\.244\./);
    const broken = await invoke(port, '--gateway', 'broken');
    assert.equal(broken.code, 1, broken.output);
    assert.match(
      broken.output,
      /✗ failed \(Error\): .*init container "gateway-init" exited with code 1/,
    );
    await waitFor(devOutput, dev, /\[sandbox\] pod client-[0-9a-f]{20}: Init:CrashLoopBackOff/);
  });

  it('invoke --gateway foo shows the done reply and exits 0; dev logs the pod', async () => {
    const { code, output } = await invoke(port, '--gateway', 'foo');
    assert.equal(code, 0, output);
    assert.match(output, /HTTP 200/);
    assert.match(output, /type\s+io\.podgateway\.client\.scheduling\.done/);
    const pod = /pod_name\s+(client-[0-9a-f]{20})/.exec(output)?.[1];
    assert.ok(pod, output);
    assert.match(
      output,
      /✓ done: pod client-\w+ created in namespace client-system for gateway foo/,
    );
    await waitFor(
      devOutput,
      dev,
      new RegExp(`pod created: client-system/${pod} \\(gateway foo\\)`),
    );
    // One readable line for the event, and the simulated kubelet's.
    await waitFor(
      devOutput,
      dev,
      new RegExp(
        `\\[sandbox\\] event \\S+ \\(from /local/npm-run-invoke, gateway foo\\): done, pod client-system/${pod} created`,
      ),
    );
    await waitFor(devOutput, dev, new RegExp(`\\[sandbox\\] pod ${pod}: Running \\(ready, `));
    assert.doesNotMatch(
      devOutput(),
      /incoming request|request completed/,
      'no runtime request lines',
    );
  });

  it('--traces prints each event’s trace, one line per span, the steps under the event', async () => {
    const { code, output } = await invoke(port, '--gateway', 'bar', '--id', 'dev-test-traced');
    assert.equal(code, 0, output);
    const pod = /pod_name\s+(client-[0-9a-f]{20})/.exec(output)?.[1];
    const event = new RegExp(
      `\\[trace\\] ([0-9a-f]{32}) process io\\.podgateway\\.client\\.pending [\\d.]+ ms OK cloudevents\\.event_id=dev-test-traced podgateway\\.gateway=bar k8s\\.pod\\.name=${pod} podgateway\\.outcome=created`,
    );
    await waitFor(devOutput, dev, event);
    const traceId = event.exec(devOutput())?.[1];
    for (const step of [
      'validate [\\d.]+ ms OK',
      'POST /api/v1/namespaces/\\{namespace\\}/pods [\\d.]+ ms OK http\\.response\\.status_code=201',
      'wait for ready [\\d.]+ ms OK podgateway\\.wait\\.result=ready',
    ]) {
      assert.match(devOutput(), new RegExp(`\\[trace\\] ${traceId}   └ ${step}`));
    }
  });

  it('shows a failed event and a 400 in one readable line each', async () => {
    await invoke(port, '--gateway', 'not a label!', '--id', 'dev-test-failed');
    await waitFor(
      devOutput,
      dev,
      /\[sandbox\] event dev-test-failed \(from \/local\/npm-run-invoke, gateway not a label!\): failed InvalidGatewayName: /,
    );
    const broken = await fetch(`http://localhost:${port}`, {
      method: 'POST',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'dev-test-broken',
        'ce-source': '/dev-test',
        'ce-type': 'io.podgateway.client.pending',
        'content-type': 'application/json',
      },
      body: '{"gateway_name": ',
    });
    assert.equal(broken.status, 400);
    await waitFor(
      devOutput,
      dev,
      /\[sandbox\] event dev-test-broken \(from \/dev-test\): refused \(BadRequest\): the body is not valid JSON/,
    );
  });

  it('prints no terminal sequence a request brought: an id or type that would clear the screen and forge a line', async () => {
    const esc = String.fromCharCode(0x1b);
    const forged = `${esc}[2J${esc}[H[sandbox] event x: done, pod clients/x created`;
    const refused = await fetch(`http://localhost:${port}`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: `dev-test-esc${forged}`,
        source: '/dev-test',
        type: `io.podgateway.client.pending${forged}`,
        data: { gateway_name: 'foo' },
      }),
    });
    assert.equal(refused.status, 400);
    await waitFor(
      devOutput,
      dev,
      /\[sandbox\] event dev-test-esc<U\+001B>\[2J<U\+001B>\[H\[sandbox\] /,
    );
    assert.ok(!devOutput().includes(esc), 'an ESC byte reached the terminal');
  });

  it('kubectl get pods there shows the STATUS column', {
    skip: !hasKubectl && 'no kubectl here',
  }, () => {
    const adminFile = /export KUBECONFIG=(\S+)/.exec(devOutput())?.[1] ?? '';
    const result = spawnSync(
      'kubectl',
      ['get', 'pods', '-n', 'client-system', '-L', 'setGateway'],
      {
        env: { ...process.env, KUBECONFIG: adminFile },
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+SETGATEWAY$/m);
    assert.match(result.stdout, /^client-\S+\s+(\d)\/\1\s+Running\s+0\s+\S+\s+(foo|bar)$/m);
  });

  it('gives the user a cluster-admin kubeconfig; the function keeps its Role', async () => {
    const adminFile = /export KUBECONFIG=(\S+)/.exec(devOutput())?.[1];
    assert.ok(adminFile, devOutput());
    const admin = new KubeConfig();
    admin.loadFromFile(adminFile);
    const api = admin.makeApiClient(CoreV1Api);
    const namespaces = await api.listNamespace();
    assert.ok(namespaces.items.some((namespace) => namespace.metadata?.name === 'client-system'));
    const events = await api.listNamespacedEvent({ namespace: 'client-system' });
    assert.ok(
      events.items.some((event) => event.reason === 'Provisioned'),
      'the Events the function reported on its pods',
    );
    const pods = await api.listNamespacedPod({ namespace: 'client-system' });
    // A pod of the tests above that the simulated kubelet made ready (the `broken` one is not).
    const first = pods.items.find((pod) => pod.status?.phase === 'Running');
    assert.ok(first?.metadata?.name, 'a running pod from the tests above');
    assert.equal(first.status?.phase, 'Running');
    assert.match(first.spec?.nodeName ?? '', /^node-\d+$/, 'bound by the simulated scheduler');

    const functionFile = join(dirname(dirname(adminFile)), 'kubeconfig');
    const limited = new KubeConfig();
    limited.loadFromFile(functionFile);
    // The Role grants pods in client-system only: the namespaces are the admin's to see.
    await assert.rejects(
      limited.makeApiClient(CoreV1Api).listNamespace(),
      (error: unknown) => error instanceof ApiException && error.code === 403,
    );
    await api.deleteNamespacedPod({ namespace: 'client-system', name: first.metadata.name });
  });

  it('routes the pod as the pod-gateway webhook would: kubectl get pod -o yaml shows it', {
    skip: spawnSync('kubectl', ['version', '--client']).error ? 'kubectl is not installed' : false,
  }, async () => {
    const { code, output } = await invoke(port, '--gateway', 'foo');
    assert.equal(code, 0, output);
    const pod = /pod_name\s+(client-[0-9a-f]{20})/.exec(output)?.[1] ?? '';
    const kubeconfig = /export KUBECONFIG=(\S+)/.exec(devOutput())?.[1] ?? '';
    const kubectl = spawnSync(
      'kubectl',
      ['--kubeconfig', kubeconfig, 'get', 'pod', '-n', 'client-system', pod, '-o', 'yaml'],
      { encoding: 'utf8' },
    );
    assert.equal(kubectl.status, 0, kubectl.stderr);
    const routed = parse(kubectl.stdout) as {
      spec: { initContainers?: Array<{ name: string }>; containers: Array<{ name: string }> };
    };
    assert.deepEqual(
      routed.spec.initContainers?.map((c) => c.name),
      ['gateway-init'],
    );
    assert.deepEqual(
      routed.spec.containers.map((c) => c.name),
      ['client', 'gateway-sidecar'],
    );
  });

  it('invoke --file sends the samples', async () => {
    const bar = await invoke(port, '--file', 'samples/pending-bar.json');
    assert.equal(bar.code, 0, bar.output);
    assert.match(bar.output, /✓ done: pod client-\w+ created .* for gateway bar/);
    const unknown = await invoke(port, '--file', 'samples/pending-unknown-gateway.json');
    assert.equal(unknown.code, 1, unknown.output);
    assert.match(unknown.output, /✗ failed \(UnknownGateway\): gateway "baz" is not one of/);
    // The README's example of the sandbox's line, with this run's GATEWAYS.
    const readme = await readFile(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const shown = /^\[sandbox\] event .*gateway baz\): (failed .*)$/m.exec(readme)?.[1];
    assert.ok(shown, 'the README shows the line of an unknown gateway');
    const expected = shown.replace('(foo, bar)', '(foo, bar, broken)');
    await waitFor(devOutput, dev, new RegExp(escapeRegExp(`gateway baz): ${expected}`)));
  });

  it('invoke --release deletes the pod, and --sweep answers what it deleted', async () => {
    const created = await invoke(port, '--gateway', 'foo');
    const pod = /pod_name\s+(client-[0-9a-f]{20})/.exec(created.output)?.[1];
    assert.ok(pod, created.output);
    const released = await invoke(port, '--release', pod);
    assert.equal(released.code, 0, released.output);
    assert.match(released.output, /type\s+io\.podgateway\.client\.release\.done/);
    assert.match(
      released.output,
      new RegExp(`✓ done: pod ${pod} deleted from namespace client-system`),
    );
    const again = await invoke(
      port,
      '--file',
      'samples/release-invalid-name.json',
      '--type',
      RELEASE_TYPE,
    );
    assert.equal(again.code, 1, again.output);
    assert.match(again.output, /✗ failed \(InvalidPodName\)/);
    const sweep = await invoke(port, '--sweep');
    assert.equal(sweep.code, 0, sweep.output);
    assert.match(sweep.output, /type\s+io\.podgateway\.client\.sweep\.done/);
  });

  it('kubectl events shows each client pod’s story; kubectl describe pod its own', {
    skip: !hasKubectl && 'no kubectl here',
  }, async () => {
    const created = await invoke(port, '--gateway', 'bar', '--id', 'dev-test-events');
    const pod = /pod_name\s+(client-[0-9a-f]{20})/.exec(created.output)?.[1] ?? '';
    assert.ok(pod, created.output);
    const released = await invoke(port, '--release', pod);
    assert.equal(released.code, 0, released.output);
    const kubeconfig = /export KUBECONFIG=(\S+)/.exec(devOutput())?.[1] ?? '';
    const kubectl = (...args: string[]) =>
      spawnSync('kubectl', ['--kubeconfig', kubeconfig, '-n', 'client-system', ...args], {
        encoding: 'utf8',
      });
    let shown = '';
    for (let attempt = 0; attempt < 50 && !/Released/.test(shown); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const events = kubectl('events', '--for', `pod/${pod}`);
      assert.equal(events.status, 0, events.stderr);
      shown = events.stdout;
    }
    assert.match(shown, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/m);
    const line = (reason: string, message: string) =>
      new RegExp(`^\\S+\\s+Normal\\s+${reason}\\s+Pod/${pod}\\s+${message}$`, 'm');
    assert.match(
      shown,
      line(
        'Provisioned',
        'provisioned for CloudEvent /local/npm-run-invoke/dev-test-events for gateway bar',
      ),
    );
    assert.match(shown, line('Ready', 'ready on node node-\\d with IP 10\\.244\\.\\d+\\.\\d+'));
    assert.match(
      shown,
      line('Released', 'deleted: released for CloudEvent /local/npm-run-invoke/\\S+'),
    );

    const another = await invoke(port, '--gateway', 'foo');
    const running = /pod_name\s+(client-[0-9a-f]{20})/.exec(another.output)?.[1] ?? '';
    let described = '';
    for (let attempt = 0; attempt < 50 && !/Ready/.test(described); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      described = kubectl('describe', 'pod', running).stdout;
    }
    assert.match(
      described,
      /^\s+Normal\s+Provisioned\s+\S+\s+podgateway\.io\/client-provisioner\s+provisioned for CloudEvent /m,
    );
  });

  it('invoke with an invalid gateway name shows the failed reply and exits non-zero', async () => {
    const { code, output } = await invoke(port, '--gateway', 'not a label!');
    assert.equal(code, 1, output);
    assert.match(output, /type\s+io\.podgateway\.client\.scheduling\.failed/);
    assert.match(output, /reason\s+InvalidGatewayName/);
  });

  it('a redelivered event (same id) replies done for the same pod', async () => {
    const first = await invoke(port, '--gateway', 'bar', '--id', 'dev-test-redelivery');
    const second = await invoke(port, '--gateway', 'bar', '--id', 'dev-test-redelivery');
    assert.equal(second.code, 0, second.output);
    const pod = (run: Run) => /pod_name\s+(\S+)/.exec(run.output)?.[1];
    assert.equal(pod(second), pod(first));
    assert.match(second.output, /already existed \(event redelivered\)/);
  });

  it('invoke says what is wrong when nothing listens, or the arguments are wrong', async () => {
    const nobody = await invoke(await freePort(), '--gateway', 'foo');
    assert.equal(nobody.code, 1);
    assert.match(nobody.output, /could not reach .*\n.*npm run dev/);
    const usage = await invoke(port, '--gateway', 'foo', '--file', 'samples/pending-foo.json');
    assert.equal(usage.code, 2);
    assert.match(usage.output, /give one of --gateway, --release, --sweep or --file/);
  });

  it('invoke -- --help prints the options; without the -- it says to add it', async () => {
    const help = await invoke(port, '--help');
    assert.equal(help.code, 0, help.output);
    for (const option of ['--gateway', '--message', '--file', '--url', '--source', '--id']) {
      assert.match(help.output, new RegExp(`^\\s+(-\\w, )?${option}`, 'm'), option);
    }
    const child = spawn('npm', ['run', '--silent', 'invoke', '--gateway', 'foo'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, FUNC_PORT: String(port), NODE_OPTIONS: PRELOAD_NODE_OPTIONS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collect(child);
    const [code] = await once(child, 'exit');
    assert.equal(code, 2, output());
    assert.match(output(), /npm took --gateway for its own options: add -- before them/);
  });

  it('refuses a port that is not plain digits, as the function refuses FUNC_PORT', async () => {
    const bad = spawn(process.execPath, [...PRELOAD_FLAGS, 'scripts/dev.ts', '--port', '0x50'], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collect(bad);
    const [code] = await once(bad, 'exit');
    assert.equal(code, 1, output());
    assert.match(output(), /--port \/ FUNC_PORT: "0x50" is not a whole number from 1 to 65535/);
  });

  it('reports a port in use before anything else, in one line with the flag', async () => {
    const second = spawn('npm', ['run', '--silent', 'dev', '--', '--port', String(port)], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collect(second);
    const [code] = await once(second, 'exit');
    assert.equal(code, 1, output());
    assert.equal(output().trim().split('\n').length, 1, output());
    assert.match(output(), new RegExp(`port ${port} is in use .*npm run dev -- --port \\d+`));
  });

  it('Ctrl-C stops the function and the sandbox', async () => {
    assert.ok(dev.pid);
    process.kill(-dev.pid, 'SIGINT');
    const [code, signal] = await once(dev, 'exit');
    // npm itself ends by the signal it got, as in a terminal; the sandbox ends cleanly.
    assert.ok(code === 0 || signal === 'SIGINT', `${code} ${signal}\n${devOutput()}`);
    assert.match(devOutput(), /\[sandbox\] stopped/);
    // npm itself keeps its compile cache in TMPDIR: not the sandbox's.
    const left = (await readdir(sandboxTmp)).filter((name) => name !== 'node-compile-cache');
    assert.deepEqual(left, [], 'its temporary folder is gone');
    await assert.rejects(fetch(`http://localhost:${port}/health/liveness`));
  });
});
