// The bad-input corpus (test/corpus/) against one running function: for every malformed or
// hostile request, no pod, no API call, no crash, never a 5xx nor a `done`, and the specific
// answer the case records. Cases marked `todo` are known to be answered otherwise today.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { eventually } from '../../testbed/eventually.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';
import { type RawResponse, sendRaw } from '../support/raw-http.ts';
import { type CorpusCase, expectedMessage, loadCorpus, rawRequestOf } from './corpus.ts';

const corpus = loadCorpus();

const h = useHarness({});

const apiCalls = () => h.server.coreRequests();

/** The `message` of a JSON error body, else the body itself. */
function messageOf(text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed) {
      return String(parsed.message);
    }
  } catch {
    // not JSON: the text is the message
  }
  return text;
}

function summary(response: RawResponse): string {
  const type = response.headers['ce-type'] ?? 'no event';
  const text = response.body.toString('utf8');
  const shown = text.length > 600 ? `${text.slice(0, 600)}…` : text;
  return `HTTP ${response.status} (${type}) ${shown}`;
}

async function check(c: CorpusCase): Promise<void> {
  h.server.reset();
  const outcome = await sendRaw(h.fn.url, rawRequestOf(c));
  assert.equal(h.fn.process.exitCode, null, `the function exited:\n${h.fn.output().slice(-2000)}`);
  if (outcome.kind === 'error') assert.fail(`no HTTP answer: ${outcome.message}`);
  const { response } = outcome;
  const seen = summary(response);

  // Nothing let in, whatever the answer.
  assert.deepEqual(
    h.server.pods().map((pod) => pod.metadata?.name),
    [],
    `a pod was created; the answer: ${seen}`,
  );
  assert.deepEqual(
    apiCalls().map((call) => `${call.method} ${call.path}`),
    [],
    `the Kubernetes API was called; the answer: ${seen}`,
  );
  assert.ok(response.status < 500, `a server error: ${seen}`);
  assert.notEqual(response.headers['ce-type'], DONE_TYPE, `a done reply: ${seen}`);

  const expect = c.expect;
  if ('status' in expect) {
    assert.equal(response.status, expect.status, seen);
    assert.match(messageOf(response.body.toString('utf8')), expectedMessage(expect), seen);
    return;
  }
  assert.equal(response.status, 200, seen);
  assert.equal(response.headers['ce-type'], FAILED_TYPE, seen);
  assert.ok(response.headers['ce-inresponseto'], `the reply has no inresponseto: ${seen}`);
  const data: unknown = JSON.parse(response.body.toString('utf8'));
  assert.ok(typeof data === 'object' && data !== null, seen);
  const { reason, message, gateway_name } = data as Record<string, unknown>;
  assert.equal(reason, expect.failed, seen);
  assert.match(String(message), expectedMessage(expect), seen);
  if (expect.gateway_name !== undefined) assert.equal(gateway_name, expect.gateway_name, seen);
}

describe('the bad-input corpus', () => {
  it('has at least 200 cases with unique names', () => {
    assert.ok(corpus.length >= 200, `only ${corpus.length} cases`);
    assert.equal(new Set(corpus.map((c) => c.name)).size, corpus.length);
  });

  for (const c of corpus) {
    // CORPUS_TODO=1 runs the cases marked todo as ordinary tests, to see whether they pass yet.
    it(c.name, c.todo === undefined || process.env.CORPUS_TODO ? {} : { todo: c.todo }, () =>
      check(c),
    );
  }

  it('logs every request to the function once, at the default level, and counts it once', async () => {
    // Every request gets its line and its count, whoever answers it (the function, or the 404
    // and 405 of a wrong path or method), except the CORS preflight, which the CORS hook ends.
    // An unknown method (BREW) is refused by the HTTP parser, as bad framing is: counted.
    const loggedRequests = corpus.filter((c) => rawRequestOf(c).method !== 'OPTIONS').length;
    const logged = () => h.fn.output().match(/"msg":"request"/g)?.length ?? 0;
    // Log lines travel apart from the answers, each written as its request ends: once the line
    // of one more event, sent after every answer came, is there, every other line is too. A
    // failed one: the default level (warn) logs no done event.
    const last = pendingEvent({ gateway_name: 'not a gateway' });
    await sendEvent(h.fn.url, last, 'binary');
    await eventually('the last event’s log line', () =>
      h.fn.output().includes(`"eventId":"${last.id}"`),
    );
    assert.equal(logged(), loggedRequests + 1, 'one provision line per request');
    const metrics = await (await fetch(`${h.fn.url}/metrics`)).text();
    const counted = [...metrics.matchAll(/^podgateway_requests_total\{.*\} (\d+)$/gm)]
      .map((match) => Number(match[1]))
      .reduce((sum, value) => sum + value, 0);
    assert.equal(counted, loggedRequests + 1, 'one count per request');
    assert.doesNotMatch(
      h.fn.output(),
      /execTimer|already sent|"level":50/,
      'no error of the runtime',
    );
  });

  it('leaves the function serving good events, in the same process', async () => {
    h.server.reset();
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(h.server.pods().length, 1);
    assert.equal(h.fn.process.exitCode, null);
    assert.equal((await fetch(`${h.fn.url}/health/liveness`)).status, 200);
    // No key of the hostile data reached a prototype: an event without a name still lacks one.
    const bare = await sendEvent(h.fn.url, pendingEvent({}), 'structured');
    assert.equal(bare.event?.data?.reason, 'InvalidGatewayName', bare.text);
  });
});
