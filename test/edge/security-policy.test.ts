// What an attacker or a careless operator found (issue 9), the policy part: what overrides and
// CLIENT_LIMITS let through over HTTP against the function, and the settings that must stop the
// start-up. The requests themselves (origins, query strings, headers, ids) are security.test.ts's.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { pendingEvent, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';
import { outputMatching } from '../support/output.ts';
import { useStartupOutcome } from '../support/startup-outcome.ts';

describe('with overrides allowed', () => {
  const h = useHarness({
    ALLOWED_OVERRIDES: 'image,resources',
    ALLOWED_IMAGES: 'ghcr.io/acme/*,alpine/curl:*',
  });
  const send = (data: Record<string, unknown>, id?: string) =>
    sendEvent(
      h.fn.url,
      pendingEvent({ gateway_name: 'foo', ...data }, id ? { id, source: '/same' } : {}),
      'structured',
    );

  it('another image under the same source and id gets failed AlreadyExists, the log line naming image, not the first pod', async () => {
    h.server.reset();
    const first = await send({ image: 'alpine/curl:8.5.0' }, 'same-image');
    assert.equal(first.event?.type, DONE_TYPE, first.text);
    const second = await send({ image: 'ghcr.io/acme/other:1' }, 'same-image');
    assert.equal(second.event?.data?.reason, 'AlreadyExists', second.text);
    assert.doesNotMatch(String(second.event?.data?.message), /image|alpine/);
    await outputMatching(h.fn, /differ\(s\): image/);
    assert.equal(h.server.pods().length, 1);
  });

  for (const image of [
    'ghcr.io/acme-attacker/miner:1',
    'ghcr.io/acme.evil.io/x:1',
    'alpine/curlx:1',
  ]) {
    it(`does not let ${image} through a pattern it only starts like`, async () => {
      h.server.reset();
      const reply = await send({ image });
      assert.equal(reply.event?.data?.reason, 'PolicyViolation', reply.text);
      assert.equal(h.server.pods().length, 0);
    });
  }

  for (const image of ['curlimages/curl:../../evil', 'alpine/curl:', 'ghcr.io/acme/x:../y']) {
    it(`refuses ${JSON.stringify(image)}, not an image reference, with 400`, async () => {
      h.server.reset();
      const reply = await send({ image });
      assert.equal(reply.status, 400, reply.text);
      assert.match(reply.text, /data.image must be an image reference/);
      assert.equal(h.server.pods().length, 0);
    });
  }

  it('refuses ephemeral-storage: 900Ei, above the default ceiling', async () => {
    h.server.reset();
    const reply = await send({ resources: { limits: { 'ephemeral-storage': '900Ei' } } });
    assert.equal(reply.event?.data?.reason, 'PolicyViolation', reply.text);
    assert.equal(h.server.pods().length, 0);
  });
});

describe('with CLIENT_LIMITS empty', () => {
  const h = useHarness({ ALLOWED_OVERRIDES: 'resources', CLIENT_LIMITS: '' });

  for (const [resource, quantity] of [
    ['cpu', '512'],
    ['memory', '2Ti'],
    ['ephemeral-storage', '900Ei'],
  ] as const) {
    it(`refuses a ${resource} override: no ceiling is set for it`, async () => {
      h.server.reset();
      const reply = await sendEvent(
        h.fn.url,
        pendingEvent({ gateway_name: 'foo', resources: { limits: { [resource]: quantity } } }),
        'binary',
      );
      assert.equal(reply.event?.data?.reason, 'PolicyViolation', reply.text);
      assert.match(String(reply.event?.data?.message), /CLIENT_LIMITS sets no ceiling/);
      assert.equal(h.server.pods().length, 0);
    });
  }
});

