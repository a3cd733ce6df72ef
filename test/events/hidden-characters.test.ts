// Characters that a terminal acts on or that print as nothing (issue 25, items 5 and 6), over
// HTTP against the spawned function: refused with a 400 naming the field and the code point,
// before any Kubernetes API call, in every string that reaches the pod or an Event.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { DONE_TYPE } from '../../src/events/replies.ts';
import { post } from '../support/events.ts';
import { useHarness } from '../support/harness.ts';

const h = useHarness({
  ALLOWED_OVERRIDES: 'image,command,args,env',
  ALLOWED_IMAGES: 'curlimages/curl:*',
});
beforeEach(() => h.server.reset());

let sequence = 0;
function send(attributes: Record<string, unknown>, data: unknown) {
  sequence += 1;
  return post(
    h.fn.url,
    { 'content-type': 'application/cloudevents+json' },
    JSON.stringify({
      specversion: '1.0',
      id: `hidden-${process.pid}-${sequence}`,
      source: '/hidden',
      type: 'io.podgateway.client.pending',
      datacontenttype: 'application/json',
      data,
      ...attributes,
    }),
  );
}

const messageOf = (text: string): string => String(JSON.parse(text).message);

describe('control characters in overrides (kubectl describe prints them raw)', () => {
  const sequences: Array<[string, string]> = [
    ['an ESC sequence that clears the screen', '\u001b[2J\u001b[H'],
    ['an OSC sequence that sets the title', '\u001b]0;pwned\u0007'],
    ['a C1 CSI', '\u009b31m'],
    ['a newline that forges a line', 'x\nEvents: <none>'],
    ['a RIGHT-TO-LEFT OVERRIDE', 'exe.\u202etxt'],
  ];
  for (const [what, value] of sequences) {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['an env value', { env: { TARGET_URL: value } }, /^data\.env\.TARGET_URL holds a control/],
      ['an arg', { args: ['-s', value] }, /^data\.args\[1\] holds a control/],
      ['a command word', { command: [value] }, /^data\.command\[0\] holds a control/],
    ];
    for (const [field, data, expected] of cases) {
      it(`refuses ${what} in ${field}: 400 naming the field and code point, no pod`, async () => {
        const reply = await send({}, { gateway_name: 'foo', ...data });
        assert.equal(reply.status, 400, reply.text);
        assert.match(messageOf(reply.text), expected);
        assert.match(messageOf(reply.text), /\(U\+[0-9A-F]{4} at position \d+\)/);
        assert.deepEqual(h.server.coreRequests(), []);
        assert.deepEqual(h.server.pods('default'), []);
      });
    }
  }

  it('still makes the pod with printable Unicode in env, args and command', async () => {
    const reply = await send(
      {},
      {
        gateway_name: 'foo',
        command: ['curl'],
        args: ['-H', 'X-Note: déjà vu — 日本'],
        env: { GREETING: 'grüß dich' },
      },
    );
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
    const container = h.server.pods('default')[0]?.spec?.containers?.[0];
    assert.deepEqual(container?.args, ['-H', 'X-Note: déjà vu — 日本']);
  });
});

describe('invisible characters in what names a pod or is told in an Event', () => {
  const invisible: Array<[string, string]> = [
    ['ZERO WIDTH SPACE', '\u200b'],
    ['SOFT HYPHEN', '\u00ad'],
    ['BYTE ORDER MARK', '\ufeff'],
    ['WORD JOINER', '\u2060'],
    ['TAG LATIN SMALL LETTER A', '\u{e0061}'],
    ['CANCEL TAG', '\u{e007f}'],
    ['HANGUL CHOSEONG FILLER', '\u115f'],
    ['HANGUL JUNGSEONG FILLER', '\u1160'],
    ['HANGUL FILLER', '\u3164'],
    ['HALFWIDTH HANGUL FILLER', '\uffa0'],
    ['VARIATION SELECTOR-16', '\ufe0f'],
    ['VARIATION SELECTOR-17', '\u{e0100}'],
    ['ZERO WIDTH JOINER', '\u200d'],
    ['ARABIC LETTER MARK', '\u061c'],
  ];
  for (const [what, character] of invisible) {
    const code = `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
    const cases: Array<[string, Record<string, unknown>, unknown, RegExp]> = [
      ['id', { id: `invoice${character}42` }, { gateway_name: 'foo' }, /^event id holds/],
      ['source', { source: `/hidden${character}` }, { gateway_name: 'foo' }, /^event source holds/],
      ['data.message', {}, { gateway_name: 'foo', message: `hi${character}` }, /^data\.message/],
    ];
    for (const [field, attributes, data, expected] of cases) {
      it(`refuses ${what} in ${field}: 400 naming ${code}, before any API call`, async () => {
        const reply = await send(attributes, data);
        assert.equal(reply.status, 400, reply.text);
        const message = messageOf(reply.text);
        // A source must also be a URI-reference: the SDK's check may name it first.
        if (field === 'source' && /uri-reference/.test(message)) return;
        assert.match(message, expected);
        assert.ok(message.includes(`(${code} at position `), message);
        assert.deepEqual(h.server.coreRequests(), []);
      });
    }
  }

  it('five ids that read the same make no pod at all', async () => {
    for (const character of ['', '\u200b', '\u00ad', '\ufeff', '\u2060', '\u{e0041}']) {
      const reply = await send({ id: `same${character}-id` }, { gateway_name: 'foo' });
      assert.equal(reply.status, character === '' ? 200 : 400, reply.text);
    }
    assert.equal(h.server.pods('default').length, 1);
  });

  it('still accepts printable Unicode in id, source and message', async () => {
    const reply = await send(
      { id: `événement-${sequence}` },
      { gateway_name: 'foo', message: 'déjà vu — 日本' },
    );
    assert.equal(reply.event?.type, DONE_TYPE, reply.text);
  });
});
