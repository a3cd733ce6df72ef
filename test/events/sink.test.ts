// Reply routing beyond a broker: with K_SINK set, replies are POSTed to the sink and the request
// is answered 202; when the sink cannot take them, 503 so the producer delivers again.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CloudEvent } from 'cloudevents';
import { ConfigError } from '../../src/config/config.ts';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import {
  makeSink,
  readSink,
  SINK_RETRY_AFTER_SECONDS,
  SINK_VARIABLES,
  sinkAccepted,
  sinkFailure,
} from '../../src/events/sink.ts';
import { eventually } from '../../testbed/eventually.ts';
import {
  freePort,
  type RunningFunction,
  runUntilExit,
  startFunction,
} from '../../testbed/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from '../../testbed/kube-api-server/server.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { type SinkServer, startSinkServer } from '../support/sink-server.ts';

const NAMESPACE = 'client-system';
/** For the tests of what a sink answers: a busy machine must not turn an answer into a timeout. */
const PATIENT = { attempts: 3, timeoutMs: 5000, backoffMs: 10 };
/** For the test of the timeout itself. */
const FAST = { attempts: 3, timeoutMs: 300, backoffMs: 10 };

let sinkServer: SinkServer;

before(async () => {
  sinkServer = await startSinkServer();
});

after(async () => {
  await sinkServer?.close();
});

beforeEach(() => sinkServer.reset());

function sampleReply(): CloudEvent<unknown> {
  return new CloudEvent<unknown>({
    source: 'podgateway/eventing/client/provisioner',
    type: DONE_TYPE,
    datacontenttype: 'application/json',
    data: { pod_name: 'client-0123456789abcdef0123' },
  });
}

describe('K_SINK', () => {
  it('is read apart from the configuration variables', () => {
    assert.deepEqual([...SINK_VARIABLES], ['K_SINK']);
    assert.equal(readSink({}), undefined);
    assert.equal(readSink({ K_SINK: '' }), undefined);
    assert.equal(
      readSink({ K_SINK: 'http://broker-ingress.knative-eventing.svc.cluster.local/ns/default' })
        ?.href,
      'http://broker-ingress.knative-eventing.svc.cluster.local/ns/default',
    );
  });

  for (const value of ['not a url', 'ftp://example.com/x', '/relative']) {
    it(`rejects K_SINK=${JSON.stringify(value)}, naming the variable`, () => {
      assert.throws(
        () => readSink({ K_SINK: value }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === 'K_SINK' &&
          /^K_SINK: /.test(error.message),
      );
    });
  }
});

describe('the sink sender', () => {
  it('sends the event in binary mode and reports the status', async () => {
    const event = sampleReply();
    const delivery = await makeSink(new URL(sinkServer.url), PATIENT).send(event);
    assert.deepEqual(delivery, { ok: true, attempts: 1, status: 202 });
    const [request] = sinkServer.received;
    assert.equal(request?.headers['ce-type'], DONE_TYPE);
    assert.equal(request?.headers['ce-id'], event.id);
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(request?.body ?? ''), { pod_name: 'client-0123456789abcdef0123' });
  });

  it('tries again after a 5xx, a 429, or a dropped connection', async () => {
    sinkServer.answerNext(503, 'drop');
    const first = await makeSink(new URL(sinkServer.url), PATIENT).send(sampleReply());
    assert.deepEqual(first, { ok: true, attempts: 3, status: 202 });
    sinkServer.reset();
    sinkServer.answerNext(429);
    const second = await makeSink(new URL(sinkServer.url), PATIENT).send(sampleReply());
    assert.equal(second.attempts, 2);
  });

  it('does not try again after a 400: it would fail the same way', async () => {
    sinkServer.answerNext(400);
    const delivery = await makeSink(new URL(sinkServer.url), PATIENT).send(sampleReply());
    assert.equal(delivery.ok, false);
    assert.equal(delivery.attempts, 1);
    assert.equal(sinkServer.received.length, 1);
    assert.match(delivery.ok ? '' : delivery.problem, /answered HTTP 400/);
  });

  it('gives up after the attempts, each bounded by the timeout', async () => {
    sinkServer.answerNext('hang', 'hang', 'hang');
    const delivery = await makeSink(new URL(sinkServer.url), FAST).send(sampleReply());
    assert.equal(delivery.ok, false);
    assert.equal(delivery.attempts, 3);
    assert.match(delivery.ok ? '' : delivery.problem, /did not answer within 300 ms/);
  });

  it('reports a sink that cannot be reached', async () => {
    const port = await freePort();
    const delivery = await makeSink(new URL(`http://127.0.0.1:${port}/`), PATIENT).send(
      sampleReply(),
    );
    assert.equal(delivery.ok, false);
    assert.match(delivery.ok ? '' : delivery.problem, /could not be reached.*ECONNREFUSED/);
  });

  it('answers 202 with no body once delivered; when not, tells the producer no address or body, the log both', () => {
    assert.deepEqual(sinkAccepted(), { statusCode: 202, body: '' });
    const problem = 'the sink answered HTTP 500: no room at http://10.0.0.7:8080/inbox';
    const { message, logMessage } = sinkFailure({ ok: false, attempts: 3, problem }, 'reply-1');
    assert.equal(
      message,
      "the reply could not be sent to K_SINK after 3 attempt(s): the sink answered HTTP 500 (the function's log has the details)",
    );
    assert.equal(logMessage, `reply reply-1 not sent to K_SINK: ${problem}`);
  });
});

