// Oversized and unprintable request values (issue 25): whatever a field holds, the reply and the
// log line repeat a bounded part of it, with nothing a terminal acts on or shows reordered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAILED_TYPE } from '../../src/events/replies.ts';
import { post, type Reply } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const BIG = 'x'.repeat(60_000);
/** Longest reply body or log line a hostile field may give: a message is at most 2 KiB. */
const MAX_TOLD = 6 * 1024;
/** Characters a log viewer or terminal would act on or show reordered. */
const UNSAFE = new RegExp(`[${String.fromCharCode(0x1b)}\u2028\u2029\u202a-\u202e\u2066-\u2069]`);

let sequence = 0;

/** The `message` of a JSON reply body or log line. */
function messageOf(json: string): string {
  const parsed = JSON.parse(json) as { message?: unknown };
  return typeof parsed.message === 'string' ? parsed.message : '';
}

/** A structured-mode pending event, `overrides` over the usual attributes. */
function envelope(overrides: Record<string, unknown>): Record<string, unknown> {
  sequence += 1;
  return {
    specversion: '1.0',
    id: `bounded-${process.pid}-${sequence}`,
    source: '/tests/bounded',
    type: 'io.podgateway.client.pending',
    datacontenttype: 'application/json',
    data: { gateway_name: 'foo' },
    ...overrides,
  };
}

describe('request values in replies and log lines', () => {
  // Info: the lines of events answered done too.
  const h = useHarness({ FUNC_LOG_LEVEL: 'info' });

  /** Posts the event and returns the reply and the log lines it made. */
  async function send(event: Record<string, unknown>): Promise<{ reply: Reply; lines: string[] }> {
    const before = h.fn.output().length;
    const reply = await post(
      h.fn.url,
      { 'content-type': 'application/cloudevents+json' },
      JSON.stringify(event),
    );
    const lines = await provisionLines(before);
    return { reply, lines };
  }

  /** The `provision` lines written after `from`, once one is there (the logger writes later). */
  async function provisionLines(from: number): Promise<string[]> {
    for (let tries = 0; tries < 200; tries += 1) {
      const lines = h.fn
        .output()
        .slice(from)
        .split('\n')
        .filter((line) => line.includes('"msg":"request"'));
      if (lines.length > 0) return lines;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`no log line for the event:\n${h.fn.output().slice(from, from + 2000)}`);
  }

  function assertBounded(reply: Reply, lines: string[]): void {
    assert.ok(reply.text.length < MAX_TOLD, `a reply of ${reply.text.length} characters`);
    for (const line of lines) {
      assert.ok(line.length < MAX_TOLD, `a log line of ${line.length} characters`);
      assert.doesNotMatch(line, UNSAFE);
    }
    assert.doesNotMatch(reply.text, UNSAFE);
  }

  const refused: ReadonlyArray<readonly [string, Record<string, unknown>, RegExp]> = [
    [
      'a 60,000-character type',
      { type: BIG },
      /event type "x+…\[\+\d+ characters\]" is not handled/,
    ],
    ['a 60,000-character id', { id: BIG }, /event id is longer than 1024 characters/],
    [
      'a 60,000-character specversion',
      { specversion: BIG },
      /specversion "x+…\[\+\d+ characters\]"/,
    ],
    ['a 60,000-character time', { time: BIG }, /time "x+…\[\+\d+ characters\]" is not an RFC 3339/],
    [
      'a 60,000-character datacontenttype',
      { datacontenttype: `text/${BIG}` },
      /datacontenttype "text\/x+…\[\+\d+ characters\]" is not JSON/,
    ],
    ['a 60,000-character attribute name', { [BIG]: { a: 1 } }, /x+…\[\+\d+ characters\]/],
  ];
  for (const [what, overrides, message] of refused) {
    it(`refuses ${what} with a bounded message, in the reply and the log line`, async () => {
      h.server.reset();
      const { reply, lines } = await send(envelope(overrides));
      assert.equal(reply.status, 400, reply.text);
      assert.match(messageOf(reply.text), message);
      assertBounded(reply, lines);
      assert.match(messageOf(lines[0] ?? '{}'), message);
      assert.equal(h.server.pods().length, 0);
    });
  }

  it('answers a 60,000-character gateway_name failed, the name bounded in the reply and the log', async () => {
    h.server.reset();
    const { reply, lines } = await send(envelope({ data: { gateway_name: BIG } }));
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.event?.type, FAILED_TYPE);
    const data = reply.event?.data as { gateway_name: string; message: string };
    assert.match(data.gateway_name, /^x{256}…\[\+59744 characters\]$/);
    assert.match(data.message, /data\.gateway_name "x+…\[\+\d+ characters\]" is not a valid label/);
    assertBounded(reply, lines);
    assert.equal(h.server.pods().length, 0);
  });

  it('makes the pod for an event with a 60,000-character unknown field, the warning bounded', async () => {
    h.server.reset();
    const { reply, lines } = await send(envelope({ data: { gateway_name: 'foo', [BIG]: 1 } }));
    assert.equal(reply.status, 200, reply.text);
    const data = reply.event?.data as { warnings?: string[] };
    assert.match(data.warnings?.[0] ?? '', /^data\.x{64}…\[\+59936 characters\] is not a field/);
    assertBounded(reply, lines);
    assert.equal(h.server.pods().length, 1);
  });

  it('writes line separators and bidirectional overrides as <U+…> in the log and the reply', async () => {
    h.server.reset();
    const type = await send(envelope({ type: 'io.podgateway\u2028{"outcome":"created"}\u202e' }));
    assert.equal(type.reply.status, 400);
    assert.match(messageOf(type.lines[0] ?? '{}'), /io\.podgateway<U\+2028>.*created.*<U\+202E>/);
    assertBounded(type.reply, type.lines);

    const contentType = await send(envelope({ datacontenttype: 'text/plain\u2029\u202e' }));
    assert.equal(contentType.reply.status, 400);
    assert.match(messageOf(contentType.lines[0] ?? '{}'), /text\/plain<U\+2029><U\+202E>/);
    assertBounded(contentType.reply, contentType.lines);

    const field = await send(envelope({ data: { gateway_name: 'foo', 'a\u202eb\u2028': 1 } }));
    assert.equal(field.reply.status, 200);
    assert.match(field.reply.text, /data\.a<U\+202E>b<U\+2028> is not a field/);
    assertBounded(field.reply, field.lines);
    assert.match(field.lines.join('\n'), /a<U\+202E>b<U\+2028>/);
  });

  it('writes an ESC sequence in a refused id as <U+001B> in the log line', async () => {
    const { reply, lines } = await send(envelope({ id: 'a\u001b[2J\u001b[Hb' }));
    assert.equal(reply.status, 400);
    assert.match(lines.join('\n'), /"eventId":"a<U\+001B>\[2J<U\+001B>\[Hb"/);
    assertBounded(reply, lines);
  });
});
