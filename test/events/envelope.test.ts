import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envelopeProblem, notAnEventMessage } from '../../src/events/envelope.ts';

const binary = {
  'content-type': 'application/json',
  'ce-specversion': '1.0',
  'ce-id': '1',
  'ce-source': '/s',
  'ce-type': 'io.podgateway.client.pending',
};
const structured = {
  specversion: '1.0',
  id: '1',
  source: '/s',
  type: 'io.podgateway.client.pending',
};
const structuredHeaders = { 'content-type': 'application/cloudevents+json; charset=utf-8' };
const asStructured = (envelope: Record<string, unknown>) =>
  envelopeProblem(structuredHeaders, JSON.stringify(envelope));

describe('the envelope, checked strictly', () => {
  it('accepts a complete 1.0 event in either mode', () => {
    assert.equal(envelopeProblem(binary, { gateway_name: 'foo' }), undefined);
    assert.equal(
      asStructured({ ...structured, time: '2026-11-23T08:00:00.5+01:00', data: {} }),
      undefined,
    );
  });

  const binaryCases: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ['no ce-specversion', { 'ce-specversion': undefined }, /ce-specversion is missing/],
    [
      'ce-specversion 2.0',
      { 'ce-specversion': '2.0' },
      /ce-specversion "2.0" is not supported; expected "1.0"/,
    ],
    ['an empty ce-id', { 'ce-id': '' }, /ce-id must be a non-empty string/],
    [
      'a ce-time that is not a timestamp',
      { 'ce-time': 'yesterday' },
      /ce-time "yesterday" is not an RFC 3339 timestamp/,
    ],
    ['a ce-time out of range', { 'ce-time': '2024-13-45T99:99:99Z' }, /not an RFC 3339 timestamp/],
  ];
  for (const [name, change, message] of binaryCases) {
    it(`rejects, in binary mode, ${name}`, () => {
      const headers = Object.fromEntries(
        Object.entries({ ...binary, ...change }).filter(([, value]) => value !== undefined),
      );
      assert.match(envelopeProblem(headers, {}) ?? '', message);
    });
  }

  const structuredCases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no id', { id: undefined }, /^id is missing/],
    ['a null id', { id: null }, /id must be a non-empty string/],
    ['no specversion', { specversion: undefined }, /specversion is missing/],
    ['specversion the number 1', { specversion: 1 }, /specversion must be a non-empty string/],
    [
      'a time that is a number',
      { time: 1700000000 },
      /time 1700000000 is not an RFC 3339 timestamp/,
    ],
    ['data_base64', { data_base64: 'e30=' }, /data_base64 is not supported/],
    [
      'an extension that is an object',
      { myext: { a: 1 } },
      /myext must be a string, number or boolean/,
    ],
  ];
  for (const [name, change, message] of structuredCases) {
    it(`rejects, in structured mode, ${name}`, () => {
      assert.match(asStructured({ ...structured, ...change }) ?? '', message);
    });
  }
});

describe('explaining a request that is not a CloudEvent', () => {
  it('names the first missing binary-mode header', () => {
    assert.match(
      notAnEventMessage({ 'ce-type': 'x' }, {}),
      /not a valid CloudEvent: ce-specversion is missing/,
    );
  });
  it('says a structured body is not JSON', () => {
    assert.match(
      notAnEventMessage(structuredHeaders, '{"specversion":'),
      /structured-mode body is not valid JSON/,
    );
  });
  it('refuses batches', () => {
    assert.match(
      notAnEventMessage({ 'content-type': 'application/cloudevents-batch+json' }, '[]'),
      /batched events .* are not supported/,
    );
  });
  it('says what is expected of a plain request', () => {
    assert.match(
      notAnEventMessage({ 'content-type': 'application/json' }, {}),
      /expected a CloudEvent of type "io.podgateway.client.pending"/,
    );
  });
});
