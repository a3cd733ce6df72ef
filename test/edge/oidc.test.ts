// OIDC_AUDIENCE end to end, over HTTP against the spawned function: only a token of the cluster's
// issuer (the API test server's discovery document and JWKS) for the audience, from a subject of
// OIDC_SUBJECTS, reaches the handler; the rest is 401 or 403, logged and counted, nothing made.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTP } from 'cloudevents';
import { DONE_TYPE } from '../../src/events/replies.ts';
import type { ServedFunction } from '../../testbed/function-process.ts';
import { parseExposition } from '../../testbed/prometheus.ts';
import { pendingEvent, post, type Reply } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';
import { useStartupOutcome } from '../support/startup-outcome.ts';

const AUDIENCE = 'podgateway/provisioner';
const NAMESPACE = 'podgateway-provisioner';
const TRIGGER_ACCOUNT = 'client-provisioner-pending-oidc-eventing.knative.dev-trigger';

function send(url: string, authorization: string | undefined, id?: string): Promise<Reply> {
  const message = HTTP.binary(pendingEvent({ gateway_name: 'foo' }, id ? { id } : {}));
  const headers: Record<string, string> = { ...(message.headers as Record<string, string>) };
  if (authorization !== undefined) headers.authorization = authorization;
  return post(url, headers, String(message.body));
}

