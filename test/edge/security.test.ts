// What an attacker or a careless operator found (issue 9), each over HTTP against the spawned
// function: cross-origin requests, query strings, reply headers, one pod per source and id,
// and the ALLOWED_ORIGINS left set; the image and resource policy and the settings that must stop
// the start-up are security-policy.test.ts's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { MODES, type Mode, pendingEvent, post, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';
import { outputMatching } from '../support/output.ts';
import { answerTo, type RawOutcome, type RawResponse, sendRaw } from '../support/raw-http.ts';

const EVENT_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['content-type', 'application/json'],
  ['ce-specversion', '1.0'],
  ['ce-id', 'security-1'],
  ['ce-source', '/security'],
  ['ce-type', 'io.podgateway.client.pending'],
];
const GOOD_BODY = Buffer.from('{"gateway_name":"foo"}');

/** A pending event POSTed by a page of `origin`. */
function postFrom(url: string, origin: string): Promise<RawOutcome> {
  return sendRaw(url, {
    method: 'POST',
    path: '/',
    headers: [...EVENT_HEADERS, ['origin', origin]],
    body: GOOD_BODY,
  });
}

/** A browser's CORS preflight for a POST from `origin`, asking for `requestedHeaders`. */
function preflight(url: string, origin: string, requestedHeaders: string): Promise<RawResponse> {
  return answerTo(url, {
    method: 'OPTIONS',
    path: '/',
    headers: [
      ['origin', origin],
      ['access-control-request-method', 'POST'],
      ['access-control-request-headers', requestedHeaders],
    ],
    body: Buffer.alloc(0),
  });
}