describe('settings refused at start-up', () => {
  const { outcome: refused } = useStartupOutcome('security');

  it('K_SINK with credentials, without repeating the secret', async () => {
    const { code, output } = await refused({ K_SINK: 'http://user:s3cret-value@127.0.0.1:9/' });
    assert.notEqual(code, 0);
    assert.match(output, /K_SINK: carries credentials/);
    assert.doesNotMatch(output, /s3cret-value/);
  });

  for (const pattern of ['ghcr.io/acme*', 'registry.example.com*', '*']) {
    it(`ALLOWED_IMAGES=${pattern}`, async () => {
      const { code, output } = await refused({
        ALLOWED_OVERRIDES: 'image',
        ALLOWED_IMAGES: pattern,
      });
      assert.notEqual(code, 0);
      assert.match(
        output,
        /ALLOWED_IMAGES: .* a wildcard must stand for a whole path segment or tag/,
      );
    });
  }

  it('EVENT_SOURCE with a character no reply header can carry', async () => {
    const { code, output } = await refused({ EVENT_SOURCE: 'podgateway/événement' });
    assert.notEqual(code, 0);
    assert.match(output, /EVENT_SOURCE: .* is not a URI-reference/);
  });

  for (const variable of ['API_TIMEOUT_MS', 'EVENT_DEADLINE_MS', 'SHUTDOWN_GRACE_MS']) {
    it(`${variable}=3000000000, beyond Node's timer limit`, async () => {
      const { code, output } = await refused({ [variable]: '3000000000' });
      assert.notEqual(code, 0);
      assert.match(output, new RegExp(`${variable}: 3000000000 is above the maximum`));
    });
  }

  it('settings that would start and then break, every one at once, one plain line each', async () => {
    const { code, output } = await refused({
      GATEWAY_LABEL: 'app.kubernetes.io/managed-by',
      GATEWAY_ANNOTATION: 'podgateway.io/event-id',
      CLIENT_LIMITS: 'cpu=0,memory=8Mi',
      CLIENT_REQUESTS: 'memory=16Mi',
      CLIENT_COMMAND: '[" ", "infinity"]',
      API_TIMEOUT_MS: '0x10',
      EVENT_DEADLINE_MS: '1e4',
      CLIENT_ACTIVE_DEADLINE_SECONDS: '16.0',
      FUNC_BODY_LIMIT: '1e9',
      LISTEN_HOST: 'not a host',
    });
    assert.notEqual(code, 0);
    const lines = [
      /GATEWAY_LABEL: "app\.kubernetes\.io\/managed-by" is a key the function sets on every pod/,
      /GATEWAY_ANNOTATION: "podgateway\.io\/event-id" is a key the function sets on every pod/,
      /CLIENT_LIMITS: cpu is zero: a kubelet reads a zero limit as no limit at all/,
      /CLIENT_REQUESTS: memory=16Mi is above its limit 8Mi \(CLIENT_LIMITS\)/,
      /CLIENT_COMMAND: is empty/,
      /API_TIMEOUT_MS: "0x10" is not a whole number of milliseconds from 1 to 300000/,
      /EVENT_DEADLINE_MS: "1e4" is not a whole number of milliseconds/,
      /CLIENT_ACTIVE_DEADLINE_SECONDS: "16\.0" is not a whole number of seconds/,
      /FUNC_BODY_LIMIT: "1e9" is not a whole number of bytes/,
      /LISTEN_HOST: "not a host" is not an IP address/,
    ];
    for (const line of lines) assert.match(output, line);
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  });

  it('a resource set twice, and a body limit above the cap', async () => {
    const { code, output } = await refused({
      CLIENT_REQUESTS: 'cpu=10m,cpu=20m',
      SHUTDOWN_GRACE_MS: ' 16',
      FUNC_BODY_LIMIT: '99999999999999',
    });
    assert.notEqual(code, 0);
    assert.match(output, /CLIENT_REQUESTS: sets cpu twice/);
    assert.match(output, /SHUTDOWN_GRACE_MS: " 16" is not a whole number of milliseconds/);
    assert.match(output, /FUNC_BODY_LIMIT: 99999999999999 is above the maximum, 1048576/);
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  });
});