/** The function's log line of the event `eventId`, once it is written (10 s at most). */
async function logLine(fn: ServedFunction, eventId: string): Promise<Record<string, unknown>> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const line = fn
      .output()
      .split('\n')
      .filter((text) => text.includes('"msg":"request"'))
      .map((text) => JSON.parse(text) as Record<string, unknown>)
      .find((entry) => entry.eventId === eventId);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no log line for event ${eventId}:\n${fn.output()}`);
}

describe('with OIDC_AUDIENCE and OIDC_SUBJECTS', () => {
  const h = useHarness({
    OIDC_AUDIENCE: AUDIENCE,
    OIDC_SUBJECTS: `system:serviceaccount:${NAMESPACE}:${TRIGGER_ACCOUNT}`,
  });
  const token = (serviceAccount = TRIGGER_ACCOUNT, audiences = [AUDIENCE]) =>
    h.server.issuer.createToken({ namespace: NAMESPACE, serviceAccount, audiences });
  const podCreates = () =>
    h.server.coreRequests().filter((request) => request.method === 'POST').length;

  it('says so at start, naming the issuer, the audience and the subjects', () => {
    assert.match(
      h.fn.output(),
      /events need a bearer token of issuer https:\/\/kubernetes\.default\.svc\.cluster\.local \(1 key\) for audience podgateway\/provisioner from system:serviceaccount:podgateway-provisioner:client-provisioner-pending-oidc/,
    );
  });

  it('serves an event with the Trigger’s token', async () => {
    h.server.reset();
    const reply = await send(h.fn.url, `Bearer ${token()}`);
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(h.server.pods().length, 1);
  });

  it('answers 401 with WWW-Authenticate to an event without a token, and makes nothing', async () => {
    h.server.reset();
    const reply = await send(h.fn.url, undefined, 'no-token-1');
    assert.equal(reply.status, 401, reply.text);
    assert.equal(reply.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(JSON.parse(reply.text), {
      error: 'Unauthorized',
      message: 'no bearer token: the request has no Authorization header',
    });
    assert.equal(podCreates(), 0);
  });

  it('answers 401 to a token for another audience, naming it invalid, and makes nothing', async () => {
    h.server.reset();
    const reply = await send(h.fn.url, `Bearer ${token(TRIGGER_ACCOUNT, ['other'])}`);
    assert.equal(reply.status, 401, reply.text);
    assert.equal(reply.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    assert.match(reply.text, /not for this function's audience/);
    assert.equal(podCreates(), 0);
  });

  it('answers 403 to a good token of a subject not allowed, and makes nothing', async () => {
    h.server.reset();
    const reply = await send(h.fn.url, `Bearer ${token('default')}`);
    assert.equal(reply.status, 403, reply.text);
    assert.deepEqual(JSON.parse(reply.text), {
      error: 'Forbidden',
      message:
        'the token\'s subject "system:serviceaccount:podgateway-provisioner:default" is not in OIDC_SUBJECTS',
    });
    assert.equal(podCreates(), 0);
  });

  it('logs and counts each refusal with its reason, never the token', async () => {
    const secret = token(TRIGGER_ACCOUNT, ['other']);
    await send(h.fn.url, `Bearer ${secret}`, 'logged-401');
    await send(h.fn.url, `Bearer ${token('default')}`, 'logged-403');
    // The line is written as the answer leaves: wait for it, bounded.
    const unauthorized = await logLine(h.fn, 'logged-401');
    const forbidden = await logLine(h.fn, 'logged-403');
    assert.equal(unauthorized?.reason, 'Unauthorized');
    assert.equal(unauthorized?.outcome, 'rejected');
    assert.match(String(unauthorized?.message), /not for this function's audience/);
    assert.equal(forbidden?.reason, 'Forbidden');
    const [, , signature = ''] = secret.split('.');
    assert.ok(!h.fn.output().includes(signature.slice(0, 40)), 'the token was logged');
    const metrics = parseExposition(await (await fetch(`${h.fn.url}/metrics`)).text());
    const count = (reason: string) =>
      metrics.samples.find(
        (sample) =>
          sample.name === 'podgateway_requests_total' &&
          sample.labels.outcome === 'rejected' &&
          sample.labels.reason === reason,
      )?.value ?? 0;
    assert.ok(count('Unauthorized') >= 1);
    assert.ok(count('Forbidden') >= 1);
  });

  it('keeps the health and metrics routes open without a token', async () => {
    for (const path of ['/health/readiness', '/health/liveness', '/metrics']) {
      const response = await fetch(`${h.fn.url}${path}`);
      assert.equal(response.status, 200, path);
    }
  });
});

describe('without OIDC_AUDIENCE', () => {
  const h = useHarness({});

  it('says at start that no token is asked for, and serves an event without one', async () => {
    assert.match(h.fn.output(), /OIDC_AUDIENCE is empty: events are not asked for a token/);
    const reply = await send(h.fn.url, undefined);
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
  });
});

describe('OIDC settings refused at start-up', () => {
  const { outcome: start, server } = useStartupOutcome('oidc');

  it('one line per bad subject, and an audience with a space', async () => {
    const { code, output } = await start({
      OIDC_AUDIENCE: 'two words',
      OIDC_SUBJECTS: 'system:serviceaccount:ok:fine,knative-eventing:*,system:serviceaccount:Bad:x',
    });
    assert.equal(code, 1);
    const problems = output.split('\n').filter((line) => line.includes('cannot start'));
    assert.equal(problems.length, 3, output);
    assert.match(output, /cannot start: OIDC_AUDIENCE: "two words" is not one audience/);
    assert.match(
      output,
      /cannot start: OIDC_SUBJECTS: "knative-eventing:\*": expected system:serviceaccount:NAMESPACE:NAME/,
    );
    assert.match(output, /cannot start: OIDC_SUBJECTS: .*"Bad" is not a namespace name/);
  });

  it('subjects without an audience, and an audience without subjects', async () => {
    const subjectsOnly = await start({ OIDC_SUBJECTS: 'system:serviceaccount:a:b' });
    assert.equal(subjectsOnly.code, 1);
    assert.match(subjectsOnly.output, /OIDC_SUBJECTS: is set but OIDC_AUDIENCE is empty/);
    const audienceOnly = await start({ OIDC_AUDIENCE: AUDIENCE });
    assert.equal(audienceOnly.code, 1);
    assert.match(audienceOnly.output, /OIDC_SUBJECTS: is empty while OIDC_AUDIENCE is set/);
  });

  it('an issuer whose keys cannot be read', async () => {
    server().injectFault({ path: '/openid/v1/jwks', status: 403, times: 100 });
    const { code, output } = await start({
      OIDC_AUDIENCE: AUDIENCE,
      OIDC_SUBJECTS: 'system:serviceaccount:a:*',
    });
    server().reset();
    assert.equal(code, 1);
    assert.match(
      output,
      /cannot start: OIDC_AUDIENCE: the tokens cannot be checked: the service-account issuer's \/openid\/v1\/jwks could not be read/,
    );
  });
});
