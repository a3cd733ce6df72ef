import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../src/config.ts';
import {
  type IncomingEvent,
  notAnEventMessage,
  PENDING_TYPE,
  readRequest,
} from '../src/request.ts';

const config = parseConfig({});
const event = (data: unknown, overrides: Partial<IncomingEvent> = {}): IncomingEvent => ({
  id: 'e-1',
  source: '/producer',
  type: PENDING_TYPE,
  data,
  ...overrides,
});

describe('reading a pending event', () => {
  it('accepts a gateway name and an optional message, ignoring other fields', () => {
    const verdict = readRequest(event({ gateway_name: 'foo', message: 'hi', extra: 1 }), config);
    assert.deepEqual(verdict, {
      kind: 'provision',
      request: { gatewayName: 'foo', message: 'hi', eventId: 'e-1', eventSource: '/producer' },
    });
  });

  it('decodes data that arrives as JSON text or bytes', () => {
    for (const data of ['{"gateway_name":"foo"}', Buffer.from('{"gateway_name":"foo"}')]) {
      const verdict = readRequest(event(data), config);
      assert.equal(verdict.kind, 'provision');
    }
  });

  it('rejects another event type, naming the expected one', () => {
    const verdict = readRequest(
      event({ gateway_name: 'foo' }, { type: 'com.example.other' }),
      config,
    );
    assert.equal(verdict.kind, 'reject');
    assert.match(
      verdict.kind === 'reject' ? verdict.message : '',
      /"com.example.other" is not handled; expected "io.podgateway.client.pending"/,
    );
  });

  const rejected: Array<[string, unknown, RegExp]> = [
    ['no data', undefined, /has no data/],
    ['data not JSON', '{gateway_name: foo', /not JSON/],
    ['data an array', ['foo'], /is an array/],
    ['data a number', 5, /is a number/],
    [
      'gateway_name a number',
      { gateway_name: 5 },
      /data.gateway_name must be a string, got a number/,
    ],
    ['message an object', { gateway_name: 'foo', message: {} }, /data.message must be a string/],
    ['message too long', { gateway_name: 'foo', message: 'x'.repeat(1025) }, /longer than 1024/],
  ];
  for (const [name, data, message] of rejected) {
    it(`rejects ${name}`, () => {
      const verdict = readRequest(event(data), config);
      assert.equal(verdict.kind, 'reject');
      assert.match(verdict.kind === 'reject' ? verdict.message : '', message);
    });
  }

  it('rejects ids and sources too long to record on the pod', () => {
    const verdict = readRequest(event({ gateway_name: 'foo' }, { id: 'i'.repeat(1025) }), config);
    assert.equal(verdict.kind, 'reject');
  });

  const invalidNames = [
    '',
    'foo,bar',
    'foo=bar',
    'foo\nbar',
    '-foo',
    'foo-',
    'a'.repeat(64),
    'fоo' /* Cyrillic о */,
  ];
  for (const name of invalidNames) {
    it(`fails gateway name ${JSON.stringify(name)} as InvalidGatewayName`, () => {
      const verdict = readRequest(event({ gateway_name: name }), config);
      assert.equal(verdict.kind, 'fail');
      assert.equal(verdict.kind === 'fail' && verdict.reason, 'InvalidGatewayName');
    });
  }

  it('fails a missing gateway name as InvalidGatewayName', () => {
    const verdict = readRequest(event({}), config);
    assert.equal(verdict.kind === 'fail' && verdict.reason, 'InvalidGatewayName');
  });

  it('does not read gateway_name through __proto__', () => {
    const verdict = readRequest(event('{"__proto__": {"gateway_name": "foo"}}'), config);
    assert.equal(verdict.kind === 'fail' && verdict.reason, 'InvalidGatewayName');
  });

  it('accepts only configured gateways when GATEWAYS is set', () => {
    const restricted = parseConfig({ GATEWAYS: 'foo,bar' });
    assert.equal(readRequest(event({ gateway_name: 'bar' }), restricted).kind, 'provision');
    const verdict = readRequest(event({ gateway_name: 'baz' }), restricted);
    assert.equal(verdict.kind === 'fail' && verdict.reason, 'UnknownGateway');
    assert.match(
      verdict.kind === 'fail' ? verdict.message : '',
      /not one of the configured gateways \(foo, bar\)/,
    );
  });
});

describe('explaining a request that is not a CloudEvent', () => {
  it('names the missing binary-mode headers', () => {
    assert.match(
      notAnEventMessage({ 'ce-type': PENDING_TYPE }),
      /missing: ce-specversion, ce-id, ce-source$/,
    );
  });
  it('says a structured body is not an event', () => {
    assert.match(
      notAnEventMessage({ 'content-type': 'application/cloudevents+json' }),
      /not a structured-mode CloudEvent/,
    );
  });
  it('says what is expected of a plain request', () => {
    assert.match(
      notAnEventMessage({ 'content-type': 'application/json' }),
      /expected a CloudEvent of type "io.podgateway.client.pending"/,
    );
  });
});