describe('the function with K_SINK set', () => {
  let server: KubeApiServer;
  let fn: RunningFunction;
  let workDir: string;

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'provisioner-sink-'));
    server = await startKubeApiServer({ namespaces: [NAMESPACE] });
    fn = await startFunction({
      env: {
        KUBECONFIG: await server.writeKubeconfig(workDir),
        CLIENT_NAMESPACE: NAMESPACE,
        K_SINK: sinkServer.url,
      },
    });
  });

  after(async () => {
    await fn?.stop();
    await server?.close();
    await rm(workDir, { recursive: true, force: true });
  });

  beforeEach(() => server.reset());

  it('sends the done reply to the sink in binary mode and answers 202 with no event', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const answer = await sendEvent(fn.url, event, 'structured');

    assert.equal(answer.status, 202, answer.text);
    assert.equal(answer.text, '');
    assert.equal(answer.event, undefined);
    assert.equal(sinkServer.received.length, 1);
    const [request] = sinkServer.received;
    assert.equal(request?.headers['ce-type'], DONE_TYPE, 'binary mode: attributes in headers');
    assert.equal(request?.headers['ce-inresponseto'], event.id);
    assert.equal(request?.event?.data?.namespace, NAMESPACE);
    assert.equal(request?.event?.data?.pod_name, server.pods(NAMESPACE)[0]?.metadata?.name);
  });

  it('sends a failed reply there too', async () => {
    const answer = await sendEvent(fn.url, pendingEvent({ gateway_name: '-bad-' }), 'binary');
    assert.equal(answer.status, 202);
    assert.equal(sinkServer.received[0]?.event?.type, FAILED_TYPE);
    assert.equal(sinkServer.received[0]?.event?.data?.reason, 'InvalidGatewayName');
  });

  it('still answers 400, and sends nothing, for an event it cannot read', async () => {
    const answer = await sendEvent(
      fn.url,
      pendingEvent({ gateway_name: 'foo' }, { type: 'com.example.other' }),
      'binary',
    );
    assert.equal(answer.status, 400);
    assert.equal(sinkServer.received.length, 0);
  });

  it('answers 503 with Retry-After when the sink keeps failing; a redelivery then replies done for the same pod', async () => {
    const event = pendingEvent({ gateway_name: 'bar' });
    sinkServer.answerNext(500, 500, 500);
    const first = await sendEvent(fn.url, event, 'binary');
    assert.equal(first.status, 503, first.text);
    assert.equal(first.headers.get('retry-after'), String(SINK_RETRY_AFTER_SECONDS));
    assert.match(first.text, /SinkUnavailable.*after 3 attempt\(s\).*HTTP 500/);
    assert.equal(sinkServer.received.length, 3);
    // The log line and the answer travel apart (stdout, HTTP): wait for the line.
    await eventually('the log line', () => /not sent to K_SINK/.test(fn.output()));

    const second = await sendEvent(fn.url, event, 'binary');
    assert.equal(second.status, 202);
    assert.equal(sinkServer.received.at(-1)?.event?.type, DONE_TYPE);
    assert.match(String(sinkServer.received.at(-1)?.event?.data?.message), /already existed/);
    assert.equal(server.pods(NAMESPACE).length, 1);
  });
});

describe('start-up with a bad K_SINK', () => {
  it('stops with a non-zero exit and a message naming K_SINK', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'provisioner-sink-bad-'));
    const server = await startKubeApiServer();
    try {
      const { code, output } = await runUntilExit({
        KUBECONFIG: await server.writeKubeconfig(workDir),
        K_SINK: 'not a url',
      });
      assert.notEqual(code, 0);
      assert.match(output, /K_SINK: is not an absolute URL/);
      assert.doesNotMatch(output, /not a url/, 'the value is not repeated: it may hold a secret');
    } finally {
      await server.close();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
