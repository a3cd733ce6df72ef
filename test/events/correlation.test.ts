// Knative Eventing's RequestReply, end to end over HTTP: the correlation id a request carries
// comes back in the reply attribute of every answer (done, failed, release, sweep; binary and
// structured; a redelivery), and one that cannot travel back gets a 400 naming its attribute.

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import {
  RELEASE_DONE_TYPE,
  RELEASE_FAILED_TYPE,
  RELEASE_TYPE,
  SWEEP_DONE_TYPE,
  SWEEP_TYPE,
} from '../../src/events/event-types.ts';
import { DONE_TYPE, FAILED_TYPE } from '../../src/events/replies.ts';
import { MODES, pendingEvent, post, sendEvent } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const NAMESPACE = 'client-system';

/** A correlation id as RequestReply makes them: `<event id>:<base64url>:<replica index>`. */
const correlationFor = (id: string) =>
  `${id}:${Buffer.from(`nonce-and-sealed-${id}`).toString('base64url')}:0`;

describe('RequestReply with the default attribute names', () => {
  const h = useHarness(
    { CLIENT_NAMESPACE: NAMESPACE, GATEWAYS: 'foo', SWEEP_INTERVAL_SECONDS: '0' },
    { namespaces: ['default', NAMESPACE] },
  );
  beforeEach(() => h.server.reset());

  for (const mode of MODES) {
    it(`copies correlationid into replyid of every answer, in ${mode} mode`, async () => {
      const pending = pendingEvent({ gateway_name: 'foo' });
      const correlation = correlationFor(pending.id);
      const request = pending.cloneWith({ correlationid: correlation });
      const done = await sendEvent(h.fn.url, request, mode);
      assert.equal(done.event?.type, DONE_TYPE, done.text);
      assert.equal(done.event?.replyid, correlation);
      assert.equal(done.event?.correlationid, undefined, 'the reply is not a new request');

      // The RequestReply delivers again with the same id: the redelivery's done carries it too.
      const again = await sendEvent(h.fn.url, request, mode);
      assert.match(String(again.event?.data?.message), /already existed/, again.text);
      assert.equal(again.event?.replyid, correlation);

      const podName = String(done.event?.data?.pod_name);
      const answers = [
        [pendingEvent({ gateway_name: 'bar' }), FAILED_TYPE],
        [pendingEvent({ pod_name: podName }, { type: RELEASE_TYPE }), RELEASE_DONE_TYPE],
        [pendingEvent({ pod_name: 'Not_A_Pod' }, { type: RELEASE_TYPE }), RELEASE_FAILED_TYPE],
        [
          pendingEvent(undefined, { type: SWEEP_TYPE, datacontenttype: undefined }),
          SWEEP_DONE_TYPE,
        ],
      ] as const;
      for (const [event, type] of answers) {
        const id = correlationFor(event.id);
        const reply = await sendEvent(h.fn.url, event.cloneWith({ correlationid: id }), mode);
        assert.equal(reply.event?.type, type, reply.text);
        assert.equal(reply.event?.replyid, id, `${type} carries the correlation id back`);
      }
    });
  }

  it('sends no replyid for a request without a correlation id', async () => {
    const reply = await sendEvent(h.fn.url, pendingEvent({ gateway_name: 'foo' }), 'binary');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers.get('ce-replyid'), null);
  });

  it('carries back an id with characters a header must encode, as inresponseto is', async () => {
    const event = pendingEvent({ gateway_name: 'foo' }, { id: 'order 7 "x"' });
    const correlation = `${event.id}:c2VhbGVk:1`;
    const reply = await sendEvent(
      h.fn.url,
      event.cloneWith({ correlationid: correlation }),
      'structured',
    );
    assert.equal(reply.headers.get('ce-replyid'), 'order%207%20%22x%22:c2VhbGVk:1');
    assert.equal(decodeURIComponent(reply.headers.get('ce-replyid') ?? ''), correlation);
  });

  const refused: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ['too long', `id:${'A'.repeat(2560)}:0`, /^correlationid is longer than 2560 characters$/],
    ['empty', '', /^correlationid must be a non-empty string$/],
    ['a number', 5, /^correlationid must be a non-empty string$/],
    [
      'a control character',
      'id:\u001b[2J:0',
      /^correlationid holds a control.*U\+001B at position 3.*replyid$/,
    ],
  ];
  for (const [what, value, message] of refused) {
    it(`answers 400 naming the attribute for a correlation id that is ${what}`, async () => {
      const event = pendingEvent({ gateway_name: 'foo' });
      const body = JSON.stringify({ ...event.toJSON(), correlationid: value });
      const reply = await post(h.fn.url, { 'content-type': 'application/cloudevents+json' }, body);
      assert.equal(reply.status, 400, reply.text);
      assert.match(JSON.parse(reply.text).message, message);
      assert.deepEqual(h.server.pods(NAMESPACE), [], 'no pod for a refused event');
    });
  }
});

describe('RequestReply with the attribute names of REPLY_CORRELATION_ATTRIBUTE and REPLY_ID_ATTRIBUTE', () => {
  const h = useHarness(
    {
      CLIENT_NAMESPACE: NAMESPACE,
      REPLY_CORRELATION_ATTRIBUTE: 'requestkey',
      REPLY_ID_ATTRIBUTE: 'answerkey',
    },
    { namespaces: ['default', NAMESPACE] },
  );

  it('reads the one and writes the other, and leaves the default names alone', async () => {
    const event = pendingEvent({ gateway_name: 'foo' });
    const reply = await sendEvent(
      h.fn.url,
      event.cloneWith({ requestkey: 'k:1:0', correlationid: 'not-ours' }),
      'binary',
    );
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    assert.equal(reply.headers.get('ce-answerkey'), 'k:1:0');
    assert.equal(reply.headers.get('ce-replyid'), null);
  });
});
