// Load and the edges of a connection (issue 9): bodies above the contract's size, bodies that
// never arrive, SIGTERM under keep-alive load, 503 answers that would name internal addresses,
// and the local sandbox's listening address. Each over HTTP against the spawned function.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_BODY_LIMIT } from '../../src/edge/plugin.ts';
import { eventually } from '../../testbed/eventually.ts';
import { startInProcess } from '../../testbed/function-in-process.ts';
import {
  freePort,
  PROJECT_ROOT,
  type ServedFunction,
  startFunction,
} from '../../testbed/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';
import { keepAliveLoop, type LoopRecord, type SentRequest } from '../support/keep-alive-client.ts';
import { PRELOAD_FLAGS } from '../support/preloads.ts';
import { sendRaw } from '../support/raw-http.ts';

const EVENT_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['content-type', 'application/json'],
  ['ce-specversion', '1.0'],
  ['ce-id', 'limits-1'],
  ['ce-source', '/limits'],
  ['ce-type', 'io.podgateway.client.pending'],
];

/** `{"gateway_name":"foo","pad":"ppp…"}` of exactly `bytes` bytes. */
function paddedBody(bytes: number): Buffer {
  const [head, tail] = ['{"gateway_name":"foo","pad":"', '"}'];
  return Buffer.from(`${head}${'p'.repeat(bytes - head.length - tail.length)}${tail}`);
}

/** Resolves with what the server wrote before it closed the connection. */
function readUntilClosed(socket: ReturnType<typeof connect>): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('close', () => resolve(received));
    socket.on('error', () => undefined);
  });
}

describe('request bodies', () => {
  const h = useHarness({});

  it(`refuses a body over ${DEFAULT_BODY_LIMIT} bytes with 413, and takes one of that size`, async () => {
    h.server.reset();
    const over = await sendRaw(h.fn.url, {
      method: 'POST',
      path: '/',
      headers: EVENT_HEADERS,
      body: paddedBody(DEFAULT_BODY_LIMIT + 1),
    });
    assert.equal(over.kind === 'response' && over.response.status, 413);
    assert.equal(h.server.pods().length, 0);
    const at = await sendRaw(h.fn.url, {
      method: 'POST',
      path: '/',
      headers: EVENT_HEADERS,
      body: paddedBody(DEFAULT_BODY_LIMIT),
    });
    assert.equal(at.kind === 'response' && at.response.status, 200);
  });

  it('answers 408 and closes the connection when the body stops arriving', {
    timeout: 60_000,
  }, async () => {
    h.server.reset();
    const url = new URL(h.fn.url);
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    await once(socket, 'connect');
    const closed = readUntilClosed(socket);
    const head = EVENT_HEADERS.map(([name, value]) => `${name}: ${value}`).join('\r\n');
    socket.write(
      `POST / HTTP/1.1\r\nhost: ${url.host}\r\n${head}\r\ncontent-length: 1000\r\n\r\n{"gat`,
    );
    const received = await closed;
    assert.match(received, /^HTTP\/1\.1 408 /);
    assert.equal(h.server.pods().length, 0);
    assert.ok(h.fn.alive());
  });
});

describe('on SIGTERM under keep-alive load', () => {
  let server: KubeApiServer;
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisioner-limits-'));
    server = await startKubeApiServer();
  });
  after(async () => {
    await server?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  it('every request gets an answer or a refused connection, none a reset', {
    timeout: 120_000,
  }, async () => {
    const fn = await startFunction({
      env: { KUBECONFIG: await server.writeKubeconfig(workDir), SHUTDOWN_GRACE_MS: '1000' },
    });
    let stopped = false;
    const exited = once(fn.process, 'exit');
    void exited.then(() => {
      stopped = true;
    });
    // Raw keep-alive connections, so each request's connection and fate is known: a connection
    // the kernel completed but the function never accepted shows as a request lost to a reset.
    const records: LoopRecord[] = Array.from({ length: 8 }, () => ({ requests: [], connects: [] }));
    const host = new URL(fn.url).host;
    const loops = records.map((record) =>
      keepAliveLoop(
        fn.url,
        () => eventRequest(host),
        () => stopped,
        record,
      ),
    );
    const requests = (): SentRequest[] => records.flatMap((record) => record.requests);
    await eventually(
      '40 answers',
      () => requests().filter((r) => r.outcome?.kind === 'answer').length >= 40,
      { timeoutMs: 30_000, intervalMs: 10 },
    );
    fn.process.kill('SIGTERM');
    await Promise.all(loops);
    await exited;
    const lost = requests().filter((r) => r.outcome?.kind !== 'answer');
    assert.deepEqual(lost, [], 'every request sent on a connection got an answer');
    const statuses = new Set(
      requests().map((r) => r.outcome?.kind === 'answer' && r.outcome.status),
    );
    assert.deepEqual(
      [...statuses].filter((status) => status !== 200 && status !== 503),
      [],
    );
    for (const { connects } of records) {
      // Each loop reconnected only after an answer closed its connection, and that was refused.
      assert.deepEqual(connects.slice(1), ['ECONNREFUSED'], `connects: ${connects.join(', ')}`);
    }
  });
});

