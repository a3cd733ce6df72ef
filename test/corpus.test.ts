// The bad-input corpus (test/corpus/) against one running function: for every malformed or
// hostile request, no pod, no API call, no crash, never a 5xx nor a `done`, and the specific
// answer the case records. Cases marked `todo` are known to be answered otherwise today.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DONE_TYPE, FAILED_TYPE } from '../src/reply.ts';
import { type CorpusCase, expectedMessage, loadCorpus, rawRequestOf } from './corpus/corpus.ts';
import { pendingEvent, sendEvent } from './support/events.ts';
import { type RunningFunction, startFunction } from './support/function-process.ts';
import { type KubeApiServer, startKubeApiServer } from './support/kube-api-server.ts';
import { type RawResponse, sendRaw } from './support/raw-http.ts';

const corpus = loadCorpus();

let server: KubeApiServer;
let fn: RunningFunction;
let workDir: string;

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'provisioner-corpus-'));
  server = await startKubeApiServer({ namespaces: ['default'] });
  fn = await startFunction({ env: { KUBECONFIG: await server.writeKubeconfig(workDir) } });
});

after(async () => {
  await fn?.stop();
  await server?.close();
  await rm(workDir, { recursive: true, force: true });
});

const apiCalls = () => server.requests.filter((request) => request.path.startsWith('/api'));

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
  server.reset();
  const outcome = await sendRaw(fn.url, rawRequestOf(c));
  assert.equal(fn.process.exitCode, null, `the function exited:\n${fn.output().slice(-2000)}`);
  if (outcome.kind === 'error') assert.fail(`no HTTP answer: ${outcome.message}`);
  const { response } = outcome;
  const seen = summary(response);

  // Nothing let in, whatever the answer.
  assert.deepEqual(
    server.pods().map((pod) => pod.metadata?.name),
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

  it('leaves the function serving good events, in the same process', async () => {
    server.reset();
    const reply = await sendEvent(fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(server.pods().length, 1);
    assert.equal(fn.process.exitCode, null);
    assert.equal((await fetch(`${fn.url}/health/liveness`)).status, 200);
    // No key of the hostile data reached a prototype: an event without a name still lacks one.
    const bare = await sendEvent(fn.url, pendingEvent({}), 'structured');
    assert.equal(bare.event?.data?.reason, 'InvalidGatewayName', bare.text);
  });
});
