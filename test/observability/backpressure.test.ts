// One sender must not crash the function (issue 25): 60 KB fields at 16 senders, with the heap of
// the manifests' NODE_OPTIONS, while stdout is backed up or the trace collector never answers.
// The function was killed by the heap limit within seconds in both; it now keeps serving.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deployedProcessEnv } from '../../testbed/deployed-env.ts';
import { freePort, spawnFunction, startFunction } from '../../testbed/function-process.ts';
import { sendHostile } from '../../testbed/hostile-events.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { type SilentCollector, startSilentCollector } from '../../testbed/otlp-receiver.ts';
import { parseExposition } from '../../testbed/prometheus.ts';

const NAMESPACE = 'clients';
/** Past the ~700–1,100 events after which the function used to die. */
const EVENTS = 1500;
const CONCURRENCY = 16;

let server: KubeApiServer;
let workDir: string;
let kubeconfig: string;
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-backpressure-'));
  server = await startKubeApiServer({ namespaces: [NAMESPACE] });
  kubeconfig = await server.writeKubeconfig(workDir);
});
after(async () => {
  await server?.close();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function baseEnv(): Record<string, string> {
  return {
    KUBECONFIG: kubeconfig,
    CLIENT_NAMESPACE: NAMESPACE,
    ...deployedProcessEnv(),
  };
}

async function readiness(url: string): Promise<number> {
  const response = await fetch(`${url}/health/readiness`);
  await response.arrayBuffer();
  return response.status;
}

describe('with stdout backed up', () => {
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill('SIGKILL');
  });

  it('keeps serving 60 KB types and gateway names, and counts the log lines it dropped', async () => {
    const port = await freePort();
    // stdout is never read: once the pipe is full, every line waits in the process.
    child = spawnFunction({ env: baseEnv() }, port);
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const url = `http://127.0.0.1:${port}`;
    await waitUntilServing(url, child, () => errors);

    const run = await sendHostile({
      url,
      events: EVENTS,
      concurrency: CONCURRENCY,
      kinds: ['type', 'gateway_name'],
      idPrefix: 'backed-up',
    });
    assert.equal(child.exitCode ?? child.signalCode, null, `the function died:\n${errors}`);
    assert.deepEqual(run.answers, { 200: EVENTS / 2, 400: EVENTS / 2 });
    assert.equal(await readiness(url), 200);
    const metrics = parseExposition(await (await fetch(`${url}/metrics`)).text());
    const dropped = metrics.samples.find((s) => s.name === 'podgateway_log_lines_dropped_total');
    assert.ok((dropped?.value ?? 0) > 0, 'lines were dropped, and counted');
  });
});

describe('with tracing on and a collector that never answers', () => {
  let collector: SilentCollector;
  before(async () => {
    collector = await startSilentCollector();
  });
  after(async () => {
    await collector?.close();
  });

  it('keeps serving events with 60 KB ids, sources and types', async () => {
    const fn = await startFunction({
      env: {
        ...baseEnv(),
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      },
    });
    try {
      const run = await sendHostile({
        url: fn.url,
        events: EVENTS,
        concurrency: CONCURRENCY,
        kinds: ['id', 'source', 'type'],
        idPrefix: 'silent-collector',
      });
      const { exitCode, signalCode } = fn.process;
      assert.equal(exitCode ?? signalCode, null, `the function died:\n${fn.output().slice(-2000)}`);
      assert.deepEqual(run.answers, { 400: EVENTS });
      assert.equal(await readiness(fn.url), 200);
      assert.ok(collector.connections() > 0, 'the spans were sent to the collector');
    } finally {
      await fn.stop('SIGKILL');
    }
  });
});

async function waitUntilServing(
  url: string,
  child: ChildProcess,
  errors: () => string,
): Promise<void> {
  for (let tries = 0; tries < 300; tries += 1) {
    if (child.exitCode !== null) throw new Error(`the function exited:\n${errors()}`);
    try {
      if ((await readiness(url)) === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the function did not become ready:\n${errors()}`);
}