/** A `pending` event in binary mode on a keep-alive connection. */
function eventRequest(host: string): Buffer {
  const body = JSON.stringify({ gateway_name: 'foo' });
  const head = [
    'POST / HTTP/1.1',
    `host: ${host}`,
    ...EVENT_HEADERS.filter(([name]) => name !== 'ce-id').map(
      ([name, value]) => `${name}: ${value}`,
    ),
    `ce-id: ${randomUUID()}`,
    `content-length: ${Buffer.byteLength(body)}`,
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`);
}

describe('503 answers', () => {
  let workDir: string;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisioner-limits-503-'));
  });
  after(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it('name no address of the unreachable API server; the log does', async () => {
    const server = await startKubeApiServer();
    const kubeconfig = await server.writeKubeconfig(workDir);
    const fn = await startInProcess({
      KUBECONFIG: kubeconfig,
      EVENT_DEADLINE_MS: '1000',
      FUNC_LOG_LEVEL: 'info',
    });
    try {
      await server.close();
      const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.status, 503, reply.text);
      assert.doesNotMatch(reply.text, /127\.0\.0\.1|localhost|https?:\/\//, reply.text);
      assert.match(reply.text, /could not be reached/);
      await eventually('the log line', () => /ECONNREFUSED 127\.0\.0\.1/.test(fn.output()));
    } finally {
      await fn.stop();
    }
  });

  /** The function (with `env`) against its own API server, both stopped after `test`. */
  async function withFunction(
    env: Record<string, string>,
    test: (server: KubeApiServer, fn: ServedFunction) => Promise<void>,
  ): Promise<void> {
    const server = await startKubeApiServer();
    const fn = await startInProcess({ KUBECONFIG: await server.writeKubeconfig(workDir), ...env });
    try {
      await test(server, fn);
    } finally {
      await fn.stop();
      await server.close();
    }
  }

  it('name no address of a webhook the API server could not call', async () => {
    await withFunction({ EVENT_DEADLINE_MS: '2000' }, async (server, fn) => {
      server.injectFault({
        method: 'POST',
        times: 1000,
        status: 500,
        message:
          'Internal error occurred: failed calling webhook "gw.example": Post "https://gw.gateway-system.svc:443/mutate?timeout=10s": dial tcp 10.96.12.7:443: connect: connection refused',
      });
      const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.status, 503, reply.text);
      assert.doesNotMatch(reply.text, /10\.96\.12\.7|gw\.gateway-system\.svc/, reply.text);
      assert.match(reply.text, /failed calling webhook/);
    });
  });

  it("keep the API server's last answer when the deadline cuts the next attempt short", async () => {
    await withFunction({ EVENT_DEADLINE_MS: '2000' }, async (server, fn) => {
      server.injectFault({
        method: 'POST',
        status: 500,
        message:
          'Internal error occurred: failed calling webhook "gw.example": context deadline exceeded',
      });
      server.injectFault({ method: 'POST', delayMs: 4000 });
      const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.status, 503, reply.text);
      assert.match(reply.text, /"WebhookUnavailable".*failed calling webhook/, reply.text);
    });
  });

  it('name no address of an unreachable K_SINK', async () => {
    const sinkPort = await freePort();
    await withFunction({ K_SINK: `http://127.0.0.1:${sinkPort}/replies` }, async (_server, fn) => {
      const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.status, 503, reply.text);
      assert.doesNotMatch(reply.text, new RegExp(`127\\.0\\.0\\.1|${sinkPort}`), reply.text);
    });
  });
});

describe('the local sandbox', () => {
  /** An address of this machine that is not loopback, when it has one. */
  const outside = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && !address.internal && address.family === 'IPv4')?.address;

  let sandbox: ChildProcess | undefined;
  after(async () => {
    if (sandbox && sandbox.exitCode === null) {
      sandbox.kill('SIGINT');
      await once(sandbox, 'exit');
    }
  });

  it('listens on loopback only unless --host is given', {
    skip: outside === undefined && 'no non-loopback address here',
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const started = spawn(
      process.execPath,
      [...PRELOAD_FLAGS, 'scripts/dev.ts', '--port', String(port)],
      {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    sandbox = started;
    let output = '';
    sandbox.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    sandbox.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await eventually(
      'the sandbox banner',
      () => {
        if (started.exitCode !== null) assert.fail(`the sandbox exited:\n${output}`);
        return /LOCAL SANDBOX/.test(output);
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    const local = await fetch(`http://127.0.0.1:${port}/health/liveness`);
    assert.equal(local.status, 200);
    const fromOutside = await fetch(`http://${outside}:${port}/health/liveness`).then(
      (response) => `HTTP ${response.status}`,
      (error: { cause?: { code?: string } }) => error.cause?.code ?? 'error',
    );
    assert.equal(fromOutside, 'ECONNREFUSED');
  });
});
