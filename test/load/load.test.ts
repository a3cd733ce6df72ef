// Load with redelivery: 500 events at concurrency 16, one in ten delivered twice, a share of the
// Kubernetes API calls made to fail, and a client that redelivers as Knative does. Nothing may be
// lost and nothing duplicated: one pod per distinct event, and a done reply naming it for every
// delivery. No timing is asserted. `npm run soak` is the long version of the same run.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it, type TestContext } from 'node:test';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { startInProcess } from '../../testbed/function-in-process.ts';
import type { ServedFunction } from '../../testbed/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import {
  ALL_FAULTS,
  BENIGN_FAULTS,
  deliver,
  type FaultMix,
  formatReport,
  type LoadReport,
  type PendingEvent,
  runLoad,
  seededRandom,
} from '../../testbed/load/load.ts';

const NAMESPACE = 'clients';

let server: KubeApiServer;
let fn: ServedFunction;
let workDir: string;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-load-'));
  server = await startKubeApiServer({ namespaces: [NAMESPACE] });
  fn = await startInProcess({
    KUBECONFIG: await server.writeKubeconfig(workDir),
    CLIENT_NAMESPACE: NAMESPACE,
  });
});

after(async () => {
  await fn?.stop();
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

beforeEach(() => server.reset());

async function load(t: TestContext, idPrefix: string, faultMix: FaultMix): Promise<LoadReport> {
  const report = await runLoad({
    url: fn.url,
    server,
    namespace: NAMESPACE,
    events: 500,
    concurrency: 16,
    dupRate: 0.1,
    faultRate: 0.05,
    faultMix,
    policy: { maxAttempts: 10, backoffBaseMs: 10, backoffMaxMs: 200, requestTimeoutMs: 30_000 },
    seed: 20_240_601,
    idPrefix,
  });
  // The tables, only when asked for: LOAD_REPORT=1 npm test (npm run soak prints its own).
  if (process.env.LOAD_REPORT) t.diagnostic(`\n${formatReport(report)}`);
  return report;
}

function assertNothingLostNorDuplicated(report: LoadReport): void {
  const table = formatReport(report);
  assert.equal(report.unsent, 0, table);
  assert.equal(report.duplicates, 0, table);
  assert.equal(report.lost, 0, table);
  assert.equal(report.podsCreated, report.distinct, table);
  assert.deepEqual(report.finals, { done: report.deliveries }, table);
  assert.ok(fn.alive(), 'the function is still running');
}

describe('500 events at concurrency 16, one in ten delivered twice', () => {
  it('with slow API answers and lost create races: one pod and a done for each', async (t) => {
    const report = await load(t, 'load-benign', BENIGN_FAULTS);
    assert.ok((report.faults.injected.race ?? 0) > 0, 'some create races were injected');
    assertNothingLostNorDuplicated(report);
  });

  it('with API failures (500, 503, 429, dropped connections) redelivered: one pod and a done for each', async (t) => {
    const report = await load(t, 'load-faults', ALL_FAULTS);
    assertNothingLostNorDuplicated(report);
  });
});

describe('the redelivering client', () => {
  /** A function stand-in: answers from the script, one entry per request, `drop` closes. */
  async function scripted(script: Array<number | 'drop' | 'done'>) {
    let served = 0;
    const http = createServer((req, res) => {
      const step = script[Math.min(served++, script.length - 1)];
      req.resume();
      if (step === 'drop') {
        req.socket.destroy();
        return;
      }
      if (step === 'done') {
        res.writeHead(200, { 'ce-type': DONE_TYPE, 'content-type': 'application/json' });
        res.end('{"pod_name":"client-0123456789abcdef0123"}');
        return;
      }
      res.writeHead(step ?? 500, step === 503 ? { 'retry-after': '0' } : {});
      res.end('{}');
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const address = http.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return {
      url: `http://127.0.0.1:${address.port}`,
      served: () => served,
      close: () => new Promise((resolve) => http.close(resolve)),
    };
  }
  const event: PendingEvent = { id: 'e-1', source: '/s', gatewayName: 'foo', mode: 'binary' };
  const policy = { maxAttempts: 5, backoffBaseMs: 1, backoffMaxMs: 10, requestTimeoutMs: 5000 };

  it('redelivers after 5xx, 429 and dropped connections until an answer is final', async () => {
    const fake = await scripted([500, 'drop', 503, 429, 'done']);
    try {
      const delivery = await deliver(fake.url, event, policy, seededRandom(1));
      assert.deepEqual(
        delivery.attempts.map((a) => a.answer.kind),
        ['status', 'connection', 'status', 'status', 'done'],
      );
      assert.deepEqual(delivery.final, { kind: 'done', podName: 'client-0123456789abcdef0123' });
    } finally {
      await fake.close();
    }
  });

  it('gives up after the last attempt, and does not redeliver a 4xx', async () => {
    const failing = await scripted([503]);
    const refusing = await scripted([400]);
    try {
      const given = await deliver(failing.url, event, policy, seededRandom(1));
      assert.equal(given.attempts.length, 5);
      assert.equal(failing.served(), 5);
      const refused = await deliver(refusing.url, event, policy, seededRandom(1));
      assert.equal(refused.attempts.length, 1);
      assert.deepEqual(refused.final, { kind: 'status', status: 400 });
    } finally {
      await failing.close();
      await refusing.close();
    }
  });
});