describe('with the default configuration', () => {
  const h = useHarness({});

  describe('cross-origin requests', () => {
    it('refuses a browser preflight, and sends no CORS header', async () => {
      const response = await preflight(h.fn.url, 'https://evil.example', 'content-type, ce-id');
      assert.equal(response.status, 403);
      assert.match(response.body.toString(), /cross-origin requests are not accepted/);
      for (const name of Object.keys(response.headers)) {
        assert.ok(!name.startsWith('access-control-'), `${name} sent`);
      }
    });

    it('answers a plain OPTIONS without allowing any origin', async () => {
      const response = await fetch(h.fn.url, { method: 'OPTIONS' });
      assert.equal(response.headers.get('access-control-allow-origin'), null);
      assert.equal(response.headers.get('access-control-allow-headers'), null);
    });

    it('refuses a cross-origin POST with 403 before any pod is made, and logs why', async () => {
      h.server.reset();
      const outcome = await postFrom(h.fn.url, 'https://evil.example');
      assert.equal(outcome.kind === 'response' && outcome.response.status, 403);
      assert.equal(h.server.pods().length, 0);
      // The log line says what the answer says, not only its status.
      await outputMatching(
        h.fn,
        /"reason":"Forbidden","message":"cross-origin requests are not accepted \(origin \\"https:\/\/evil\.example\\"\)/,
      );
    });

    it('sends no CORS header on an event answered normally', async () => {
      const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(reply.headers.get('access-control-allow-origin'), null);
      assert.equal(reply.headers.get('access-control-allow-methods'), null);
    });
  });

  describe('query strings', () => {
    for (const path of ['/?query=x&body=%7B%22gateway_name%22%3A%22bar%22%7D', '/?a=1', '/?x']) {
      it(`refuses ${path} with 400 naming the parameter, before any pod`, async () => {
        h.server.reset();
        const response = await answerTo(h.fn.url, {
          method: 'POST',
          path,
          headers: EVENT_HEADERS,
          body: GOOD_BODY,
        });
        const name = new URLSearchParams(path.slice(2)).keys().next().value;
        assert.equal(response.status, 400);
        assert.match(
          response.body.toString(),
          new RegExp(`the query parameter \\\\"${name}\\\\" is not accepted`),
        );
        assert.equal(h.server.pods().length, 0);
      });
    }
  });

  describe('the function route, exactly', () => {
    // The router splits the target at ';' too: these reached the function, their parameters
    // copied over its request context (a `/;id=` one made a pod per delivery).
    const paths = [
      '/;x=1',
      '/;id=evil-1',
      '/;query=%7B%7D',
      '/;',
      '/;x=1?y=2',
      '/%3Bx=1',
      '/%3Fx=1',
      '/%2F',
      '//',
      '//;x=1',
      '/./',
      '/#x',
      '/?',
    ];
    for (const path of paths) {
      it(`refuses ${path} with a plain 404 or 400, before any pod`, async () => {
        h.server.reset();
        const response = await answerTo(h.fn.url, {
          method: 'POST',
          path,
          headers: EVENT_HEADERS,
          body: GOOD_BODY,
        });
        assert.ok([400, 404].includes(response.status), `${response.status}`);
        assert.match(
          response.body.toString(),
          /must be exactly \/|is not accepted|nothing is served at/,
        );
        assert.equal(h.server.pods().length, 0);
        assert.deepEqual(h.server.coreRequests(), []);
      });
    }

    it('refuses the same `;` event twice without making a pod for either', async () => {
      h.server.reset();
      for (const id of ['a', 'b']) {
        const response = await answerTo(h.fn.url, {
          method: 'POST',
          path: `/;id=${id}`,
          headers: EVENT_HEADERS.filter(([name]) => name !== 'ce-id'),
          body: GOOD_BODY,
        });
        assert.equal(response.status, 404);
        assert.match(response.body.toString(), /the path must be exactly \//);
      }
      assert.equal(h.server.pods().length, 0);
    });

    it('still serves / itself', async () => {
      h.server.reset();
      const response = await answerTo(h.fn.url, {
        method: 'POST',
        path: '/',
        headers: EVENT_HEADERS,
        body: GOOD_BODY,
      });
      assert.equal(response.status, 200, response.body.toString());
      assert.equal(h.server.pods().length, 1);
    });
  });

  describe('a wrong path or method', () => {
    const provisionsCount = async (reason: string) => {
      const text = await (await fetch(`${h.fn.url}/metrics`)).text();
      const line = new RegExp(
        `^podgateway_requests_total\\{[^}]*outcome="rejected",reason="${reason}"[^}]*\\} (\\d+)$`,
        'm',
      ).exec(text);
      return Number(line?.[1] ?? 0);
    };
    const logLines = (reason: string) =>
      h.fn
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"request"') && line.includes(`"reason":"${reason}"`))
        .length;

    it('POST /events: 404 with one clear line, logged and counted once', async () => {
      const [countBefore, linesBefore] = [await provisionsCount('NotFound'), logLines('NotFound')];
      const response = await fetch(`${h.fn.url}/events`, { method: 'POST', body: '{}' });
      assert.equal(response.status, 404);
      assert.deepEqual(await response.json(), {
        error: 'NotFound',
        message: 'nothing is served at "/events": send events with POST to /',
      });
      assert.equal(await provisionsCount('NotFound'), countBefore + 1);
      for (let attempt = 0; attempt < 50 && logLines('NotFound') === linesBefore; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(logLines('NotFound'), linesBefore + 1, h.fn.output());
    });

    it('PUT /: 405 with Allow, logged and counted once', async () => {
      h.server.reset();
      const [countBefore, linesBefore] = [
        await provisionsCount('MethodNotAllowed'),
        logLines('MethodNotAllowed'),
      ];
      const response = await fetch(`${h.fn.url}/`, { method: 'PUT', body: '{}' });
      assert.equal(response.status, 405);
      assert.match(response.headers.get('allow') ?? '', /\bPOST\b/);
      const body = (await response.json()) as { error: string; message: string };
      assert.equal(body.error, 'MethodNotAllowed');
      assert.match(body.message, /^PUT is not served at "\/": use .*POST/);
      assert.equal(await provisionsCount('MethodNotAllowed'), countBefore + 1);
      for (
        let attempt = 0;
        attempt < 50 && logLines('MethodNotAllowed') === linesBefore;
        attempt += 1
      ) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(logLines('MethodNotAllowed'), linesBefore + 1, h.fn.output());
      assert.equal(h.server.pods().length, 0);
    });

    it('keeps the health and metrics routes', async () => {
      for (const path of ['/health/readiness', '/health/liveness', '/metrics']) {
        assert.equal((await fetch(`${h.fn.url}${path}`)).status, 200, path);
      }
      assert.equal((await fetch(`${h.fn.url}/metrics`, { method: 'POST' })).status, 405);
    });
  });

  describe('attributes copied into the reply headers', () => {
    const structured = (attributes: Record<string, unknown>) =>
      post(
        h.fn.url,
        { 'content-type': 'application/cloudevents+json' },
        JSON.stringify({
          specversion: '1.0',
          id: `trace-${Math.random()}`,
          source: '/security',
          type: 'io.podgateway.client.pending',
          datacontenttype: 'application/json',
          data: { gateway_name: 'foo' },
          ...attributes,
        }),
      );
    const bad: Array<[string, Record<string, unknown>]> = [
      [
        'traceparent',
        { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nx-evil: 1' },
      ],
      ['traceparent', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0ü' }],
      ['traceparent', { traceparent: 'not a traceparent' }],
      ['traceparent', { traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' }],
      ['tracestate', { tracestate: 'congo=t61rcWkgMzE\u0000' }],
      ['tracestate', { tracestate: 'rojo=00f067aa0ba902b7\nx: 1' }],
      ['tracestate', { tracestate: 'vendor=ünïcode' }],
    ];
    for (const [attribute, attributes] of bad) {
      it(`refuses ${JSON.stringify(attributes)} with 400 naming ${attribute}, before any pod`, async () => {
        h.server.reset();
        const reply = await structured(attributes);
        assert.equal(reply.status, 400, reply.text);
        assert.match(JSON.parse(reply.text).message, new RegExp(`^${attribute} .* is not a W3C`));
        assert.equal(h.server.pods().length, 0);
      });
    }

    it('carries a valid trace context into the reply', async () => {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const tracestate = 'congo=t61rcWkgMzE, rojo=00f067aa0ba902b7';
      const reply = await structured({ traceparent, tracestate });
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.equal(reply.headers.get('ce-traceparent'), traceparent);
      assert.equal(reply.headers.get('ce-tracestate'), tracestate);
    });
  });

  describe('control characters in what is stored on the pod or printed', () => {
    const structuredEvent = (attributes: Record<string, unknown>, data: unknown) =>
      post(
        h.fn.url,
        { 'content-type': 'application/cloudevents+json' },
        JSON.stringify({
          specversion: '1.0',
          id: `control-${Math.random()}`,
          source: '/security',
          type: 'io.podgateway.client.pending',
          datacontenttype: 'application/json',
          data,
          ...attributes,
        }),
      );
    const characters: Array<[string, string]> = [
      ['ESC (a terminal escape)', '\u001b[31m'],
      ['NUL', '\u0000'],
      ['CR LF (a fake log line)', '\r\n{"msg":"request"}'],
      ['TAB', '\t'],
      ['DEL', '\u007f'],
      ['C1 NEL', '\u0085'],
      ['C1 CSI', '\u009b'],
      ['RIGHT-TO-LEFT OVERRIDE', '\u202e'],
      ['RIGHT-TO-LEFT MARK', '\u200f'],
      ['FIRST STRONG ISOLATE', '\u2068'],
      ['LINE SEPARATOR', '\u2028'],
      ['PARAGRAPH SEPARATOR', '\u2029'],
    ];
    for (const [what, character] of characters) {
      for (const attribute of ['id', 'source'] as const) {
        it(`refuses ${what} in ${attribute} with 400 naming it, before any API call`, async () => {
          h.server.reset();
          const value = attribute === 'id' ? `evil${character}1` : `/security${character}`;
          const reply = await structuredEvent({ [attribute]: value }, { gateway_name: 'foo' });
          assert.equal(reply.status, 400, reply.text);
          // A source must also be a URI-reference: the SDK's check may name it first.
          const expected =
            attribute === 'id'
              ? /^event id holds a control, line-separator or bidirectional character \(U\+[0-9A-F]{4} at position \d+\)/
              : /^event source holds a control|source must match format "uri-reference"/;
          assert.match(JSON.parse(reply.text).message, expected);
          assert.deepEqual(h.server.coreRequests(), []);
        });
      }
    }

    for (const [what, character] of [
      ['TAB', '\t'],
      ['RIGHT-TO-LEFT OVERRIDE, as UTF-8 bytes', '\u202e'],
      ['C1 NEL, as UTF-8 bytes', '\u0085'],
    ]) {
      it(`refuses ${what} in a binary event's ce-id with 400, before any API call`, async () => {
        h.server.reset();
        const response = await answerTo(h.fn.url, {
          method: 'POST',
          path: '/',
          headers: [
            ...EVENT_HEADERS.filter(([name]) => name !== 'ce-id'),
            ['ce-id', `evil${character}1`],
          ],
          body: GOOD_BODY,
        });
        assert.equal(response.status, 400, response.body.toString());
        assert.match(response.body.toString(), /event id holds a control/);
        assert.deepEqual(h.server.coreRequests(), []);
      });
    }

    it('refuses one in data.message too', async () => {
      h.server.reset();
      const reply = await structuredEvent(
        {},
        { gateway_name: 'foo', message: 'ok\u001b]0;pwned\u0007' },
      );
      assert.equal(reply.status, 400, reply.text);
      assert.match(JSON.parse(reply.text).message, /^data\.message holds a control/);
      assert.deepEqual(h.server.coreRequests(), []);
    });

    it('refuses one in a release or sweep too: one validation path for every type', async () => {
      h.server.reset();
      for (const type of ['io.podgateway.client.release', 'io.podgateway.client.sweep']) {
        const reply = await structuredEvent(
          { type, id: 'x\u001b[2J' },
          { pod_name: 'client-0123456789abcdef0123' },
        );
        assert.equal(reply.status, 400, reply.text);
        assert.match(JSON.parse(reply.text).message, /^event id holds a control/);
      }
      assert.deepEqual(h.server.coreRequests(), []);
    });

    it('still accepts printable Unicode', async () => {
      h.server.reset();
      const reply = await structuredEvent(
        { id: `événement-${Math.random()}` },
        { gateway_name: 'foo', message: 'déjà vu — 日本' },
      );
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    });
  });

  describe('one source and id, other data', () => {
    const send = (id: string, data: unknown, mode: Mode) =>
      sendEvent(h.fn.url, pendingEvent(data, { id, source: '/same' }), mode);

    for (const mode of MODES) {
      it(`another gateway gets failed AlreadyExists telling nothing of the first request, the log line what differs, and no second pod (${mode})`, async () => {
        h.server.reset();
        const first = await send(`same-gw-${mode}`, { gateway_name: 'foo' }, mode);
        assert.equal(first.event?.type, DONE_TYPE, first.text);
        const second = await send(`same-gw-${mode}`, { gateway_name: 'bar' }, mode);
        assert.equal(second.event?.type, FAILED_TYPE, second.text);
        assert.equal(second.event?.data?.reason, 'AlreadyExists');
        // Whoever reuses a source and id learns neither the first gateway nor what differs: no
        // oracle to guess another producer's gateway or message by.
        const message = String(second.event?.data?.message);
        assert.match(message, /asked for something else/);
        assert.doesNotMatch(message, /foo|gateway_name|differ/);
        assert.doesNotMatch(second.text, /"foo"|\\"foo\\"/);
        // The operator's log line names it.
        await outputMatching(h.fn, /gateway_name \(\\"foo\\" then, \\"bar\\" now\)/);
        assert.equal(h.server.pods().length, 1);
      });
    }

    it('another message gets failed AlreadyExists, the log line naming message', async () => {
      h.server.reset();
      await send('same-msg', { gateway_name: 'foo', message: 'one' }, 'binary');
      const second = await send('same-msg', { gateway_name: 'foo', message: 'two' }, 'binary');
      assert.equal(second.event?.data?.reason, 'AlreadyExists', second.text);
      assert.doesNotMatch(String(second.event?.data?.message), /message differ/);
      await outputMatching(h.fn, /differ\(s\): message/);
      assert.equal(h.server.pods().length, 1);
    });

    it('the same data again is a redelivery: done for the same pod', async () => {
      h.server.reset();
      const first = await send('same-all', { gateway_name: 'foo', message: 'one' }, 'binary');
      const again = await send('same-all', { gateway_name: 'foo', message: 'one' }, 'structured');
      assert.equal(again.event?.type, DONE_TYPE, again.text);
      assert.equal(again.event?.data?.pod_name, first.event?.data?.pod_name);
      assert.match(String(again.event?.data?.message), /already existed/);
    });
  });

  describe('a malformed override with ALLOWED_OVERRIDES empty', () => {
    it('is a 400 naming the field, whatever the policy, before any pod', async () => {
      h.server.reset();
      const reply = await sendEvent(
        h.fn.url,
        pendingEvent({ gateway_name: 'foo', image: 'curlimages/curl:../../evil' }),
        'binary',
      );
      assert.equal(reply.status, 400, reply.text);
      assert.match(reply.text, /data\.image must be an image reference/);
      assert.equal(h.server.pods().length, 0);
    });

    it('a well-formed one is failed PolicyViolation', async () => {
      h.server.reset();
      const reply = await sendEvent(
        h.fn.url,
        pendingEvent({ gateway_name: 'foo', image: 'curlimages/curl:8.5.0' }),
        'binary',
      );
      assert.equal(reply.event?.data?.reason, 'PolicyViolation', reply.text);
      assert.equal(h.server.pods().length, 0);
    });
  });

  describe('resources without a ceiling', () => {
    it('caps ephemeral storage by default', async () => {
      h.server.reset();
      const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
      const pod = h.server.pods()[0];
      assert.equal(reply.event?.type, DONE_TYPE, reply.text);
      assert.ok(pod?.spec?.containers[0]?.resources?.limits?.['ephemeral-storage']);
    });
  });
});

describe('with ALLOWED_ORIGINS still set, as before it was dropped', () => {
  const h = useHarness({ ALLOWED_ORIGINS: 'https://app.example' });

  it('says at start that it is no longer read', () => {
    assert.match(h.fn.output(), /warning: ALLOWED_ORIGINS is no longer read/);
  });

  it('refuses that origin too, its preflight with no CORS header, and makes no pod', async () => {
    const answer = await preflight(h.fn.url, 'https://app.example', 'content-type, ce-id');
    assert.equal(answer.status, 403);
    assert.equal(answer.headers['access-control-allow-origin'], undefined);
    h.server.reset();
    const outcome = await postFrom(h.fn.url, 'https://app.example');
    assert.equal(outcome.kind === 'response' && outcome.response.status, 403);
    assert.equal(h.server.pods().length, 0);
  });
});
