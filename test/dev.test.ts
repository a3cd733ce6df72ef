// The local sandbox as a newcomer uses it: `npm run dev` in one terminal, `npm run invoke` in
// another, Ctrl-C to stop. Run through npm, as the README says.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config.ts';
import { RELEASE_TYPE, readRelease } from '../src/release.ts';
import { readRequest } from '../src/request.ts';
import { freePort, PROJECT_ROOT } from './support/function-process.ts';

const SAMPLES_DIR = join(PROJECT_ROOT, 'samples');
const BANNER =
  'LOCAL SANDBOX: pods are created in an in-memory Kubernetes API test server, not a cluster';

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
    env: { ...process.env, FUNC_PORT: String(port) },
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
  const deadline = Date.now() + ms;
  while (!pattern.test(output())) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} in time:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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
      kinds[file] = verdict.kind === 'fail' ? verdict.reason : verdict.kind;
    }
    assert.deepEqual(kinds, {
      'pending-bar.json': 'provision',
      'pending-foo.json': 'provision',
      'pending-unknown-gateway.json': 'UnknownGateway',
      'release-foo.json': 'release',
      'release-invalid-name.json': 'InvalidPodName',
    });
  });
});

describe('npm run dev, then npm run invoke', () => {
  let port: number;
  let dev: ChildProcess;
  let devOutput: () => string;

  before(async () => {
    port = await freePort();
    // Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
    // WAIT_FOR=ready, and a gateway whose init container the simulated kubelet fails: the
    // sandbox's whole pod life, as the README shows it.
    dev = spawn('npm', ['run', 'dev', '--', '--port', String(port), '--fail-init', 'broken'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, WAIT_FOR: 'ready', GATEWAYS: 'foo,bar,broken' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    devOutput = collect(dev);
    await waitFor(devOutput, dev, /Ctrl-C stops the function and the sandbox/);
  });

  after(() => {
    if (dev.exitCode !== null || dev.signalCode !== null || dev.pid === undefined) return;
    try {
      process.kill(-dev.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });

  it('says clearly that it is a local sandbox, and how to send an event', () => {
    const output = devOutput();
    assert.ok(output.includes(BANNER), output);
    assert.match(
      output,
      new RegExp(`npm run invoke -- --gateway foo --url http://localhost:${port}`),
    );
    assert.match(output, /curl -i http:\/\/localhost:\d+ .*ce-specversion/);
    assert.match(output, /kubectl --kubeconfig \S+ get pods -n client-system/);
    assert.match(output, /SIMULATED scheduler and kubelet: .*\n.*\(broken: init fails\)/);
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
    await waitFor(devOutput, dev, /\[sandbox\] pod client-broken-\w+: Init:CrashLoopBackOff/);
  });

  it('invoke --gateway foo shows the done reply and exits 0; dev logs the pod', async () => {
    const { code, output } = await invoke(port, '--gateway', 'foo');
    assert.equal(code, 0, output);
    assert.match(output, /HTTP 200/);
    assert.match(output, /type\s+io\.podgateway\.client\.scheduling\.done/);
    const pod = /pod_name\s+(client-foo-[0-9a-f]{12})/.exec(output)?.[1];
    assert.ok(pod, output);
    assert.match(output, /✓ done: pod client-foo-\w+ created in namespace client-system/);
    await waitFor(
      devOutput,
      dev,
      new RegExp(`pod created: client-system/${pod} \\(gateway foo\\)`),
    );
  });

  it('invoke --file sends the samples', async () => {
    const bar = await invoke(port, '--file', 'samples/pending-bar.json');
    assert.equal(bar.code, 0, bar.output);
    assert.match(bar.output, /✓ done: pod client-bar-/);
    const unknown = await invoke(port, '--file', 'samples/pending-unknown-gateway.json');
    assert.equal(unknown.code, 1, unknown.output);
    assert.match(unknown.output, /✗ failed \(UnknownGateway\): gateway "baz" is not one of/);
  });

  it('invoke --release deletes the pod, and --sweep answers what it deleted', async () => {
    const created = await invoke(port, '--gateway', 'foo');
    const pod = /pod_name\s+(client-foo-[0-9a-f]{12})/.exec(created.output)?.[1];
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

  it('Ctrl-C stops the function and the sandbox', async () => {
    assert.ok(dev.pid);
    process.kill(-dev.pid, 'SIGINT');
    const [code, signal] = await once(dev, 'exit');
    // npm itself ends by the signal it got, as in a terminal; the sandbox ends cleanly.
    assert.ok(code === 0 || signal === 'SIGINT', `${code} ${signal}\n${devOutput()}`);
    assert.match(devOutput(), /\[sandbox\] stopped/);
    await assert.rejects(fetch(`http://localhost:${port}/health/liveness`));
  });
});
